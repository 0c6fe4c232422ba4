"""All of the registry's SQL. Functions take a connection first and return dataclasses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from codesvc.storage import Connection
from registry_api.accounts import Level, Role, Unit
from registry_api.audit import GENESIS, AuditEntry, entry_hash


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    id: str
    name: str
    level: Level
    parent_id: str | None
    path: str

    @property
    def unit(self) -> Unit:
        return Unit(self.id, self.level, self.parent_id, self.path)


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


_JURISDICTION = "id, name, level, parent_id, path"
_ACCOUNT = (
    "id, kind, mobile, name, password_hash, must_change_password, failed_logins, "
    "locked_until, disabled_at, role, level, jurisdiction_id, work_unit, position, "
    "office_phone, resident_id_masked, remark, enterprise_id, created_at, version"
)


# The same columns of `accounts a` in a join.
_ACCOUNT_OF_A = ", ".join("a." + column.strip() for column in _ACCOUNT.split(","))


def _jurisdiction(row: Any) -> Jurisdiction:
    return Jurisdiction(row["id"], row["name"], Level(row["level"]), row["parent_id"], row["path"])


def _account(row: Any) -> Account:
    values = dict(row)
    values["role"] = None if values["role"] is None else Role(values["role"])
    values["level"] = None if values["level"] is None else Level(values["level"])
    return Account(**values)


async def fetch_jurisdiction(conn: Connection, jurisdiction_id: str) -> Jurisdiction | None:
    row = await conn.fetchrow(
        f"SELECT {_JURISDICTION} FROM jurisdictions WHERE id = $1", jurisdiction_id
    )
    return None if row is None else _jurisdiction(row)


async def fetch_children(conn: Connection, parent_id: str) -> list[Jurisdiction]:
    rows = await conn.fetch(
        f"SELECT {_JURISDICTION} FROM jurisdictions WHERE parent_id = $1 ORDER BY id", parent_id
    )
    return [_jurisdiction(row) for row in rows]


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
            RETURNING {_JURISDICTION}
            """,
            f"{parent.id}P{count + 1:02d}",
            name,
            parent.id,
        )
    return _jurisdiction(row)


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


# --- the audit log --------------------------------------------------------------------

_AUDIT = "id, at, actor_id, action, subject_type, subject_id, changes, prev_hash, hash"
# Appends take turns: each entry's hash covers the one before it.
_AUDIT_LOCK = 0x5AFE_A0D1


