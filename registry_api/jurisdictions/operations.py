"""Operations of the division tree: a unit in scope with the units below it, and new
chemical parks (by admins, under a county or a city)."""

from __future__ import annotations

from dataclasses import dataclass

from codesvc.storage import Connection
from registry_api.accounts.operations import Actor, audit, jurisdiction_in_scope
from registry_api.accounts.rules import Jurisdiction, Role
from registry_api.audit import changed_fields
from registry_api.errors import Forbidden, ValidationFailed
from registry_api.jurisdictions import storage as db


@dataclass(frozen=True, slots=True)
class UnitWithChildren:
    unit: Jurisdiction
    children: list[Jurisdiction]


async def unit_with_children(
    conn: Connection, actor: Actor, jurisdiction_id: str
) -> UnitWithChildren:
    found = await jurisdiction_in_scope(conn, actor, jurisdiction_id)
    return UnitWithChildren(found, await db.fetch_children(conn, found.id))


async def create_park(conn: Connection, actor: Actor, parent_id: str, name: str) -> Jurisdiction:
    parent = await jurisdiction_in_scope(conn, actor, parent_id)
    if actor.account.role is not Role.ADMIN:
        raise Forbidden("only an admin adds chemical parks")
    if parent.level.value not in ("county", "city"):
        raise ValidationFailed(
            "a chemical park belongs to a county or a city",
            {"jurisdiction_id": f"{parent.id} is at {parent.level.value} level"},
        )
    async with conn.transaction():
        park = await db.insert_park(conn, parent, name)
        await audit(
            conn,
            actor,
            "jurisdiction.create",
            "jurisdiction",
            park.id,
            changed_fields(None, {"name": park.name, "level": "park", "parent_id": parent.id}),
        )
    return park
