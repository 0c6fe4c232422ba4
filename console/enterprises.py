"""Pages of enterprises: the public application for an account and the look-up of its
status; an enterprise's home page and its record with the form that changes it. The filings
(registrations, deregistration, the history of decisions) are in `enterprise_filings.py`,
whose routes are served from here.

Every page calls the registry's operations with the signed-in actor; the pages of an
enterprise are its own account's (a regulator, or anyone else, gets 404 as for a missing
page): regulators read an enterprise on its page under search.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console import enterprise_filings, notices
from console.enterprise_filings import (
    Overview,
    overview,
    own_enterprise_id,
    refused_message,
    step_name,
)
from console.errors import BadForm
from console.forms import Posted, checked, field_errors, posted
from console.navigation import connection
from console.rendering import PREFIX, lang_of, page, see_other, tr
from console.sessions import maybe_signed_in, signed_in
from registry_api.accounts.operations import Actor
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises.forms import (
    ApplicationStatusForm,
    EnterpriseApplicationForm,
    EnterpriseUpdateForm,
)
from registry_api.enterprises.permits import PERMIT_NAMES, PermitKind
from registry_api.enterprises.reference import counties_by_city, division_names
from registry_api.enterprises.storage import Enterprise
from registry_api.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    TooManyRequests,
    ValidationFailed,
)
from registry_api.requests import limiter
from registry_api.reviews import operations as reviews
from registry_api.reviews.forms import InfoUpdateForm

APPLICATION_FIELDS = (
    "uscc", "name", "county_id", "address", "industry_code", "contact_name", "contact_mobile",
)  # fmt: skip
ENTERPRISE_KINDS = ("producer", "importer", "chemical", "pharmaceutical", "logistics", "user")
# The record's text fields the update form shows, and those that cannot be emptied.
RECORD_FIELDS = (
    "name", "address", "industry_code", "park_id", "responsible_person", "safety_head",
    "safety_head_phone", "emergency_phone",
)  # fmt: skip
REQUIRED_RECORD_FIELDS = ("name", "address", "industry_code")
INSTALLATION_PARTS = ("name", "year_commissioned", "status")
_INSTALLATION_FIELD = re.compile(r"^aging_installations\[([0-9]{1,3})\]\.")
# pydantic names the member of a union (`list[X] | None`) an error is of, in the path it
# gives: `aging_installations.list[AgingInstallation][0].year_commissioned`, and
# `aging_installations.none` ("should be None").
_UNION_MEMBER = re.compile(r"\.(?:list\[\w+\]|str|int|none)(?=$|[.\[])")
SPARE_INSTALLATION_ROWS = 2  # blank rows under the record's, to add aging installations
# The permits form has a row per kind (one permit of each kind is held), its inputs named
# `permits.<kind>.<part>`; the registry numbers the list it is sent (`permits[1].number`).
PERMIT_PARTS = ("number", "issuer", "valid_from", "valid_until")
_PERMIT_INDEX = re.compile(r"^permits\[([0-9]{1,3})\]")


def _province(request: Request) -> str:
    province: str = request.app.state.code_desk.province
    return province


# --- the public application -------------------------------------------------------------


def _apply_page(
    request: Request,
    actor: Actor | None,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    posted_form: Posted | None = None,
    retry_after: int | None = None,
) -> Response:
    response = page(
        request,
        "apply.html",
        status=status,
        actor=actor,
        cities=counties_by_city(_province(request)),
        kinds=ENTERPRISE_KINDS,
        chosen_kinds=[] if posted_form is None else posted_form.getlist("kinds"),
        message=message,
        errors=errors or {},
        values={} if posted_form is None else posted_form.values(),
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def apply_form(request: Request) -> Response:
    """`/console/apply`: the form anyone fills in to ask for an enterprise account."""
    async with connection(request) as conn:
        actor = await maybe_signed_in(request, conn)
    return _apply_page(request, actor)


async def apply(request: Request) -> Response:
    form = await posted(request)
    lang = lang_of(request)
    data: dict[str, object] = {name: form.get(name).strip() for name in APPLICATION_FIELDS}
    data["kinds"] = form.getlist("kinds")
    try:
        application_form = checked(EnterpriseApplicationForm, data)
        async with connection(request) as conn:
            # The API's own limit per address: the console is one more way in, not a way
            # around it.
            application = await enterprises.apply(conn, application_form, limiter(request))
    except (ValidationFailed, Conflict) as exc:
        message = None if isinstance(exc, ValidationFailed) else refused_message(lang, exc)
        return _apply_page(
            request,
            None,
            status=exc.status,
            message=message,
            errors=field_errors(request, exc.fields),
            posted_form=form,
        )
    except TooManyRequests as exc:
        message = tr(
            lang,
            f"来自此网络地址的申请过多，请 {exc.retry_after} 秒后再试。",
            f"Too many applications from this address; try again in {exc.retry_after} seconds.",
        )
        return _apply_page(
            request, None, status=429, message=message, posted_form=form,
            retry_after=exc.retry_after,
        )  # fmt: skip
    return see_other(request, f"{PREFIX}/apply/sent?number={application.id}", done="applied")


async def apply_sent(request: Request) -> Response:
    """Where a sent application leads: its number, and how to look it up later."""
    number = request.query_params.get("number", "")
    if not (number.isascii() and number.isdigit() and len(number) <= 18):
        raise NotFound("no application number given")
    return page(request, "apply_sent.html", number=int(number))


# --- the status of an application -------------------------------------------------------


def _status_page(
    request: Request,
    *,
    status: int = 200,
    found: Any = None,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "application_status.html",
        status=status,
        found=found,
        message=message,
        errors=errors or {},
        values=values or {},
    )


async def status_form(request: Request) -> Response:
    """`/console/application-status`: look up an application by its number and mobile."""
    number = request.query_params.get("number", "")
    prefilled = {"application_id": number} if number.isascii() and number.isdigit() else {}
    return _status_page(request, values=prefilled)


async def look_up_status(request: Request) -> Response:
    """The answer is shown on the page the form was sent from, not redirected to: a look-up
    changes nothing, and the mobile must not go into a URL."""
    form = await posted(request)
    lang = lang_of(request)
    values = form.values()
    try:
        lookup = checked(
            ApplicationStatusForm,
            {"application_id": form.get("application_id").strip(), "mobile": form.get("mobile")},
        )
        async with connection(request) as conn:
            found = await enterprises.application_status(
                conn, lookup.application_id, lookup.mobile, limiter(request)
            )
    except ValidationFailed as exc:
        return _status_page(
            request, status=422, errors=field_errors(request, exc.fields), values=values
        )
    except NotFound:
        message = tr(
            lang,
            "没有找到与此申请编号和手机号相符的申请。请核对申请编号和申请时填写的联系人手机号。",
            "No application matches this number and mobile. Check the application number "
            "and the contact mobile given in the application.",
        )
        return _status_page(request, status=404, message=message, values=values)
    except TooManyRequests as exc:
        message = tr(
            lang,
            f"查询过于频繁，请 {exc.retry_after} 秒后再试。",
            f"Too many look-ups; try again in {exc.retry_after} seconds.",
        )
        response = _status_page(request, status=429, message=message, values=values)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return _status_page(request, found=found, values=values)


# --- the enterprise's home and record ---------------------------------------------------


async def home(request: Request) -> Response:
    """`/console/enterprise`: products and their state, the certificate, what waits on the
    enterprise and what was rejected, with the reasons."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        seen = await overview(conn, actor, own_enterprise_id(actor))
        unread = await notices.unread_notices(conn, actor)
    return page(
        request,
        "enterprise_home.html",
        actor=actor,
        o=seen,
        unread_notices=unread,
        today=date.today(),
        step_name=lambda s, i: step_name(s, i, lang_of(request)),
    )


