"""SQL of the division tree's own operations: the units below one, and new chemical parks.

Reading one unit is the accounts domain's (`accounts.storage.fetch_jurisdiction`): every
scope check starts from it."""

from __future__ import annotations

from codesvc.storage import Connection
from registry_api.accounts.rules import Jurisdiction
from registry_api.accounts.storage import JURISDICTION_COLUMNS, jurisdiction_from_row


async def fetch_children(conn: Connection, parent_id: str) -> list[Jurisdiction]:
    rows = await conn.fetch(
        f"SELECT {JURISDICTION_COLUMNS} FROM jurisdictions WHERE parent_id = $1 ORDER BY id",
        parent_id,
    )
    return [jurisdiction_from_row(row) for row in rows]


async def insert_park(conn: Connection, parent: Jurisdiction, name: str) -> Jurisdiction:
    """A chemical park under a county or city; its id is the parent's code, P and a number."""
    async with conn.transaction():
        # Serialises numbering within the parent.
        await conn.execute("SELECT 1 FROM jurisdictions WHERE id = $1 FOR UPDATE", parent.id)
        count: int = await conn.fetchval(
            "SELECT count(*) FROM jurisdictions WHERE parent_id = $1 AND level = 'park'",
            parent.id,
        )
        row = await conn.fetchrow(
            f"""
            INSERT INTO jurisdictions (id, name, level, parent_id) VALUES ($1, $2, 'park', $3)
            RETURNING {JURISDICTION_COLUMNS}
            """,
            f"{parent.id}P{count + 1:02d}",
            name,
            parent.id,
        )
    return jurisdiction_from_row(row)
