"""Pages of notices (通知公告): the notices that reach the reader, one notice with its "mark
read" button, the form an admin publishes one with, and the receipts its unit's admins and
those above read; and the unread notices the home pages show.

The same operations as `/api/v1/notices` (`registry_api/oversight/notices.py`): a notice the
reader may not open is a 404 page, the form and the receipts are refused (403) to those the
API refuses.

Opening a notice does not mark it read: a GET changes nothing (RFC 9110 calls it safe), so
a link preview, a prefetching browser or a supervisor glancing at it cannot put a reading on
record that nobody made. The reader says so with the page's POST button (确认已阅).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.storage import Connection
from console.forms import Posted, checked, field_errors, posted
from console.navigation import connection
from console.rendering import PREFIX, page, see_other
from console.sessions import signed_in
from registry_api.accounts.operations import Actor
from registry_api.errors import Forbidden, ValidationFailed
from registry_api.oversight import notices as operations
from registry_api.oversight.forms import (
    DEFAULT_NOTICE_LIMIT,
    DEFAULT_RECEIPT_LIMIT,
    MAX_NOTICE_BODY,
    MAX_NOTICE_TITLE,
    NoticeForm,
    NoticeListQuery,
    ReceiptsQuery,
)
from registry_api.oversight.notices import NoticePage
from registry_api.requests import path_id

# How many unread notices a home page lists (the rest are a link away).
HOME_UNREAD = 5
FORM_FIELDS = ("title", "body", "to_enterprises")


def _before(request: Request) -> int | None:
    """The `before` of an older page; None (the newest) when absent or not a row id."""
    raw = request.query_params.get("before", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18 else None


async def unread_notices(conn: Connection, actor: Actor) -> NoticePage:
    """The newest unread notices reaching `actor`, and how many it has not read: what its
    home page shows."""
    return await operations.notices_for(
        conn, actor, NoticeListQuery(limit=HOME_UNREAD, unread=True)
    )


async def notice_list(request: Request) -> Response:
    """`/console/notices`: the notices that reach the reader, the newest first (`?unread=1`:
    only those it has not read)."""
    unread = request.query_params.get("unread") == "1"
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.notices_for(
            conn,
            actor,
            NoticeListQuery(limit=DEFAULT_NOTICE_LIMIT, before=_before(request), unread=unread),
        )
    return page(
        request,
        "notice_list.html",
        actor=actor,
        found=found,
        unread=unread,
        publishes=_publishes(actor),
    )


def _publishes(actor: Actor) -> bool:
    try:
        operations.publisher_unit(actor)
    except Forbidden:
        return False
    return True


def _form_page(
    request: Request,
    actor: Actor,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: Posted | None = None,
) -> Response:
    unit = operations.publisher_unit(actor)
    return page(
        request,
        "notice_form.html",
        status=status,
        actor=actor,
        unit=unit,
        max_title=MAX_NOTICE_TITLE,
        max_body=MAX_NOTICE_BODY,
        errors=errors or {},
        values={} if form is None else form.values(),
    )


async def publish_form(request: Request) -> Response:
    """`/console/notices/new`: the form, for admins (anyone else: 403)."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
    return _form_page(request, actor)


async def publish(request: Request) -> Response:
    form = await posted(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        try:
            body = checked(
                NoticeForm,
                {
                    "title": form.get("title"),
                    "body": form.get("body"),
                    "to_enterprises": form.get("to_enterprises") == "on",
                },
            )
            published = await operations.publish(conn, actor, body)
        except ValidationFailed as exc:
            fields = {path: text for path, text in exc.fields.items() if path in FORM_FIELDS}
            return _form_page(
                request, actor, status=422, errors=field_errors(request, fields), form=form
            )
    return see_other(request, f"{PREFIX}/notices/{published.id}", done="created")


async def notice_page(request: Request) -> Response:
    """`/console/notices/{id}`: the notice, whether the reader has marked it read, and the
    way to its receipts for those who read them."""
    notice_id = path_id(request, "notice_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.notice(conn, actor, notice_id)
    return page(
        request,
        "notice.html",
        actor=actor,
        item=found,
        receipts=operations.reads_receipts(actor, found),
    )


async def mark_read(request: Request) -> Response:
    await posted(request)
    notice_id = path_id(request, "notice_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        await operations.mark_read(conn, actor, notice_id)
    return see_other(request, f"{PREFIX}/notices/{notice_id}")


async def receipts_page(request: Request) -> Response:
    """`/console/notices/{id}/receipts`: who read it and when, how many it reaches have not
    (the admins of its unit and above; others who may open it: 403)."""
    notice_id = path_id(request, "notice_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.receipts(
            conn,
            actor,
            notice_id,
            ReceiptsQuery(limit=DEFAULT_RECEIPT_LIMIT, before=_before(request)),
        )
    return page(request, "notice_receipts.html", actor=actor, r=found)


ROUTES: list[Route] = [
    Route(f"{PREFIX}/notices", notice_list, methods=["GET"]),
    Route(f"{PREFIX}/notices/new", publish_form, methods=["GET"]),
    Route(f"{PREFIX}/notices/new", publish, methods=["POST"]),
    Route(f"{PREFIX}/notices/{{notice_id}}", notice_page, methods=["GET"]),
    Route(f"{PREFIX}/notices/{{notice_id}}/read", mark_read, methods=["POST"]),
    Route(f"{PREFIX}/notices/{{notice_id}}/receipts", receipts_page, methods=["GET"]),
]
