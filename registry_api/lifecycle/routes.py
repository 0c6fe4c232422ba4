"""HTTP handlers of the lifecycle's events and alerts, and their rows of the endpoint table:
EPCIS capture (`POST /events`), event queries and timelines answered as EPCIS 2.0 query
documents, and the alert list. The batches, items and recalls are in `batch_routes`."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from codesvc import storage as codes_db
from codesvc.codes import CodeFormatError, group_code_id, parse_code_id
from codesvc.serials import parse_serial
from registry_api.accounts.routes import signed_in
from registry_api.errors import NotFound, RegistryError, UnsupportedMediaType, ValidationFailed
from registry_api.forms import validate_form
from registry_api.lifecycle import epcis, operations
from registry_api.lifecycle import storage as db
from registry_api.lifecycle.epcis import ItemUriError, parse_item_uri
from registry_api.lifecycle.forms import (
    ALERT_KINDS,
    DEFAULT_PER_PAGE,
    EVENT_TIME_PATTERN,
    MAX_ALERTS_PAGE,
    MAX_PER_PAGE,
    PAGE_POSITION_PATTERN,
    AlertQuery,
    EventQuery,
    EventsBody,
    TimelineQuery,
)
from registry_api.requests import (
    PATH_PATTERNS,
    Endpoint,
    QueryParameter,
    Timestamp,
    answer,
    path_id,
    resources,
)


@answer
class AlertedView(TypedDict):
    kind: str
    serial: str | None
    batch_no: str | None
    code_id: str


@answer
class RecordedView(TypedDict):
    recorded: int  # events stored by this request
    already_recorded: int  # eventIDs stored before: a retry, left as they were
    recorded_ids: list[str]
    already_recorded_ids: list[str]
    alerts: list[AlertedView]  # raised by these events (receipts that do not add up)


@answer
class AlertView(TypedDict):
    id: int
    kind: str  # double_receipt | after_end | never_issued | over_quantity
    enterprise_id: int
    enterprise_name: str
    code_id: str  # as printed, with dashes
    batch_id: int | None
    batch_no: str | None
    serial: str | None
    evidence: dict[str, Any]
    occurrences: int
    raised_at: Timestamp
    last_at: Timestamp


@answer
class AlertsView(TypedDict):
    alerts: list[AlertView]  # the newest first
    next_before: int | None  # the `before` of the next (older) page, when there is one


# What EPCIS 2.0 query documents are answered as (JSON-LD, read as JSON by any client).
EPCIS_JSON_LD = "application/ld+json"


def _query(request: Request, form: type[BaseModel]) -> dict[str, object]:
    params = request.query_params
    return {name: params[name] for name in form.model_fields if name in params}


def _base_url(request: Request) -> str:
    base: str = request.app.state.code_desk.public_base_url
    return base


async def record_events(request: Request) -> Response:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type and not (media_type == "application/json" or media_type.endswith("+json")):
        raise UnsupportedMediaType(
            f"the body must be JSON (application/json or application/ld+json), not "
            f"{media_type[:60]}"
        )
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RegistryError(
            "the body must be one EPCIS event or an EPCISDocument, as JSON"
        ) from None
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        recorded = await operations.record_events(conn, actor, body)
    answer_body: RecordedView = {
        "recorded": len(recorded.recorded),
        "already_recorded": len(recorded.already),
        "recorded_ids": recorded.recorded,
        "already_recorded_ids": recorded.already,
        "alerts": [
            {"kind": a.kind, "serial": a.serial, "batch_no": a.evidence.get("batch_no"),
             "code_id": group_code_id(a.code_id)}
            for a in recorded.alerts
        ],
    }  # fmt: skip
    return JSONResponse(answer_body, status_code=201 if recorded.recorded else 200)


def _filter(per_page: int, token: str | None) -> db.EventFilter:
    after = None if token is None else operations.read_page_token(token)
    return db.EventFilter(after=after, limit=per_page)


def _document(request: Request, page: operations.EventPage) -> Response:
    document = epcis.query_document(page.events, _base_url(request), created=datetime.now(UTC))
    headers = {}
    if page.next_token is not None:
        params = dict(request.query_params)
        params["nextPageToken"] = page.next_token
        headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return JSONResponse(document, headers=headers, media_type=EPCIS_JSON_LD)


def _serial(text: str, field: str) -> str:
    """A serial, or an item's scan URL, as the serial it names."""
    try:
        if "/" in text:
            return parse_item_uri(text).serial
        return parse_serial(text)
    except (ItemUriError, CodeFormatError) as exc:
        raise ValidationFailed(f"{field} is not an item", {field: str(exc)}) from None


