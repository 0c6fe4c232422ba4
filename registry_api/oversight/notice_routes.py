"""HTTP handlers of notices (通知公告), and their rows of the endpoint table: publishing one,
the notices that reach the caller, one notice, its read receipt, and the receipts."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from registry_api.accounts.routes import signed_in
from registry_api.forms import read_form, validate_form
from registry_api.oversight import notices as operations
from registry_api.oversight.forms import (
    DEFAULT_NOTICE_LIMIT,
    DEFAULT_RECEIPT_LIMIT,
    MAX_PAGE,
    MAX_RECEIPT_PAGE,
    NoticeForm,
    NoticeListQuery,
    ReceiptsQuery,
)
from registry_api.oversight.storage import Notice
from registry_api.requests import (
    Endpoint,
    Link,
    QueryParameter,
    Timestamp,
    answer,
    path_id,
    resources,
)


@answer
class NoticeUnitView(TypedDict):
    id: str  # GB/T 2260 code, or a chemical park's
    name: str


@answer
class NoticeAuthorView(TypedDict):
    id: int
    name: str


@answer
class NoticeView(TypedDict):
    id: int
    unit: NoticeUnitView  # the publishing unit: it reaches that unit and every unit below
    author: NoticeAuthorView
    title: str
    body: str
    to_enterprises: bool  # the enterprises of the unit and below read it too
    published_at: Timestamp
    read_at: Timestamp | None  # when the caller marked it read; None: not yet


@answer
class NoticeListView(TypedDict):
    notices: list[NoticeView]  # the newest first
    next_before: int | None  # the `before` of the next (older) page, when there is one
    unread: int  # how many of all the notices reaching the caller it has not read


@answer
class NoticeReaderView(TypedDict):
    account_id: int
    name: str
    kind: str  # regulator, enterprise
    where: str  # a regulator's unit, an enterprise account's enterprise
    read_at: Timestamp


@answer
class ReceiptsView(TypedDict):
    notice_id: int
    reached: int  # the accounts the notice reaches (disabled ones not counted)
    unread: int  # of those, how many have not marked it read
    readers: list[NoticeReaderView]  # who marked it read, the latest first
    next_before: int | None  # the `before` of the next (older) page of readers


def notice_json(notice: Notice) -> NoticeView:
    return {
        "id": notice.id,
        "unit": {"id": notice.unit_id, "name": notice.unit_name},
        "author": {"id": notice.author_id, "name": notice.author_name},
        "title": notice.title,
        "body": notice.body,
        "to_enterprises": notice.to_enterprises,
        "published_at": notice.published_at.isoformat(),
        "read_at": None if notice.read_at is None else notice.read_at.isoformat(),
    }


def _query(request: Request, form: type[BaseModel]) -> dict[str, object]:
    """The request's query parameters that `form` names (a repeated one: its last value)."""
    params = request.query_params
    return {name: params[name] for name in form.model_fields if name in params}


async def publish_notice(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, NoticeForm)
        published = await operations.publish(conn, actor, form)
    return JSONResponse(notice_json(published), status_code=201)


async def list_notices(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        query = validate_form(NoticeListQuery, _query(request, NoticeListQuery))
        found = await operations.notices_for(conn, actor, query)
    body: NoticeListView = {
        "notices": [notice_json(n) for n in found.notices],
        "next_before": found.next_before,
        "unread": found.unread,
    }
    return JSONResponse(body)


async def get_notice(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.notice(conn, actor, path_id(request, "notice_id"))
    return JSONResponse(notice_json(found))


async def mark_notice_read(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        read = await operations.mark_read(conn, actor, path_id(request, "notice_id"))
    return JSONResponse(notice_json(read))


async def notice_receipts(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        notice_id = path_id(request, "notice_id")
        query = validate_form(ReceiptsQuery, _query(request, ReceiptsQuery))
        found = await operations.receipts(conn, actor, notice_id, query)
    body: ReceiptsView = {
        "notice_id": found.notice.id,
        "reached": found.reach.reached,
        "unread": found.reach.unread,
        "readers": [
            {"account_id": r.account_id, "name": r.name, "kind": r.kind, "where": r.where,
             "read_at": r.read_at.isoformat()}
            for r in found.readers
        ],
        "next_before": found.next_before,
    }  # fmt: skip
    return JSONResponse(body)


def _before(what: str) -> QueryParameter:
    return QueryParameter(
        "before",
        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        f"only {what} older than this one (the `next_before` read)",
    )


_NOTICE_LINKS = (
    Link("GetNotice", "GET", "/notices/{notice_id}", {"notice_id": "$response.body#/id"}),
    Link("MarkNoticeRead", "POST", "/notices/{notice_id}/read",
         {"notice_id": "$response.body#/id"}),
    Link("GetNoticeReceipts", "GET", "/notices/{notice_id}/receipts",
         {"notice_id": "$response.body#/id"}),
)  # fmt: skip
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/notices", publish_notice,
             "Publish a notice from the caller's unit: it reaches that unit and every unit "
             "below it, and their enterprises with `to_enterprises` (admins of any level)",
             NoticeForm, (201, 403, 422), NoticeView, links=_NOTICE_LINKS),
    Endpoint("GET", "/notices", list_notices,
             "The notices that reach the caller, the newest first, each with when the caller "
             "read it: a regulator's are those of its unit and every unit above it; an "
             "enterprise's, those meant for enterprises from a unit at or above its county "
             "or chemical park", None, (200, 422), NoticeListView,
             query=(QueryParameter("limit", {"type": "integer", "minimum": 1,
                                             "maximum": MAX_PAGE,
                                             "default": DEFAULT_NOTICE_LIMIT},
                                   "at most this many notices"),
                    _before("notices"),
                    QueryParameter("unread", {"type": "boolean", "default": False},
                                   "only those the caller has not marked read")),
             links=(Link("GetFirstNotice", "GET", "/notices/{notice_id}",
                         {"notice_id": "$response.body#/notices/0/id"}),)),
    Endpoint("GET", "/notices/{notice_id}", get_notice,
             "A notice that reaches the caller, or one published at or below a regulator's "
             "unit, with when the caller read it", None, (200, 404), NoticeView),
    Endpoint("POST", "/notices/{notice_id}/read", mark_notice_read,
             "Mark the notice read (anyone who may read it); marking it again keeps the "
             "first time", None, (200, 404), NoticeView),
    Endpoint("GET", "/notices/{notice_id}/receipts", notice_receipts,
             "Who marked the notice read and when, the latest first, and how many of the "
             "accounts it reaches have not (admins of the publishing unit and above)", None,
             (200, 403, 404, 422), ReceiptsView,
             query=(QueryParameter("limit", {"type": "integer", "minimum": 1,
                                             "maximum": MAX_RECEIPT_PAGE,
                                             "default": DEFAULT_RECEIPT_LIMIT},
                                   "at most this many readers"),
                    _before("readings"))),
)  # fmt: skip
