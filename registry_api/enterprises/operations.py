"""Operations of enterprises: applying for an account, approving or rejecting, reading and
updating the record.

Anyone may apply (the public form); an admin of the enterprise's county or city decides.
Approval creates the enterprise and its owner account in one transaction. Updates carry
the version they were read at (If-Match): a stale one changes nothing (412).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from codesvc.limits import Limit
from codesvc.storage import Connection
from registry_api.accounts import storage as accounts_db
from registry_api.accounts.operations import Actor, audit, regulator_unit
from registry_api.accounts.rules import Level, Role, hash_password, temporary_password
from registry_api.audit import append_audit, changed_fields
from registry_api.enterprises import storage as db
from registry_api.enterprises.forms import (
    EnterpriseApplicationForm,
    EnterpriseKind,
    EnterpriseUpdateForm,
)
from registry_api.enterprises.permits import PermitView, duplicate_kinds, permit_view
from registry_api.enterprises.reference import CHEMICAL_AND_PHARMA_CLASSES
from registry_api.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from registry_api.limits import APPLICATIONS_PER_ADDRESS, Limiter

_DECIDING_LEVELS = (Level.COUNTY, Level.CITY)
INFO_UPDATES_PATH = "/api/v1/enterprises/{enterprise_id}/info-updates"
# Look-ups of an application's status from one address: enough for an applicant checking
# now and then, too few to try numbers against a mobile (or mobiles against a number).
STATUS_LOOKUPS_PER_ADDRESS = Limit(
    "application-status:address", 30, 15 * 60, "application look-ups from this address"
)
# Fields of the record an update may change but never empty.
_REQUIRED_FIELDS = ("name", "address", "industry_code", "aging_installations", "permits")
_LISTS = ("aging_installations", "permits")


@dataclass(frozen=True, slots=True)
class Approved:
    enterprise: db.Enterprise
    owner: accounts_db.Account
    temporary_password: str


async def _check_industry(
    conn: Connection, code: str, kinds: list[str], field: str = "industry_code"
) -> dict[str, str]:
    if not await db.industry_class_exists(conn, code):
        return {field: f"{code} is not a GB/T 4754-2017 industry class"}
    if {"chemical", "pharmaceutical"} & set(kinds) and code not in CHEMICAL_AND_PHARMA_CLASSES:
        return {field: f"{code} is outside the chemical and pharmaceutical scope of annex 1"}
    return {}


async def apply(
    conn: Connection, form: EnterpriseApplicationForm, limiter: Limiter | None
) -> db.Application:
    """A public application; `limiter` (None: the server's own console) counts those from
    one address (`TooManyRequests`)."""
    if limiter is not None:
        await limiter.spend(APPLICATIONS_PER_ADDRESS, limiter.address)
    kinds = sorted({kind.value for kind in form.kinds})
    problems = await _check_industry(conn, form.industry_code, kinds)
    county = await accounts_db.fetch_jurisdiction(conn, form.county_id)
    if county is None or county.level is not Level.COUNTY:
        problems["county_id"] = "must be the GB/T 2260 code of a county"
    if problems:
        raise ValidationFailed(f"{len(problems)} field(s) are not valid", problems)
    async with conn.transaction():
        if await db.uscc_registered(conn, form.uscc):
            raise Conflict(
                "an enterprise with this unified social credit code is registered already",
                {"uscc": "is registered already; its account holder can sign in"},
            )
        if await accounts_db.mobile_taken(conn, form.contact_mobile):
            raise Conflict(
                "the contact mobile is the login of another account",
                {"contact_mobile": "is the login of another account"},
            )
        values = {**form.model_dump(), "kinds": kinds}
        application = await db.insert_application(conn, values)
        if application is None:
            raise Conflict(
                "an application for this credit code is waiting for review",
                {"uscc": "has an application waiting for review"},
            )
        await append_audit(
            conn,
            actor_id=None,  # the public form
            action="enterprise_application.create",
            subject_type="enterprise_application",
            subject_id=str(application.id),
            changes=changed_fields(None, values),
        )
    return application


async def application_status(
    conn: Connection, application_id: int, mobile: str, limiter: Limiter | None
) -> db.Application:
    """The applicant's own application, by its number and the contact mobile it gave
    (`mobile` normalised as the form stores it). A number that does not exist and a mobile
    that does not match get the same NotFound, so neither can be probed; `limiter` (None:
    the server's own console) counts look-ups from one address (`TooManyRequests`)."""
    if limiter is not None:
        await limiter.spend(STATUS_LOOKUPS_PER_ADDRESS, limiter.address)
    found = await db.fetch_application(conn, application_id)
    given = mobile.encode()
    if found is None or not hmac.compare_digest(found.contact_mobile.encode(), given):
        raise NotFound("no application with this number and contact mobile")
    return found


async def applications(conn: Connection, actor: Actor, status: str | None) -> list[db.Application]:
    return await db.fetch_applications_below(conn, regulator_unit(actor).path, status)


async def application(conn: Connection, actor: Actor, application_id: int) -> db.Application:
    unit = regulator_unit(actor)
    found = await db.fetch_application(conn, application_id)
    county = None if found is None else await accounts_db.fetch_jurisdiction(conn, found.county_id)
    if found is None or county is None or not unit.contains(county):
        raise NotFound(f"no application {application_id}")
    return found


def _may_decide(actor: Actor) -> None:
    if actor.account.role is not Role.ADMIN or actor.account.level not in _DECIDING_LEVELS:
        raise Forbidden("an admin of the enterprise's county or city decides applications")


async def approve(conn: Connection, actor: Actor, application_id: int) -> Approved:
    async with conn.transaction():
        found = await application(conn, actor, application_id)
        _may_decide(actor)
        if found.status != "pending":
            raise Conflict(f"the application was {found.status} already")
        enterprise = await db.insert_enterprise(conn, found)
        if enterprise is None:
            raise Conflict("an enterprise with this credit code was registered meanwhile")
        decided = await db.decide_application(
            conn,
            application_id,
            status="approved",
            reason=None,
            decided_by=actor.account.id,
            enterprise_id=enterprise.id,
        )
        if decided is None:
            raise Conflict("the application was decided meanwhile")
        password = temporary_password()
        owner = await accounts_db.insert_enterprise_owner(
            conn,
            mobile=found.contact_mobile,
            name=found.contact_name,
            password_hash=hash_password(password),
            enterprise_id=enterprise.id,
        )
        if owner is None:
            raise Conflict(
                "the contact mobile became the login of another account; reject and re-apply"
            )
        await audit(
            conn, actor, "enterprise_application.approve", "enterprise_application",
            str(application_id), changed_fields({"status": "pending"}, {"status": "approved"}),
        )  # fmt: skip
        await audit(
            conn, actor, "enterprise.create", "enterprise", str(enterprise.id),
            changed_fields(None, enterprise_fields(enterprise)),
        )  # fmt: skip
    return Approved(enterprise, owner, password)


async def reject(
    conn: Connection, actor: Actor, application_id: int, reason: str
) -> db.Application:
    async with conn.transaction():
        found = await application(conn, actor, application_id)
        _may_decide(actor)
        decided = await db.decide_application(
            conn,
            application_id,
            status="rejected",
            reason=reason,
            decided_by=actor.account.id,
            enterprise_id=None,
        )
        if decided is None:
            raise Conflict(f"the application was {found.status} already")
        await audit(
            conn, actor, "enterprise_application.reject", "enterprise_application",
            str(application_id),
            changed_fields({"status": "pending"}, {"status": "rejected", "reason": reason}),
        )  # fmt: skip
    return decided


async def enterprise(conn: Connection, actor: Actor, enterprise_id: int) -> db.Enterprise:
    """A regulator sees the enterprises of its unit and below; an enterprise sees itself."""
    found = await db.fetch_enterprise(conn, enterprise_id)
    if found is None:
        raise NotFound(f"no enterprise {enterprise_id}")
    if actor.account.kind == "enterprise":
        if actor.account.enterprise_id != enterprise_id:
            raise NotFound(f"no enterprise {enterprise_id}")
        return found
    county = await accounts_db.fetch_jurisdiction(conn, found.county_id)
    if county is None or not regulator_unit(actor).contains(county):
        raise NotFound(f"no enterprise {enterprise_id}")
    return found


async def certificates(
    conn: Connection, actor: Actor, enterprise_id: int
) -> list[db.HeldCertificate]:
    """The registration certificates of an enterprise the actor may see, the newest first
    (the one in force has status `valid`)."""
    await enterprise(conn, actor, enterprise_id)
    return await db.fetch_certificates(conn, enterprise_id)


async def update(
    conn: Connection, actor: Actor, enterprise_id: int, version: int, form: EnterpriseUpdateForm
) -> db.Enterprise:
    """The enterprise changes its own record; a stale `version` changes nothing (412)."""
    async with conn.transaction():
        current = await enterprise(conn, actor, enterprise_id)
        if actor.account.kind != "enterprise":
            raise Forbidden("an enterprise keeps its own record; regulators review changes")
        if await db.holds_valid_certificate(conn, enterprise_id):
            raise Conflict(
                "a registered enterprise changes its record through review: "
                f"POST {INFO_UPDATES_PATH.format(enterprise_id=enterprise_id)}"
            )
        changes = form.model_dump(exclude_unset=True, mode="json")
        await check_changes(conn, current, changes)
        updated = await db.update_enterprise(conn, enterprise_id, version, changes)
        if updated is None:
            raise PreconditionFailed(
                f"the record changed since version {version}; read it again and redo the change"
            )
        await audit(
            conn, actor, "enterprise.update", "enterprise", str(enterprise_id),
            changed_fields(enterprise_fields(current), enterprise_fields(updated)),
        )  # fmt: skip
    return updated


async def check_changes(conn: Connection, current: db.Enterprise, changes: dict[str, Any]) -> None:
    """Raise `ValidationFailed` naming every change the record cannot take."""
    problems: dict[str, str] = {
        name: "cannot be emptied" + (" (send [] for none)" if name in _LISTS else "")
        for name in _REQUIRED_FIELDS
        if name in changes and changes[name] is None
    }
    if changes.get("industry_code") is not None:
        problems |= await _check_industry(conn, changes["industry_code"], current.kinds)
    if changes.get("park_id") is not None:
        park = await accounts_db.fetch_jurisdiction(conn, changes["park_id"])
        county = await accounts_db.fetch_jurisdiction(conn, current.county_id)
        if park is None or county is None or park.parent_id not in (county.id, county.parent_id):
            problems["park_id"] = "must be a chemical park of the enterprise's county or city"
    if changes.get("permits") is not None:
        problems |= duplicate_kinds(changes["permits"])
    if not changes:
        problems["body"] = "names no field to change"
    if problems:
        raise ValidationFailed(f"{len(problems)} field(s) are not valid", problems)


class AgingInstallationView(TypedDict):
    name: str
    year_commissioned: int
    status: str


class EnterpriseFields(TypedDict):
    """An enterprise record's fields, as responses and the audit log show them."""

    uscc: str
    name: str
    county_id: str
    park_id: str | None
    address: str
    kinds: list[EnterpriseKind]
    industry_code: str
    responsible_person: str | None
    safety_head: str | None
    safety_head_phone: str | None
    emergency_phone: str | None
    aging_installations: list[AgingInstallationView]
    permits: list[PermitView]
    status: db.EnterpriseStatus


def enterprise_fields(record: db.Enterprise) -> EnterpriseFields:
    installations: list[AgingInstallationView] = [
        {"name": a["name"], "year_commissioned": a["year_commissioned"], "status": a["status"]}
        for a in record.aging_installations
    ]
    return {
        "uscc": record.uscc,
        "name": record.name,
        "county_id": record.county_id,
        "park_id": record.park_id,
        "address": record.address,
        "kinds": [EnterpriseKind(kind) for kind in record.kinds],
        "industry_code": record.industry_code,
        "responsible_person": record.responsible_person,
        "safety_head": record.safety_head,
        "safety_head_phone": record.safety_head_phone,
        "emergency_phone": record.emergency_phone,
        "aging_installations": installations,
        "permits": [permit_view(permit) for permit in record.permits],
        "status": record.status,
    }