async def query_events(request: Request) -> Response:
    query = validate_form(EventQuery, _query(request, EventQuery))
    base = dataclasses.replace(
        _filter(query.perPage, query.nextPageToken),
        biz_step=None if query.bizStep is None else query.bizStep.value,
        since=None if query.GE_eventTime is None else datetime.fromisoformat(query.GE_eventTime),
        until=None if query.LT_eventTime is None else datetime.fromisoformat(query.LT_eventTime),
    )
    if query.batch is not None and query.code is None:
        raise ValidationFailed("a batch is named with its code", {"code": "name the batch's code"})
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        recorder = None
        if query.recorder is not None:
            recorder = await db.enterprise_by_uscc(conn, query.recorder)
            if recorder is None:
                raise NotFound(f"no enterprise {query.recorder}")
            if query.serial is None and query.code is None:
                page = await operations.recorder_events(conn, actor, recorder, base)
                return _document(request, page)
        base = dataclasses.replace(base, recorder=recorder)
        if query.serial is not None:
            serial = _serial(query.serial, "serial")
            page = await operations.item_timeline(conn, actor, serial, base)
        elif query.code is not None:
            try:
                code_id = parse_code_id(query.code)
            except CodeFormatError:  # the shape of one, but no code this registry issued
                raise NotFound(f"no code {query.code}") from None
            batch_ids = None
            if query.batch is not None:
                batch = await codes_db.fetch_batch(conn, code_id, query.batch)
                batch_ids = [] if batch is None else [batch.id]
            page = await operations.code_events(conn, actor, code_id, batch_ids, base)
        elif actor.account.enterprise_id is not None:
            page = await operations.recorder_events(conn, actor, actor.account.enterprise_id, base)
        else:
            raise ValidationFailed(
                "name what the events are of",
                {"serial": "name a serial, a code (and batch) or a recorder"},
            )
    return _document(request, page)


