"""The console's downloads of a batch's serials: the CSV the packaging line prints from
(streamed) and A4 print sheets of their QR codes, as `/api/v1/item-issues/{id}/serials.csv`
and `.../sheet.pdf` give them: the same operations (`item_issue`, `issue_serial_pages`,
`sheet_serials`, which let only the batch's enterprise print) and the same prints.

They hang under the batch (`/console/batches/{id}/serials.csv?issue=`): the issue is asked
by `?issue=`, the batch's newest when none is named, and must be the batch's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from codesvc.codes import scan_url
from codesvc.storage import Connection, ItemIssueRow
from console.forms import checked
from console.lifecycle import public_base_url
from console.navigation import connection
from console.rendering import PREFIX
from console.sessions import signed_in
from registry_api.accounts.operations import Actor
from registry_api.errors import NotFound, ValidationFailed
from registry_api.lifecycle import batches as operations
from registry_api.lifecycle import prints
from registry_api.lifecycle.batch_forms import MAX_SHEET_ITEMS, SheetQuery
from registry_api.requests import path_id

SHEET_LINKS = 10  # links to sheets the batch page lists per issue; a form asks for the rest


def sheet_starts(count: int) -> tuple[list[tuple[int, int]], bool]:
    """(first, last) seq of an issue's first `SHEET_LINKS` sheets of `MAX_SHEET_ITEMS`, and
    whether there are more."""
    firsts = range(1, count + 1, MAX_SHEET_ITEMS)
    shown = [(first, min(first + MAX_SHEET_ITEMS - 1, count)) for first in firsts[:SHEET_LINKS]]
    return shown, len(firsts) > SHEET_LINKS


async def _issue_asked(
    request: Request, conn: Connection, actor: Actor, batch_id: int
) -> operations.IssueFile:
    """The issue `?issue=` names (the batch's newest by default), for one who prints it:
    the 404 page outside scope or when it is another batch's, 403 for a regulator."""
    raw = request.query_params.get("issue")
    if raw is None:
        found = await operations.batch(conn, actor, batch_id)
        if not found.issues:
            raise NotFound(f"no serials issued for batch {batch_id}")
        issue_id = found.issues[-1].id
    elif raw.isascii() and raw.isdigit() and len(raw) <= 18:
        issue_id = int(raw)
    else:
        raise NotFound(f"no item issue {raw[:40]}")
    issued = await operations.item_issue(conn, actor, issue_id)
    if issued.batch.id != batch_id:
        raise NotFound(f"no item issue {issue_id} of batch {batch_id}")
    return issued


def _batch_url(request: Request, issued: operations.IssueFile) -> str:
    return scan_url(public_base_url(request), issued.code, issued.batch.batch_no)


async def serials_csv(request: Request) -> Response:
    """The issue's serials as CSV (seq,serial,url), streamed."""
    batch_id = path_id(request, "batch_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        issued = await _issue_asked(request, conn, actor, batch_id)
    name = f"serials-{issued.batch.batch_no}-{issued.issue.id}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    media_type = "text/csv; charset=utf-8"
    if request.method == "HEAD":  # the headers only: no reading a million serials for nothing
        return Response(media_type=media_type, headers=headers)
    chunks = _csv_chunks(request, issued.issue, _batch_url(request, issued))
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


async def _csv_chunks(
    request: Request, issue: ItemIssueRow, batch_url: str
) -> AsyncIterator[bytes]:
    """The CSV a page of serials at a time, on a connection of its own held while it is
    sent (the one that checked the reader went back to the pool before the first byte)."""
    yield prints.CSV_HEADER
    async with connection(request) as conn:
        async for rows in operations.issue_serial_pages(conn, issue):
            yield prints.serial_lines(rows, batch_url)


async def sheet_pdf(request: Request) -> Response:
    """An A4 PDF of up to `MAX_SHEET_ITEMS` of the issue's QR codes, from `?from=` on."""
    batch_id = path_id(request, "batch_id")
    params = request.query_params
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        issued = await _issue_asked(request, conn, actor, batch_id)  # scope before the query
        try:
            query = checked(
                SheetQuery, {name: params[name] for name in ("from", "count") if params.get(name)}
            )
            _, rows = await operations.sheet_serials(conn, actor, issued.issue.id, query)
        except ValidationFailed as exc:  # a query has no form to show the fields on: say them
            said = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
            raise ValidationFailed(f"{exc.message}: {said}", exc.fields) from None
    batch_no, issue_id = issued.batch.batch_no, issued.issue.id
    title = f"Batch {batch_no} / issue {issue_id} ({issued.issue.kind})"
    # Seconds of drawing for a full sheet: off the event loop, which serves everyone else.
    body = await run_in_threadpool(prints.serials_sheet, rows, _batch_url(request, issued), title)
    name = f"serials-{batch_no}-{issue_id}-{rows[0][0]}-{rows[-1][0]}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


ROUTES = [
    Route(f"{PREFIX}/batches/{{batch_id}}/serials.csv", serials_csv, methods=["GET"]),
    Route(f"{PREFIX}/batches/{{batch_id}}/sheet.pdf", sheet_pdf, methods=["GET"]),
]