async def append_audit(
    conn: Connection,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
    changes: dict[str, Any],
) -> None:
    """Add an entry in the caller's transaction (it is kept only if the write is)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _AUDIT_LOCK)
    last = await conn.fetchrow("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    entry_id = 1 if last is None else last["id"] + 1
    prev_hash = GENESIS if last is None else bytes(last["hash"])
    at = datetime.now(UTC)
    digest = entry_hash(
        prev_hash,
        entry_id=entry_id,
        at=at,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        changes=changes,
    )
    await conn.execute(
        """
        INSERT INTO audit_log (id, at, actor_id, action, subject_type, subject_id, changes,
            prev_hash, hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
        """,
        entry_id,
        at,
        actor_id,
        action,
        subject_type,
        subject_id,
        json.dumps(changes, ensure_ascii=False, default=str),
        prev_hash,
        digest,
    )


async def iter_audit_entries(conn: Connection, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    """Every entry in order, read a batch at a time."""
    after = 0
    while True:
        rows = await conn.fetch(
            f"""
            SELECT {_AUDIT} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2
            """,
            after,
            batch,
        )
        for row in rows:
            yield _audit_entry(row)
        if len(rows) < batch:
            return
        after = rows[-1]["id"]


def _audit_entry(row: Any) -> AuditEntry:
    values = dict(row)
    values["changes"] = json.loads(values["changes"])
    values["prev_hash"] = bytes(values["prev_hash"])
    values["hash"] = bytes(values["hash"])
    return AuditEntry(**values)


# --- enterprises ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    uscc: str
    name: str
    county_id: str
    address: str
    kinds: list[str]
    industry_code: str
    contact_name: str
    contact_mobile: str
    status: str
    reason: str | None
    decided_by: int | None
    decided_at: datetime | None
    enterprise_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: int
    uscc: str
    name: str
    county_id: str
    park_id: str | None
    address: str
    kinds: list[str]
    industry_code: str
    responsible_person: str | None
    safety_head: str | None
    safety_head_phone: str | None
    emergency_phone: str | None
    aging_installations: list[dict[str, Any]]
    status: str
    version: int
    created_at: datetime
    updated_at: datetime


_APPLICATION = (
    "id, uscc, name, county_id, address, kinds, industry_code, contact_name, contact_mobile, "
    "status, reason, decided_by, decided_at, enterprise_id, created_at"
)
_ENTERPRISE = (
    "id, uscc, name, county_id, park_id, address, kinds, industry_code, responsible_person, "
    "safety_head, safety_head_phone, emergency_phone, aging_installations, status, version, "
    "created_at, updated_at"
)
# The fields an enterprise update may set.
ENTERPRISE_UPDATABLE = (
    "name", "address", "industry_code", "park_id", "responsible_person", "safety_head",
    "safety_head_phone", "emergency_phone", "aging_installations",
)  # fmt: skip


def _enterprise(row: Any) -> Enterprise:
    values = dict(row)
    values["aging_installations"] = json.loads(values["aging_installations"])
    return Enterprise(**values)


async def industry_class_exists(conn: Connection, code: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM industry_classes WHERE code = $1)", code
    )
    return found


async def uscc_registered(conn: Connection, uscc: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM enterprises WHERE uscc = $1)", uscc
    )
    return found


async def mobile_taken(conn: Connection, mobile: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE mobile = $1)", mobile
    )
    return found


async def insert_application(conn: Connection, values: dict[str, Any]) -> Application | None:
    """The new application; None when one for this credit code is pending already."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO enterprise_applications (uscc, name, county_id, address, kinds,
            industry_code, contact_name, contact_mobile)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (uscc) WHERE status = 'pending' DO NOTHING
        RETURNING {_APPLICATION}
        """,
        values["uscc"],
        values["name"],
        values["county_id"],
        values["address"],
        values["kinds"],
        values["industry_code"],
        values["contact_name"],
        values["contact_mobile"],
    )
    return None if row is None else Application(**dict(row))


async def fetch_application(conn: Connection, application_id: int) -> Application | None:
    row = await conn.fetchrow(
        f"SELECT {_APPLICATION} FROM enterprise_applications WHERE id = $1", application_id
    )
    return None if row is None else Application(**dict(row))


async def fetch_applications_below(
    conn: Connection, path: str, status: str | None
) -> list[Application]:
    rows = await conn.fetch(
        f"""
        SELECT {", ".join("a." + c.strip() for c in _APPLICATION.split(","))}
        FROM enterprise_applications a JOIN jurisdictions j ON j.id = a.county_id
        WHERE (j.path = $1 OR j.path LIKE $1 || '/%') AND ($2::text IS NULL OR a.status = $2)
        ORDER BY a.id
        """,
        path,
        status,
    )
    return [Application(**dict(row)) for row in rows]


async def decide_application(
    conn: Connection,
    application_id: int,
    *,
    status: str,
    reason: str | None,
    decided_by: int,
    enterprise_id: int | None,
) -> Application | None:
    """Record the decision; None when the application was decided meanwhile."""
    row = await conn.fetchrow(
        f"""
        UPDATE enterprise_applications
        SET status = $2, reason = $3, decided_by = $4, decided_at = now(), enterprise_id = $5
        WHERE id = $1 AND status = 'pending'
        RETURNING {_APPLICATION}
        """,
        application_id,
        status,
        reason,
        decided_by,
        enterprise_id,
    )
    return None if row is None else Application(**dict(row))


async def insert_enterprise(conn: Connection, application: Application) -> Enterprise | None:
    """The enterprise of an approved application; None if its credit code is registered."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO enterprises (uscc, name, county_id, address, kinds, industry_code)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (uscc) DO NOTHING
        RETURNING {_ENTERPRISE}
        """,
        application.uscc,
        application.name,
        application.county_id,
        application.address,
        application.kinds,
        application.industry_code,
    )
    return None if row is None else _enterprise(row)


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


async def fetch_enterprise(conn: Connection, enterprise_id: int) -> Enterprise | None:
    row = await conn.fetchrow(f"SELECT {_ENTERPRISE} FROM enterprises WHERE id = $1", enterprise_id)
    return None if row is None else _enterprise(row)


async def update_enterprise(
    conn: Connection, enterprise_id: int, expected_version: int, changes: dict[str, Any]
) -> Enterprise | None:
    """Apply `changes` if the record is still at `expected_version`; None if it moved on."""
    assignments = []
    values: list[Any] = [enterprise_id, expected_version]
    for name, value in changes.items():
        if name not in ENTERPRISE_UPDATABLE:
            raise ValueError(f"{name} is not an updatable field")
        values.append(
            json.dumps(value, ensure_ascii=False) if name == "aging_installations" else value
        )
        cast = "::jsonb" if name == "aging_installations" else ""
        assignments.append(f"{name} = ${len(values)}{cast}")
    row = await conn.fetchrow(
        f"""
        UPDATE enterprises SET {", ".join(assignments)}, version = version + 1, updated_at = now()
        WHERE id = $1 AND version = $2
        RETURNING {_ENTERPRISE}
        """,
        *values,
    )
    return None if row is None else _enterprise(row)


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