async def item_events(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        raw = request.path_params["serial"]
        try:
            serial = parse_serial(raw)
        except CodeFormatError:
            raise NotFound(f"no item {raw[:40]}") from None
        query = validate_form(TimelineQuery, _query(request, TimelineQuery))
        page = await operations.item_timeline(
            conn, actor, serial, _filter(query.perPage, query.nextPageToken)
        )
    return _document(request, page)


async def batch_events(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        batch_id = path_id(request, "batch_id")
        query = validate_form(TimelineQuery, _query(request, TimelineQuery))
        batch = await codes_db.fetch_batch_by_id(conn, batch_id)
        if batch is None:
            raise NotFound(f"no batch {batch_id}")
        page = await operations.batch_timeline(
            conn, actor, batch, _filter(query.perPage, query.nextPageToken)
        )
    return _document(request, page)


async def list_alerts(request: Request) -> Response:
    query = validate_form(AlertQuery, _query(request, AlertQuery))
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.alerts(
            conn, actor, kind=query.kind, before=query.before, limit=query.limit + 1
        )
    more = len(found) > query.limit
    found = found[: query.limit]
    body: AlertsView = {
        "alerts": [
            {"id": a.id, "kind": a.kind, "enterprise_id": a.enterprise_id,
             "enterprise_name": a.enterprise_name, "code_id": group_code_id(a.code_id),
             "batch_id": a.batch_id, "batch_no": a.batch_no, "serial": a.serial,
             "evidence": a.evidence, "occurrences": a.occurrences,
             "raised_at": a.raised_at.isoformat(), "last_at": a.last_at.isoformat()}
            for a in found
        ],
        "next_before": found[-1].id if more and found else None,
    }  # fmt: skip
    return JSONResponse(body)


_PAGING = (
    QueryParameter("perPage", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                               "default": DEFAULT_PER_PAGE}, "at most this many events"),
    QueryParameter("nextPageToken", {"type": "string", "pattern": PAGE_POSITION_PATTERN},
                   "where the page starts: the token the Link header of the previous page "
                   "gave"),
)  # fmt: skip

_EVENT_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/events", record_events,
             "Record one EPCIS 2.0 event or an EPCISDocument of up to 10,000 (enterprise "
             "accounts): all or nothing, every problem of every event named (unknown or "
             "foreign serial, impossible transition, bad time); an eventID recorded before "
             "is skipped, so a retry changes nothing. 201 when any event was stored, 200 "
             "when all were stored before", EventsBody, (200, 201, 403), RecordedView),
    Endpoint("GET", "/events", query_events,
             "Events in eventTime order, as an EPCIS 2.0 query document: of an item "
             "(serial), a code or a code's batch, or a recorder (USCC), by bizStep and "
             "time; paged by nextPageToken (Link: rel=next). A code's events are its "
             "enterprise's and its regulators'; another enterprise reads those it recorded",
             None, (200, 404, 422), media_type=EPCIS_JSON_LD,
             query=(QueryParameter("serial", {"type": "string", "minLength": 1,
                                              "maxLength": 600},
                                   "an item's serial, or its scan URL"),
                    QueryParameter("code", {"type": "string",
                                            "pattern": PATH_PATTERNS["code_id"]},
                                   "a code_id, with or without dashes"),
                    QueryParameter("batch", {"type": "string", "pattern": r"^[0-9A-Z-]{1,20}$"},
                                   "a batch number of the code"),
                    QueryParameter("recorder", {"type": "string",
                                                "pattern": r"^[0-9A-HJ-NPQRTUWXY]{18}$"},
                                   "the USCC of the enterprise that recorded them"),
                    QueryParameter("bizStep", {"type": "string", "enum": [
                        "commissioning", "packing", "shipping", "receiving", "consuming",
                        "destroying", "recalling"]}, "only events of this step"),
                    QueryParameter("GE_eventTime", {"type": "string", "format": "date-time",
                                                    "pattern": EVENT_TIME_PATTERN},
                                   "only events at or after this time (with its offset)"),
                    QueryParameter("LT_eventTime", {"type": "string", "format": "date-time",
                                                    "pattern": EVENT_TIME_PATTERN},
                                   "only events before this time (with its offset)"),
                    *_PAGING)),
    Endpoint("GET", "/items/{serial}/events", item_events,
             "The item's timeline: every event that moved it (named, or in a case or pallet "
             "that moved), oldest first, as an EPCIS 2.0 query document (its enterprise, "
             "its regulators, and enterprises that hold it or recorded its events)",
             None, (200, 404, 422), media_type=EPCIS_JSON_LD, query=_PAGING),
    Endpoint("GET", "/batches/{batch_id}/events", batch_events,
             "The batch's timeline: the events that moved its items, oldest first, as an "
             "EPCIS 2.0 query document", None, (200, 404, 422), media_type=EPCIS_JSON_LD,
             query=_PAGING),
    Endpoint("GET", "/alerts", list_alerts,
             "Alerts about items and batches, each with its evidence, the newest first: an "
             "enterprise's about its own products, a regulator's about every enterprise of "
             "its unit", None, (200, 422), AlertsView,
             query=(QueryParameter("kind", {"type": "string", "enum": list(ALERT_KINDS)},
                                   "only alerts of this kind"),
                    QueryParameter("limit", {"type": "integer", "minimum": 1,
                                             "maximum": MAX_ALERTS_PAGE, "default": 50},
                                   "at most this many"),
                    QueryParameter("before", {"type": "integer", "minimum": 1,
                                              "maximum": 2**63 - 1},
                                   "only alerts older than this one (the `next_before` "
                                   "read)"))),
)  # fmt: skip

ENDPOINTS: tuple[Endpoint, ...] = _EVENT_ENDPOINTS
