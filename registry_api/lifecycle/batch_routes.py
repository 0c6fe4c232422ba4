"""HTTP handlers of batches, item serials and recalls, and their rows of the endpoint table:
declaring a batch, issuing serials and printing them (CSV, PDF sheets, single QR codes),
reading an item, and recalling a batch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import (
    NotRequired,  # pydantic reads only these on 3.11
    cast,
)

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from typing_extensions import TypedDict

from codesvc.codes import Code, group_code_id, scan_url
from codesvc.item_states import ItemState
from codesvc.lifecycle import MAX_ITEMS_PER_ISSUE
from codesvc.qr import MEDIA_TYPES, QrFormat, QrOptions, render_qr
from codesvc.service import Resources
from codesvc.storage import BatchRow, ItemIssueRow, RecallRow
from registry_api.accounts.routes import signed_in
from registry_api.forms import read_form, validate_form
from registry_api.lifecycle import batches as operations
from registry_api.lifecycle import prints
from registry_api.lifecycle.batch_forms import (
    DEFAULT_BATCH_PAGE,
    MAX_BATCH_PAGE,
    MAX_SHEET_ITEMS,
    BatchForm,
    BatchListQuery,
    ItemIssueForm,
    ItemKind,
    PackageKind,
    RecallEndForm,
    RecallForm,
    SheetQuery,
    Unit,
    UseByKind,
)
from registry_api.products.codes import CodeDesk
from registry_api.requests import (
    PREFIX,
    Day,
    Endpoint,
    Link,
    QueryParameter,
    Timestamp,
    answer,
    path_id,
    resources,
)


@answer
class PackageView(TypedDict):
    kind: PackageKind
    capacity: float
    unit: Unit


@answer
class PackagingView(TypedDict):
    inner: PackageView
    outer: PackageView | None


@answer
class RecallView(TypedDict):
    id: int
    batch_id: int
    reason: str
    instructions: str
    started_at: Timestamp
    started_by: int | None  # the account that started it
    ended_at: Timestamp | None  # None while it is open
    ended_by: int | None
    end_note: str | None


@answer
class ItemIssueView(TypedDict):
    id: int
    batch_id: int
    kind: ItemKind
    count: int
    issued_at: Timestamp
    # Where its serials are, as CSV for the packaging line, and as print sheets (`from`,
    # `count`). Paths, not OpenAPI links: both are files (the CSV of a million serials is
    # 200 MB), fetched when the line prints, not followed like a record.
    serials_csv: str
    sheet_pdf: str


@answer
class BatchView(TypedDict):
    id: int
    product_id: int
    enterprise_id: int
    code_id: str  # grouped as printed under the QR
    batch_no: str
    produced_on: Day
    use_by: Day
    use_by_kind: UseByKind
    quantity: float  # exact: at most 3 decimals, as declared
    unit: Unit
    packaging: PackagingView
    site: str | None
    declared_at: Timestamp
    scan_url: str  # what the batch's labels carry: the product page with the batch block
    recall: RecallView | None  # the open recall: scans show a red banner
    # When one batch is asked for: every recall (the newest first) and every issue of serials.
    recalls: NotRequired[list[RecallView]]
    item_issues: NotRequired[list[ItemIssueView]]


@answer
class BatchList(TypedDict):
    batches: list[BatchView]  # the newest first
    next_before: int | None  # the `before` of the next (older) page, when there is one


@answer
class ItemView(TypedDict):
    serial: str
    kind: ItemKind
    state: ItemState
    state_at: Timestamp | None
    parent: str | None  # the case or pallet it is packed in
    holder: int | None  # the enterprise that last received it
    alerted_at: Timestamp | None  # the first alert about it
    seq: int  # its place in its issue
    issue_id: int
    batch_id: int
    batch_no: str
    product_id: int
    enterprise_id: int  # the enterprise that issued it
    code_id: str  # grouped as printed under the QR
    scan_url: str  # what its QR carries
    qr: str  # where its QR is, as SVG


def _public_base_url(request: Request) -> str:
    desk: CodeDesk = request.app.state.code_desk
    return desk.public_base_url


def _batch_url(request: Request, code: Code, batch_no: str) -> str:
    return scan_url(_public_base_url(request), code, batch_no)


def _recall_json(recall: RecallRow) -> RecallView:
    return {
        "id": recall.id,
        "batch_id": recall.batch_id,
        "reason": recall.reason,
        "instructions": recall.instructions,
        "started_at": recall.started_at.isoformat(),
        "started_by": operations.account_id_of(recall.started_by),
        "ended_at": None if recall.ended_at is None else recall.ended_at.isoformat(),
        "ended_by": operations.account_id_of(recall.ended_by),
        "end_note": recall.end_note,
    }


def _issue_json(issue: ItemIssueRow) -> ItemIssueView:
    return {
        "id": issue.id,
        "batch_id": issue.batch_id,
        "kind": cast(ItemKind, issue.kind),
        "count": issue.count,
        "issued_at": issue.issued_at.isoformat(),
        "serials_csv": f"{PREFIX}/item-issues/{issue.id}/serials.csv",
        "sheet_pdf": f"{PREFIX}/item-issues/{issue.id}/sheet.pdf",
    }


def _batch_json(
    request: Request,
    batch: BatchRow,
    product_id: int,
    enterprise_id: int,
    code: Code,
    recall: RecallRow | None,
) -> BatchView:
    quantity = batch.quantity
    return {
        "id": batch.id,
        "product_id": product_id,
        "enterprise_id": enterprise_id,
        "code_id": group_code_id(batch.code_id),
        "batch_no": batch.batch_no,
        "produced_on": batch.produced_on.isoformat(),
        "use_by": batch.use_by.isoformat(),
        "use_by_kind": cast(UseByKind, batch.use_by_kind),
        # At most 15 significant digits (10**12, 3 decimals): a float spells it exactly.
        "quantity": int(quantity) if quantity == quantity.to_integral_value() else float(quantity),
        "unit": cast(Unit, batch.unit),
        # Stored as `batches._packaging` writes it: this shape.
        "packaging": cast(PackagingView, batch.packaging),
        "site": batch.site,
        "declared_at": batch.declared_at.isoformat(),
        "scan_url": _batch_url(request, code, batch.batch_no),
        "recall": None if recall is None else _recall_json(recall),
    }


def _batch_file_json(request: Request, found: operations.BatchFile) -> BatchView:
    body = _batch_json(
        request,
        found.batch,
        found.product.id,
        found.product.enterprise_id,
        found.code,
        found.open_recall,
    )
    body["recalls"] = [_recall_json(r) for r in found.recalls]
    body["item_issues"] = [_issue_json(i) for i in found.issues]
    return body


def _query(request: Request, form: type[BaseModel]) -> dict[str, object]:
    """The request's query parameters that `form` names (by alias: `from`)."""
    params = request.query_params
    names = [field.alias or name for name, field in form.model_fields.items()]
    return {name: params[name] for name in names if name in params}