def _field_paths(fields: dict[str, str], permit_kinds: list[str]) -> dict[str, str]:
    """The record form's errors by the names of its inputs: union members left out of the
    paths, the "should be None" of the null member dropped (it says nothing useful), and a
    permit's place in the list sent (`permit_kinds`) turned into its kind's row."""
    named: dict[str, str] = {}
    for path, message in fields.items():
        if not path.endswith(".none"):
            path = _UNION_MEMBER.sub("", path.removeprefix("changes."))
            found = _PERMIT_INDEX.match(path)
            if found is not None and int(found.group(1)) < len(permit_kinds):
                row = f"permits.{permit_kinds[int(found.group(1))]}"
                path = row + path[found.end() :]
            named.setdefault(path, message)
    return named


def _record_values(record: Enterprise) -> dict[str, str]:
    """The record as the update form shows it."""
    values = {name: str(getattr(record, name) or "") for name in RECORD_FIELDS}
    for index, installation in enumerate(record.aging_installations):
        for part in INSTALLATION_PARTS:
            values[f"aging_installations[{index}].{part}"] = str(installation[part])
    for permit in record.permits:
        for part in PERMIT_PARTS:
            values[f"permits.{permit.kind}.{part}"] = str(getattr(permit, part))
    return values


def _record_page(
    request: Request,
    actor: Actor,
    seen: Overview,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    installation_rows: int | None = None,
) -> Response:
    record = seen.record
    rows = len(record.aging_installations) if installation_rows is None else installation_rows
    return page(
        request,
        "enterprise_record.html",
        status=status,
        actor=actor,
        o=seen,
        names=division_names(),
        today=date.today(),
        installation_rows=rows + SPARE_INSTALLATION_ROWS,
        permit_kinds=[(kind.value, PERMIT_NAMES[kind]) for kind in PermitKind],
        message=message,
        errors=errors or {},
        values=_record_values(record) if values is None else values,
    )


