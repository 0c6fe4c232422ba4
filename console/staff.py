"""Pages of regulator accounts, for admins: the accounts of the own unit and below, a new
account (its one-time password shown once), one account with its password reset and its
disabling.

Every page calls the accounts domain's operations, as `GET/POST /api/v1/accounts` do: a
reviewer or viewer reads the same list the API gives it and is refused (403) what only
admins may do; an account outside the reader's unit is a 404 page.

A one-time password never travels in a URL and is never rendered twice, as after approving
an application: `console.one_time` keeps it for the admin who made it and the account it
opens, and the page after the redirect reads it once.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.storage import Connection
from console.forms import Posted, checked, field_errors, posted
from console.navigation import connection
from console.one_time import keep_once, read_once
from console.rendering import PREFIX, page, see_other
from console.sessions import signed_in
from registry_api.accounts import operations as accounts
from registry_api.accounts.forms import RegulatorForm
from registry_api.accounts.operations import Actor
from registry_api.accounts.rules import Jurisdiction, Level, PersonalDataCipher, Role
from registry_api.enterprises.reference import division_names
from registry_api.errors import Conflict, Forbidden, ValidationFailed
from registry_api.jurisdictions import operations as jurisdictions
from registry_api.requests import path_id
from registry_api.validators import mask_mobile

_ONCE_KIND = "account"
ROLE_NAMES: dict[str, tuple[str, str]] = {
    Role.ADMIN: ("系统管理员", "Admin"),
    Role.REVIEWER: ("信息审核员", "Reviewer"),
    Role.VIEWER: ("一般用户", "Viewer"),
}
LEVEL_NAMES: dict[str, tuple[str, str]] = {
    Level.NATIONAL: ("国家级", "National"),
    Level.PROVINCE: ("省级", "Province"),
    Level.CITY: ("市级", "City"),
    Level.COUNTY: ("县级", "County"),
    Level.PARK: ("化工园区", "Chemical park"),
}
# The new-account form's fields, named as `RegulatorForm`'s (its errors land beside them);
# the level is the chosen unit's, not asked.
REQUIRED_FIELDS = ("mobile", "name", "role", "jurisdiction_id", "work_unit")
OPTIONAL_FIELDS = ("position", "office_phone", "resident_id", "remark")


def unit_name(unit_id: str | None, known: dict[str, str] | None = None) -> str:
    """A unit as people know it: its name (a park's only when `known` has it), else its code."""
    if unit_id is None:
        return ""
    return (known or {}).get(unit_id) or division_names().get(unit_id) or unit_id


def _account_page(request: Request, template: str, **context: Any) -> Response:
    """A page of accounts, with the names of roles and levels its templates show."""
    return page(request, template, role_names=ROLE_NAMES, level_names=LEVEL_NAMES, **context)


def _own_unit_name(actor: Actor) -> dict[str, str]:
    return {} if actor.unit is None else {actor.unit.id: actor.unit.name}


def _cipher(request: Request) -> PersonalDataCipher:
    cipher: PersonalDataCipher = request.app.state.cipher
    return cipher


def _is_admin(actor: Actor) -> bool:
    return actor.account.role is Role.ADMIN


async def _units_offered(conn: Connection, actor: Actor) -> list[Jurisdiction]:
    """Where an admin may put a new account: its own unit and the units directly below
    (admins only there; the operation says so if asked otherwise). None for others."""
    if not _is_admin(actor):
        return []
    own = accounts.regulator_unit(actor)
    found = await jurisdictions.unit_with_children(conn, actor, own.id)
    return [found.unit, *found.children]


# --- the list and the new account -------------------------------------------------------


async def _list_page(
    request: Request,
    conn: Connection,
    actor: Actor,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    form: Posted | None = None,
) -> Response:
    listed = await accounts.accounts_in_scope(conn, actor)
    units = await _units_offered(conn, actor)
    known = {unit.id: unit.name for unit in units}
    return _account_page(
        request,
        "accounts.html",
        status=status,
        actor=actor,
        accounts=listed,
        units=units,
        unit_of={a.id: unit_name(a.jurisdiction_id, known) for a in listed},
        masked_mobile={a.id: mask_mobile(a.mobile) for a in listed},
        creating=_is_admin(actor),
        message=message,
        errors=errors or {},
        values={} if form is None else form.values(),
    )


async def account_list(request: Request) -> Response:
    """`/console/accounts`: regulator accounts of the reader's unit and below; for an admin,
    the form that creates one."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        return await _list_page(request, conn, actor)


def _new_account_fields(form: Posted, actor: Actor, units: list[Jurisdiction]) -> dict[str, Any]:
    data: dict[str, Any] = {name: form.get(name).strip() for name in REQUIRED_FIELDS}
    data.update({name: form.text(name) for name in OPTIONAL_FIELDS})
    chosen = next((unit for unit in units if unit.id == data["jurisdiction_id"]), actor.unit)
    # A unit not offered takes the admin's own level: the operation refuses it as out of scope.
    data["level"] = None if chosen is None else chosen.level.value
    return data


async def create_account(request: Request) -> Response:
    form = await posted(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        units = await _units_offered(conn, actor)
        data = _new_account_fields(form, actor, units)
        try:
            created = await accounts.create_regulator(
                conn, actor, checked(RegulatorForm, data), _cipher(request)
            )
        except (ValidationFailed, Conflict, Forbidden) as exc:
            if not _is_admin(actor):
                raise  # not a problem of the form: the account may create none (a page)
            fields = exc.fields
            if not fields and isinstance(exc, Forbidden):
                # A rule of who creates what: one level down, admins only.
                own = actor.unit.id if actor.unit is not None else None
                fields = {
                    "role" if data["jurisdiction_id"] != own else "jurisdiction_id": exc.message
                }
            return await _list_page(
                request, conn, actor, status=exc.status,
                errors=field_errors(request, fields), form=form,
            )  # fmt: skip
    key = await _keep_once(
        request,
        actor,
        created.account.id,
        created.temporary_password,
        "created",
        warnings=created.warnings,
    )
    return see_other(
        request, f"{PREFIX}/accounts/{created.account.id}/password?once={key}", done="created"
    )


# --- the one-time password, once ----------------------------------------------------------


async def _keep_once(
    request: Request,
    actor: Actor,
    account_id: int,
    password: str,
    why: str,
    *,
    warnings: list[str] | None = None,
) -> str:
    shown = {
        "account": account_id,
        "password": password,
        "why": why,
        "warnings": warnings or [],
    }
    return await keep_once(request, actor, _ONCE_KIND, shown)


async def password_page(request: Request) -> Response:
    """`/console/accounts/{id}/password?once=…`: the one-time password of a new or reset
    account, once: the first read deletes it."""
    account_id = path_id(request, "account_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        account = await accounts.account_in_scope(conn, actor, account_id)
    shown = await read_once(request, actor, _ONCE_KIND, account=account.id)
    return _account_page(
        request, "accounts_password.html", actor=actor, account=account, shown=shown
    )


# --- one account ------------------------------------------------------------------------


async def account_page(request: Request) -> Response:
    """`/console/accounts/{id}`: an account in the reader's scope; an admin's actions."""
    account_id = path_id(request, "account_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        account = await accounts.account_in_scope(conn, actor, account_id)
    return _account_page(
        request,
        "accounts_detail.html",
        actor=actor,
        account=account,
        unit=unit_name(account.jurisdiction_id, _own_unit_name(actor)),
        managing=_is_admin(actor)
        and account.id != actor.account.id
        and account.disabled_at is None,
    )


async def reset_password(request: Request) -> Response:
    await posted(request)
    account_id = path_id(request, "account_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        password = await accounts.reset_password(conn, actor, account_id)
    key = await _keep_once(request, actor, account_id, password, "reset")
    return see_other(
        request, f"{PREFIX}/accounts/{account_id}/password?once={key}", done="password_reset"
    )


async def disable_form(request: Request) -> Response:
    """`/console/accounts/{id}/disable`: the confirmation, a plain form."""
    account_id = path_id(request, "account_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        account = await accounts.account_in_scope(conn, actor, account_id)
    return _account_page(
        request,
        "accounts_disable.html",
        actor=actor,
        account=account,
        unit=unit_name(account.jurisdiction_id, _own_unit_name(actor)),
    )


async def disable_account(request: Request) -> Response:
    await posted(request)
    account_id = path_id(request, "account_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        await accounts.disable(conn, actor, account_id)
    return see_other(request, f"{PREFIX}/accounts/{account_id}", done="disabled")


ROUTES = [
    Route(f"{PREFIX}/accounts", account_list, methods=["GET"]),
    Route(f"{PREFIX}/accounts", create_account, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{account_id}}", account_page, methods=["GET"]),
    Route(f"{PREFIX}/accounts/{{account_id}}/password", password_page, methods=["GET"]),
    Route(f"{PREFIX}/accounts/{{account_id}}/password-reset", reset_password, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{account_id}}/disable", disable_form, methods=["GET"]),
    Route(f"{PREFIX}/accounts/{{account_id}}/disable", disable_account, methods=["POST"]),
]
