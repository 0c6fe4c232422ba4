"""SQL of accounts: regulator and enterprise accounts, sessions, the annex 2 roster, and the
rows of the division tree an account answers for (every domain's scope starts here).

Functions take a connection first and return dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from codesvc.storage import Connection
from registry_api.accounts.rules import Jurisdiction, Level, Role


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    kind: str
    mobile: str
    name: str
    password_hash: str
    must_change_password: bool
    failed_logins: int
    locked_until: datetime | None
    disabled_at: datetime | None
    role: Role | None
    level: Level | None
    jurisdiction_id: str | None
    work_unit: str | None
    position: str | None
    office_phone: str | None
    resident_id_masked: str | None
    remark: str | None
    enterprise_id: int | None
    created_at: datetime
    version: int


JURISDICTION_COLUMNS = "id, name, level, parent_id, path"
_ACCOUNT = (
    "id, kind, mobile, name, password_hash, must_change_password, failed_logins, "
    "locked_until, disabled_at, role, level, jurisdiction_id, work_unit, position, "
    "office_phone, resident_id_masked, remark, enterprise_id, created_at, version"
)


# The same columns of `accounts a` in a join.
_ACCOUNT_OF_A = ", ".join("a." + column.strip() for column in _ACCOUNT.split(","))


def jurisdiction_from_row(row: Any) -> Jurisdiction:
    return Jurisdiction(row["id"], row["name"], Level(row["level"]), row["parent_id"], row["path"])


def _account(row: Any) -> Account:
    values = dict(row)
    values["role"] = None if values["role"] is None else Role(values["role"])
    values["level"] = None if values["level"] is None else Level(values["level"])
    return Account(**values)


async def fetch_jurisdiction(conn: Connection, jurisdiction_id: str) -> Jurisdiction | None:
    row = await conn.fetchrow(
        f"SELECT {JURISDICTION_COLUMNS} FROM jurisdictions WHERE id = $1", jurisdiction_id
    )
    return None if row is None else jurisdiction_from_row(row)


async def fetch_account(conn: Connection, account_id: int) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_ACCOUNT} FROM accounts WHERE id = $1", account_id)
    return None if row is None else _account(row)


async def fetch_account_by_mobile(conn: Connection, mobile: str) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_ACCOUNT} FROM accounts WHERE mobile = $1", mobile)
    return None if row is None else _account(row)


async def fetch_accounts_below(conn: Connection, path: str) -> list[Account]:
    """Regulator accounts bound to the unit at `path` or below it."""
    rows = await conn.fetch(
        f"""
        SELECT {_ACCOUNT_OF_A}
        FROM accounts a JOIN jurisdictions j ON j.id = a.jurisdiction_id
        WHERE j.path = $1 OR j.path LIKE $1 || '/%'
        ORDER BY a.id
        """,
        path,
    )
    return [_account(row) for row in rows]


async def count_admins(conn: Connection, jurisdiction_id: str) -> int:
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM accounts
        WHERE jurisdiction_id = $1 AND role = 'admin' AND disabled_at IS NULL
        """,
        jurisdiction_id,
    )
    return count


async def insert_regulator(
    conn: Connection,
    *,
    mobile: str,
    name: str,
    password_hash: str,
    role: Role,
    level: Level,
    jurisdiction_id: str,
    work_unit: str,
    position: str | None,
    office_phone: str | None,
    resident_id_sealed: bytes | None,
    resident_id_masked: str | None,
    remark: str | None,
    created_by: int | None,
) -> Account | None:
    """The new account; None when the mobile number is taken already."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO accounts (kind, mobile, name, password_hash, role, level, jurisdiction_id,
            work_unit, position, office_phone, resident_id_sealed, resident_id_masked, remark,
            created_by)
        VALUES ('regulator', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (mobile) DO NOTHING
        RETURNING {_ACCOUNT}
        """,
        mobile,
        name,
        password_hash,
        role.value,
        level.value,
        jurisdiction_id,
        work_unit,
        position,
        office_phone,
        resident_id_sealed,
        resident_id_masked,
        remark,
        created_by,
    )
    return None if row is None else _account(row)


async def record_failed_login(
    conn: Connection, account_id: int, locked_until: datetime | None
) -> None:
    await conn.execute(
        """
        UPDATE accounts SET failed_logins = failed_logins + 1,
            locked_until = coalesce($2, locked_until)
        WHERE id = $1
        """,
        account_id,
        locked_until,
    )