async def record(request: Request) -> Response:
    """`/console/enterprise/record`: every field of the record, and the form to change it."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        seen = await overview(conn, actor, own_enterprise_id(actor))
    return _record_page(request, actor, seen)


def _installations(form: Posted) -> list[dict[str, str]]:
    """The aging installations typed, rows left blank dropped."""
    indexes = sorted(
        {
            int(found.group(1))
            for name, _ in form.pairs
            if (found := _INSTALLATION_FIELD.match(name)) is not None
        }
    )
    rows = [
        {part: form.get(f"aging_installations[{i}].{part}").strip() for part in INSTALLATION_PARTS}
        for i in indexes[:200]
    ]
    return [row for row in rows if any(row.values())]


def _permits(form: Posted) -> list[dict[str, str]]:
    """The permits typed, a row per kind in the kinds' order; rows left blank dropped."""
    rows = [
        {"kind": kind.value}
        | {part: form.get(f"permits.{kind}.{part}").strip() for part in PERMIT_PARTS}
        for kind in PermitKind
    ]
    return [row for row in rows if any(row[part] for part in PERMIT_PARTS)]


def _changes(form: Posted, current: Enterprise) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """What the form changes of `current` (only what differs is sent), and the installations
    as typed."""
    changes: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        typed = form.get(name).strip()
        if typed != (getattr(current, name) or ""):
            # An optional field emptied is cleared; a required one is sent blank, for the
            # registry to say it cannot be.
            changes[name] = typed if typed or name in REQUIRED_RECORD_FIELDS else None
    installations = _installations(form)
    stored = [
        {part: str(a[part]) for part in INSTALLATION_PARTS} for a in current.aging_installations
    ]
    if installations != stored:
        changes["aging_installations"] = installations
    permits = _permits(form)
    # Compared by kind: the API may have stored them in another order than the form's.
    held = {
        p.kind.value: {part: str(getattr(p, part)) for part in PERMIT_PARTS}
        for p in current.permits
    }
    typed_permits = {row["kind"]: {part: row[part] for part in PERMIT_PARTS} for row in permits}
    if typed_permits != held:
        changes["permits"] = permits
    return changes, installations


async def update_record(request: Request) -> Response:
    """A registered enterprise (one holding a certificate in force) files its changes for
    review, as the registry requires; one not registered yet changes its record directly."""
    form = await posted(request)
    lang = lang_of(request)
    version_text = form.get("version")
    if not (version_text.isascii() and version_text.isdigit() and len(version_text) <= 9):
        raise BadForm(400, "the form carries no record version")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        enterprise_id = own_enterprise_id(actor)
        seen = await overview(conn, actor, enterprise_id)
        if seen.record.version != int(version_text):
            # What the form changes was worked out against the record it showed.
            raise PreconditionFailed("the record changed since the form was shown")
        changes, installations = _changes(form, seen.record)
        # The installations as sent, renumbered without the blank rows, as the registry
        # numbers them in its field errors.
        values = {
            name: value
            for name, value in form.values().items()
            if not name.startswith("aging_installations[")
        } | {
            f"aging_installations[{i}].{part}": row[part]
            for i, row in enumerate(installations)
            for part in INSTALLATION_PARTS
        }
        try:
            if seen.certificate is not None:
                await reviews.submit_info_update(
                    conn, actor, enterprise_id, checked(InfoUpdateForm, {"changes": changes})
                )
            else:
                await enterprises.update(
                    conn,
                    actor,
                    enterprise_id,
                    seen.record.version,
                    checked(EnterpriseUpdateForm, changes),
                )
        except (ValidationFailed, Conflict) as exc:
            fields = _field_paths(exc.fields, [p["kind"] for p in changes.get("permits") or []])
            message = None
            if "body" in fields:
                message = tr(lang, "没有修改任何内容。", "Nothing was changed.")
                fields.pop("body")
            elif isinstance(exc, Conflict):
                message = refused_message(lang, exc)
            return _record_page(
                request, actor, seen, status=exc.status, message=message,
                errors=field_errors(request, fields), values=values,
                installation_rows=len(installations),
            )  # fmt: skip
    done = "submitted" if seen.certificate is not None else "saved"
    return see_other(request, f"{PREFIX}/enterprise/record", done=done)


ROUTES: list[Route] = [
    Route(f"{PREFIX}/apply", apply_form, methods=["GET"]),
    Route(f"{PREFIX}/apply", apply, methods=["POST"]),
    Route(f"{PREFIX}/apply/sent", apply_sent, methods=["GET"]),
    Route(f"{PREFIX}/application-status", status_form, methods=["GET"]),
    Route(f"{PREFIX}/application-status", look_up_status, methods=["POST"]),
    Route(f"{PREFIX}/enterprise", home, methods=["GET"]),
    Route(f"{PREFIX}/enterprise/record", record, methods=["GET"]),
    Route(f"{PREFIX}/enterprise/record", update_record, methods=["POST"]),
    *enterprise_filings.ROUTES,
]
