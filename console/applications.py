"""Pages of enterprise account applications: the list in the reader's scope, one
application, approve (the new owner's one-time password shown once) and reject with a
reason. Served through `reviews.ROUTES`.

The one-time password never travels in a URL and is never rendered twice: the approval
keeps it with `console.one_time` for the approver and the application, and the page after
the redirect reads it once, so a reload (or the back button) says it was shown already.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.storage import Connection
from console.forms import checked, field_errors, posted
from console.navigation import connection
from console.one_time import keep_once, read_once
from console.rendering import PREFIX, lang_of, page, see_other, tr
from console.sessions import signed_in
from registry_api.accounts.operations import Actor
from registry_api.accounts.rules import Level, Role
from registry_api.enterprises import operations
from registry_api.enterprises.forms import DecisionForm
from registry_api.errors import ValidationFailed
from registry_api.requests import path_id

_ONCE_KIND = "application"
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "pending": ("待审批", "Pending"),
    "approved": ("已通过", "Approved"),
    "rejected": ("已驳回", "Rejected"),
}


async def application_list(request: Request) -> Response:
    """`/console/applications`: applications of the reader's unit and below, by status."""
    lang = lang_of(request)
    chosen = request.query_params.get("status", "pending")
    errors: dict[str, str] = {}
    if chosen and chosen not in STATUS_NAMES:
        errors["status"] = tr(lang, "没有这个状态。", "There is no such status.")
        chosen = "pending"
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.applications(conn, actor, chosen or None)
    return page(
        request,
        "applications.html",
        status=422 if errors else 200,
        actor=actor,
        applications=found,
        statuses=[("", tr(lang, "全部", "All"))]
        + [(value, tr(lang, *names)) for value, names in STATUS_NAMES.items()],
        status_names=STATUS_NAMES,
        chosen=chosen,
        errors=errors,
    )


def _may_decide(actor: Actor) -> bool:
    """Whether to offer the buttons (the operation decides again on the POST)."""
    return actor.account.role is Role.ADMIN and actor.account.level in (Level.COUNTY, Level.CITY)


async def _application_page(
    request: Request,
    conn: Connection,
    actor: Actor,
    application_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    found = await operations.application(conn, actor, application_id)
    return page(
        request,
        "applications_detail.html",
        status=status,
        actor=actor,
        application=found,
        status_names=STATUS_NAMES,
        deciding=found.status == "pending" and _may_decide(actor),
        errors=errors or {},
        values=values or {},
    )


async def application_page(request: Request) -> Response:
    application_id = path_id(request, "application_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        return await _application_page(request, conn, actor, application_id)


async def approve_application(request: Request) -> Response:
    await posted(request)
    application_id = path_id(request, "application_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        approved = await operations.approve(conn, actor, application_id)
    shown = {
        "application": application_id,
        "password": approved.temporary_password,
        "mobile": approved.owner.mobile,
        "name": approved.owner.name,
        "enterprise": approved.enterprise.name,
    }
    key = await keep_once(request, actor, _ONCE_KIND, shown)
    return see_other(
        request, f"{PREFIX}/applications/{application_id}/approved?once={key}", done="approved"
    )


async def approved_page(request: Request) -> Response:
    """The one-time password, once: the first read deletes it."""
    application_id = path_id(request, "application_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.application(conn, actor, application_id)
    shown = await read_once(request, actor, _ONCE_KIND, application=found.id)
    return page(request, "applications_approved.html", actor=actor, application=found, shown=shown)


async def reject_application(request: Request) -> Response:
    form = await posted(request)
    application_id = path_id(request, "application_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        try:
            reason = checked(DecisionForm, {"reason": form.get("reason")}).reason
        except ValidationFailed as exc:
            return await _application_page(
                request, conn, actor, application_id, status=422,
                errors=field_errors(request, exc.fields), values=form.values(),
            )  # fmt: skip
        await operations.reject(conn, actor, application_id, reason)
    return see_other(request, f"{PREFIX}/applications/{application_id}", done="rejected")


ROUTES = [
    Route(f"{PREFIX}/applications", application_list, methods=["GET"]),
    Route(f"{PREFIX}/applications/{{application_id}}", application_page, methods=["GET"]),
    Route(
        f"{PREFIX}/applications/{{application_id}}/approve", approve_application, methods=["POST"]
    ),
    Route(f"{PREFIX}/applications/{{application_id}}/approved", approved_page, methods=["GET"]),
    Route(f"{PREFIX}/applications/{{application_id}}/reject", reject_application, methods=["POST"]),
]