async def clear_failed_logins(conn: Connection, account_id: int) -> None:
    await conn.execute(
        "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1", account_id
    )


async def set_password(
    conn: Connection, account_id: int, password_hash: str, *, must_change: bool
) -> None:
    await conn.execute(
        """
        UPDATE accounts SET password_hash = $2, must_change_password = $3,
            failed_logins = 0, locked_until = NULL, version = version + 1
        WHERE id = $1
        """,
        account_id,
        password_hash,
        must_change,
    )


async def disable_account(conn: Connection, account_id: int) -> None:
    await conn.execute(
        "UPDATE accounts SET disabled_at = now(), version = version + 1 WHERE id = $1",
        account_id,
    )


async def insert_session(
    conn: Connection, token_hash: bytes, account_id: int, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_hash, account_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        account_id,
        expires_at,
    )


async def fetch_session_account(conn: Connection, token_hash: bytes) -> Account | None:
    """The account of a live session: not ended, not expired, account not disabled."""
    row = await conn.fetchrow(
        f"""
        SELECT {_ACCOUNT_OF_A}
        FROM sessions s JOIN accounts a ON a.id = s.account_id
        WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now()
          AND a.disabled_at IS NULL
        """,
        token_hash,
    )
    return None if row is None else _account(row)


async def touch_session(
    conn: Connection, token_hash: bytes, idle_timeout: timedelta
) -> Account | None:
    """The account of a live session used within `idle_timeout`, the session marked as used
    now; a session idle for longer is ended."""
    row = await conn.fetchrow(
        f"""
        WITH touched AS (
            UPDATE sessions SET
                last_seen_at = now(),
                ended_at = CASE WHEN last_seen_at > now() - $2::interval THEN NULL ELSE now() END
            WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > now()
            RETURNING account_id, ended_at
        )
        SELECT {_ACCOUNT_OF_A}
        FROM touched s JOIN accounts a ON a.id = s.account_id
        WHERE s.ended_at IS NULL AND a.disabled_at IS NULL
        """,
        token_hash,
        idle_timeout,
    )
    return None if row is None else _account(row)


async def end_session(conn: Connection, token_hash: bytes) -> None:
    await conn.execute(
        "UPDATE sessions SET ended_at = now() WHERE token_hash = $1 AND ended_at IS NULL",
        token_hash,
    )


async def end_sessions_of(conn: Connection, account_id: int) -> None:
    await conn.execute(
        "UPDATE sessions SET ended_at = now() WHERE account_id = $1 AND ended_at IS NULL",
        account_id,
    )


async def mobile_taken(conn: Connection, mobile: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE mobile = $1)", mobile
    )
    return found


async def insert_enterprise_owner(
    conn: Connection, *, mobile: str, name: str, password_hash: str, enterprise_id: int
) -> Account | None:
    row = await conn.fetchrow(
        f"""
        INSERT INTO accounts (kind, mobile, name, password_hash, enterprise_id)
        VALUES ('enterprise', $1, $2, $3, $4)
        ON CONFLICT (mobile) DO NOTHING
        RETURNING {_ACCOUNT}
        """,
        mobile,
        name,
        password_hash,
        enterprise_id,
    )
    return None if row is None else _account(row)


async def fetch_roster(conn: Connection, path: str) -> list[tuple[Account, bytes | None, Level]]:
    """Regulator accounts at the unit at `path` and below, each with its sealed resident
    ID and the level of its unit, in unit order (for the annex 2 roster)."""
    rows = await conn.fetch(
        f"""
        SELECT {_ACCOUNT_OF_A},
               a.resident_id_sealed, j.level AS unit_level
        FROM accounts a JOIN jurisdictions j ON j.id = a.jurisdiction_id
        WHERE (j.path = $1 OR j.path LIKE $1 || '/%') AND a.disabled_at IS NULL
        ORDER BY j.path, a.role, a.id
        """,
        path,
    )
    roster = []
    for row in rows:
        values = dict(row)
        sealed = values.pop("resident_id_sealed")
        level = Level(values.pop("unit_level"))
        roster.append((_account(values), None if sealed is None else bytes(sealed), level))
    return roster