async def declare_batch(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, BatchForm)
        declared = await operations.declare_batch(conn, actor, path_id(request, "product_id"), form)
    return JSONResponse(_batch_file_json(request, declared), status_code=201)


async def list_batches(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        product_id = path_id(request, "product_id")
        query = validate_form(BatchListQuery, _query(request, BatchListQuery))
        page = await operations.batches_of(conn, actor, product_id, query)
    listed: BatchList = {"batches": [], "next_before": page.next_before}
    if page.code is not None:
        listed["batches"] = [
            _batch_json(
                request, b.batch, page.product.id, page.product.enterprise_id, page.code,
                b.open_recall,
            )
            for b in page.batches
        ]  # fmt: skip
    return JSONResponse(listed)


async def get_batch(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.batch(conn, actor, path_id(request, "batch_id"))
    return JSONResponse(_batch_file_json(request, found))


async def issue_items(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, ItemIssueForm)
        issued = await operations.issue_items(conn, actor, path_id(request, "batch_id"), form)
    return JSONResponse(_issue_json(issued.issue), status_code=201)


async def serials_csv(request: Request) -> Response:
    service = resources(request)
    async with service.pool.acquire() as conn:
        actor = await signed_in(request, conn)
        issued = await operations.item_issue(conn, actor, path_id(request, "issue_id"))
    media_type = "text/csv; charset=utf-8"
    headers = {"Content-Disposition": f'attachment; filename="serials-{issued.issue.id}.csv"'}
    if request.method == "HEAD":  # the headers only: no reading a million serials for nothing
        return Response(media_type=media_type, headers=headers)
    batch_url = _batch_url(request, issued.code, issued.batch.batch_no)
    return StreamingResponse(
        _csv_chunks(service, issued.issue, batch_url), media_type=media_type, headers=headers
    )


async def _csv_chunks(
    service: Resources, issue: ItemIssueRow, batch_url: str
) -> AsyncIterator[bytes]:
    """The CSV a page of serials at a time, on a connection of its own held while it is
    sent (the one that checked the caller went back to the pool before the first byte)."""
    yield prints.CSV_HEADER
    async with service.pool.acquire() as conn:
        async for rows in operations.issue_serial_pages(conn, issue):
            yield prints.serial_lines(rows, batch_url)


async def sheet_pdf(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        issue_id = path_id(request, "issue_id")
        query = validate_form(SheetQuery, _query(request, SheetQuery))
        issued, rows = await operations.sheet_serials(conn, actor, issue_id, query)
    batch_url = _batch_url(request, issued.code, issued.batch.batch_no)
    # Seconds of drawing for a full sheet: off the event loop, which serves everyone else.
    title = f"Batch {issued.batch.batch_no} / issue {issue_id} ({issued.issue.kind})"
    body = await run_in_threadpool(prints.serials_sheet, rows, batch_url, title)
    first, last = rows[0][0], rows[-1][0]
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": (f'attachment; filename="serials-{issue_id}-{first}-{last}.pdf"')
        },
    )


def _item_json(request: Request, found: operations.ItemFile) -> ItemView:
    item = found.item
    batch_url = _batch_url(request, found.code, found.batch.batch_no)
    return {
        "serial": item.serial,
        "kind": cast(ItemKind, item.kind),
        "state": ItemState(item.state),
        "state_at": None if item.state_at is None else item.state_at.isoformat(),
        "parent": item.parent,
        "holder": item.holder,
        "alerted_at": None if item.alerted_at is None else item.alerted_at.isoformat(),
        "seq": item.seq,
        "issue_id": item.issue_id,
        "batch_id": item.batch_id,
        "batch_no": found.batch.batch_no,
        "product_id": found.product.id,
        "enterprise_id": found.product.enterprise_id,
        "code_id": group_code_id(found.batch.code_id),
        "scan_url": prints.item_url(batch_url, item.serial),
        "qr": f"{PREFIX}/items/{item.serial}/qr.svg",
    }


async def get_item(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.item(conn, actor, request.path_params["serial"])
    return JSONResponse(_item_json(request, found))


async def item_qr_svg(request: Request) -> Response:
    return await _item_qr(request, QrFormat.SVG)


async def item_qr_png(request: Request) -> Response:
    return await _item_qr(request, QrFormat.PNG)


async def _item_qr(request: Request, fmt: QrFormat) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.item(conn, actor, request.path_params["serial"])
    batch_url = _batch_url(request, found.code, found.batch.batch_no)
    url = prints.item_url(batch_url, found.item.serial)
    body = render_qr(url, found.item.serial, QrOptions(fmt, module_size=6))
    return Response(body, media_type=MEDIA_TYPES[fmt])


async def start_recall(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, RecallForm)
        recall = await operations.start_recall(conn, actor, path_id(request, "batch_id"), form)
    return JSONResponse(_recall_json(recall), status_code=201)


async def end_recall(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, RecallEndForm)
        recall = await operations.end_recall(conn, actor, path_id(request, "batch_id"), form)
    return JSONResponse(_recall_json(recall))


def _batch_links(batch_id: str) -> tuple[Link, ...]:
    return (
        Link("GetBatch", "GET", "/batches/{batch_id}", {"batch_id": batch_id}),
        Link("IssueItems", "POST", "/batches/{batch_id}/items", {"batch_id": batch_id}),
        Link("RecallBatch", "POST", "/batches/{batch_id}/recall", {"batch_id": batch_id}),
    )


_WRITE = (422,)
_SHEET_QUERY = (
    QueryParameter("from", {"type": "integer", "minimum": 1, "maximum": MAX_ITEMS_PER_ISSUE,
                            "default": 1},
                   "the `seq` of the first serial on the sheet (at most the issue's count)"),
    QueryParameter("count", {"type": "integer", "minimum": 1, "maximum": MAX_SHEET_ITEMS},
                   f"how many serials (at most {MAX_SHEET_ITEMS}); by default up to that many, "
                   "to the issue's last"),
)  # fmt: skip
_BATCH_PAGE_QUERY = (
    QueryParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_BATCH_PAGE,
                             "default": DEFAULT_BATCH_PAGE}, "at most this many batches"),
    QueryParameter("before", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                   "only batches older than this one (the `next_before` read)"),
)  # fmt: skip
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/products/{product_id}/batches", declare_batch,
             "Declare a batch of an approved product (its enterprise; 409 before the product "
             "has a code, or for a batch number declared already)", BatchForm,
             (201, 403, 404, 409, *_WRITE), BatchView, links=_batch_links("$response.body#/id")),
    Endpoint("GET", "/products/{product_id}/batches", list_batches,
             "The product's batches, the newest first, each with its open recall", None,
             (200, 404, 422), BatchList, query=_BATCH_PAGE_QUERY,
             links=(Link("GetFirstBatch", "GET", "/batches/{batch_id}",
                         {"batch_id": "$response.body#/batches/0/id"}),)),
    Endpoint("GET", "/batches/{batch_id}", get_batch,
             "A batch with its open recall, every recall and its issues of serials", None,
             (200, 404), BatchView, links=_batch_links("$response.body#/id")),
    Endpoint("POST", "/batches/{batch_id}/items", issue_items,
             f"Issue serials for the batch's items, cases or pallets (up to "
             f"{MAX_ITEMS_PER_ISSUE:,} a request; its enterprise; 409 while it is recalled)",
             ItemIssueForm, (201, 403, 404, 409, *_WRITE), ItemIssueView),
    Endpoint("GET", "/item-issues/{issue_id}/serials.csv", serials_csv,
             "The issue's serials as CSV (seq,serial,url), streamed, for the packaging line "
             "(its enterprise only)", None, (200, 403, 404), media_type="text/csv"),
    Endpoint("GET", "/item-issues/{issue_id}/sheet.pdf", sheet_pdf,
             f"An A4 print sheet of the issue's QR codes, each with its serial under it, "
             f"at most {MAX_SHEET_ITEMS} a sheet (its enterprise only)", None,
             (200, 403, 404, 422), media_type="application/pdf", query=_SHEET_QUERY),
    Endpoint("GET", "/items/{serial}", get_item,
             "An item by its serial: state, kind, parent, batch and code (its enterprise, the "
             "regulators in scope, and an enterprise that holds it; a serial whose check "
             "character does not match is absent like an unknown one)", None, (200, 404),
             ItemView),
    Endpoint("GET", "/items/{serial}/qr.svg", item_qr_svg,
             "The item's QR code as SVG, its serial under it", None, (200, 404),
             media_type="image/svg+xml"),
    Endpoint("GET", "/items/{serial}/qr.png", item_qr_png,
             "The item's QR code as PNG, its serial under it", None, (200, 404),
             media_type="image/png"),
    Endpoint("POST", "/batches/{batch_id}/recall", start_recall,
             "Recall the batch: scans of it and its items show a red banner (its enterprise, "
             "or an admin or reviewer above it; 409 while a recall is open)", RecallForm,
             (201, 403, 404, 409, *_WRITE), RecallView,
             links=(Link("EndRecall", "POST", "/batches/{batch_id}/recall/end",
                         {"batch_id": "$response.body#/batch_id"}),)),
    Endpoint("POST", "/batches/{batch_id}/recall/end", end_recall,
             "End the batch's open recall (those who may start one; a recall a regulator "
             "started is ended by a regulator; 409 when none is open)", RecallEndForm,
             (200, 403, 404, 409, *_WRITE), RecallView),
)  # fmt: skip
