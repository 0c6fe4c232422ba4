"""SQL of enterprises: applications for an account, and the enterprise records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from codesvc.storage import Connection
from registry_api.enterprises.permits import HeldPermit, held_permits

ApplicationStatus = Literal["pending", "approved", "rejected"]
EnterpriseStatus = Literal["active", "deregistered"]
HeldCertificateStatus = Literal["valid", "renewed", "revoked"]


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
    status: ApplicationStatus
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
    permits: list[HeldPermit]
    status: EnterpriseStatus
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class HeldCertificate:
    """A registration certificate (危险化学品登记证) as its holder reads it."""

    number: str
    issued_on: date
    expires_on: date
    status: HeldCertificateStatus


_APPLICATION = (
    "id, uscc, name, county_id, address, kinds, industry_code, contact_name, contact_mobile, "
    "status, reason, decided_by, decided_at, enterprise_id, created_at"
)
_ENTERPRISE = (
    "id, uscc, name, county_id, park_id, address, kinds, industry_code, responsible_person, "
    "safety_head, safety_head_phone, emergency_phone, aging_installations, permits, status, "
    "version, created_at, updated_at"
)
# The fields an enterprise update may set.
ENTERPRISE_UPDATABLE = (
    "name", "address", "industry_code", "park_id", "responsible_person", "safety_head",
    "safety_head_phone", "emergency_phone", "aging_installations", "permits",
)  # fmt: skip
# The fields held as JSON: lists of items.
_JSON_FIELDS = ("aging_installations", "permits")


def _enterprise(row: Any) -> Enterprise:
    values = dict(row)
    values["aging_installations"] = json.loads(values["aging_installations"])
    values["permits"] = held_permits(json.loads(values["permits"]))
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
        values.append(json.dumps(value, ensure_ascii=False) if name in _JSON_FIELDS else value)
        cast = "::jsonb" if name in _JSON_FIELDS else ""
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


async def holds_valid_certificate(conn: Connection, enterprise_id: int) -> bool:
    """Whether the enterprise is registered: it holds a registration certificate in force."""
    found: bool = await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM certificates WHERE enterprise_id = $1 AND status = 'valid')
        """,
        enterprise_id,
    )
    return found


async def set_deregistered(conn: Connection, enterprise_id: int) -> None:
    await conn.execute(
        """
        UPDATE enterprises SET status = 'deregistered', version = version + 1, updated_at = now()
        WHERE id = $1
        """,
        enterprise_id,
    )


async def fetch_certificates(conn: Connection, enterprise_id: int) -> list[HeldCertificate]:
    """Every certificate the enterprise was issued, the newest first."""
    rows = await conn.fetch(
        """
        SELECT number, issued_on, expires_on, status FROM certificates
        WHERE enterprise_id = $1 ORDER BY issued_on DESC, id DESC
        """,
        enterprise_id,
    )
    return [HeldCertificate(**dict(row)) for row in rows]
