"""Pages of batches (一企一批一码): a product's batches, and the batch's page with its scan
URL, recalls, issues of serials, the forms to issue serials and to start or end a recall,
and the batch's timeline.

Every page and form calls `registry_api.lifecycle.batches`' operations with the signed-in
actor, as `/api/v1/products/{id}/batches` and `/api/v1/batches/{id}/...` do; the timeline
is `lifecycle.operations.batch_timeline`'s. Who may do what is the operations' rule: the
console leaves out the forms a reader may not send, and tells scope and role before it
reads what was typed, so a form sent from outside is the 404 page whatever it holds and a
viewer's recall is the 403 page. Declaring is in `batch_declare.py`, the CSV and print
sheets in `batch_prints.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, get_args

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.codes import Code, scan_url
from codesvc.storage import BatchRow, Connection, ItemIssueRow, RecallRow
from console import batch_prints
from console.batch_declare import (
    PACKAGE_NAMES,
    UNIT_NAMES,
    USE_BY_NAMES,
    batch_field_errors,
    declare,
    declare_form,
    named,
    owner_only,
    owns,
)
from console.batch_prints import sheet_starts
from console.forms import Posted, checked, posted
from console.lifecycle import condition_name, event_time, kind_name, public_base_url, step_name
from console.navigation import connection
from console.rendering import PREFIX, lang_of, local_time, page, see_other, tr
from console.sessions import signed_in
from public_site.pages import Lang
from registry_api.accounts.operations import Actor
from registry_api.accounts.rules import Role
from registry_api.enterprises import operations as enterprises
from registry_api.errors import Conflict, Forbidden, ValidationFailed
from registry_api.lifecycle import batches as operations
from registry_api.lifecycle import operations as events
from registry_api.lifecycle.batch_forms import (
    BatchListQuery,
    ItemIssueForm,
    ItemKind,
    RecallEndForm,
    RecallForm,
)
from registry_api.lifecycle.epcis import StoredEvent
from registry_api.lifecycle.storage import EventFilter
from registry_api.requests import path_id

TIMELINE_PAGE = 100  # events a page of the batch's timeline shows
SHOWN_SERIALS = 3  # serials an event of the timeline names; the rest are counted

# What a page says after one of this module's forms redirected to it (?changed=...).
BATCH_NOTICES: dict[str, tuple[str, str]] = {
    "declared": ("批次已申报。", "Batch declared."),
    "issued": (
        "序列号已生成，可下载 CSV 或打印页。",
        "Serials issued: download the CSV or sheets.",
    ),
    "recalled": (
        "批次已召回：扫码页将在一秒内显示红色召回提示。",
        "Batch recalled: its scans show the red recall banner within a second.",
    ),
    "recall_ended": ("召回已结束。", "Recall ended."),
}


def amount(value: object) -> str:
    """A quantity or capacity as declared: 1600.5, 25 (never 25.0 or 1.6E+3)."""
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    return format(number.normalize(), "f")


def packaging_words(packaging: dict[str, Any], lang: Lang) -> str:
    """ "每桶 200 L；外包装：每箱 4 件" / "drum of 200 L; outer: box of 4 pieces"."""

    def level(package: dict[str, Any]) -> str:
        kind = named(PACKAGE_NAMES, str(package.get("kind")), lang)
        size = f"{amount(package.get('capacity'))} {named(UNIT_NAMES, str(package['unit']), lang)}"
        return tr(lang, f"每{kind} {size}", f"{kind} of {size}")

    words = level(packaging["inner"])
    if packaging.get("outer"):
        words += tr(lang, "；外包装：", "; outer: ") + level(packaging["outer"])
    return words


def recall_view(recall: RecallRow) -> dict[str, Any]:
    return {
        "reason": recall.reason,
        "instructions": recall.instructions,
        "started_at": local_time(recall.started_at),
        "ended_at": local_time(recall.ended_at),
        "end_note": recall.end_note,
        "open": recall.ended_at is None,
    }


def batch_view(
    batch: BatchRow, code: Code, recall: RecallRow | None, base_url: str, lang: Lang
) -> dict[str, Any]:
    """What the pages show of a batch, in the reader's language."""
    return {
        "id": batch.id,
        "batch_no": batch.batch_no,
        "produced_on": batch.produced_on.isoformat(),
        "use_by": batch.use_by.isoformat(),
        "use_by_kind": named(USE_BY_NAMES, batch.use_by_kind, lang),
        "quantity": f"{amount(batch.quantity)} {named(UNIT_NAMES, batch.unit, lang)}",
        "packaging": packaging_words(batch.packaging, lang),
        "site": batch.site,
        "declared_at": local_time(batch.declared_at),
        "scan_url": scan_url(base_url, code, batch.batch_no),
        "recall": None if recall is None else recall_view(recall),
    }


def _may_recall(actor: Actor) -> bool:
    """For one who reads the batch: its enterprise, or a regulator's admin or reviewer."""
    return actor.account.kind == "enterprise" or actor.account.role in (Role.ADMIN, Role.REVIEWER)


def _query_checked(form: type[BatchListQuery], data: dict[str, object]) -> BatchListQuery:
    try:
        return checked(form, data)
    except ValidationFailed as exc:
        said = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
        raise ValidationFailed(f"{exc.message}: {said}", exc.fields) from None


# --- a product's batches ---------------------------------------------------------------------


async def batch_list(request: Request) -> Response:
    """`/console/products/{id}/batches?before=`: the newest first, a page at a time, each
    with its open recall."""
    product_id = path_id(request, "product_id")
    before = request.query_params.get("before")
    query = _query_checked(BatchListQuery, {} if not before else {"before": before})
    lang = lang_of(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.batches_of(conn, actor, product_id, query)
    base = public_base_url(request)
    code = found.code
    rows = [] if code is None else [
        batch_view(b.batch, code, b.open_recall, base, lang) for b in found.batches
    ]  # fmt: skip
    older = None
    if found.next_before is not None:
        older = f"{PREFIX}/products/{product_id}/batches?before={found.next_before}"
    return page(
        request,
        "batch_list.html",
        actor=actor,
        product=found.product,
        rows=rows,
        has_code=code is not None,
        is_owner=owns(actor, found.product),
        paged=query.before is not None,
        older=older,
    )


# --- the batch's page and its forms ------------------------------------------------------------


def _issue_view(issue: ItemIssueRow, lang: Lang) -> dict[str, Any]:
    downloads = f"{PREFIX}/batches/{issue.batch_id}"
    starts, more = sheet_starts(issue.count)
    return {
        "id": issue.id,
        "kind": kind_name(issue.kind, lang),
        "count": issue.count,
        "issued_at": local_time(issue.issued_at),
        "csv": f"{downloads}/serials.csv?issue={issue.id}",
        "sheet": f"{downloads}/sheet.pdf",
        "sheets": [
            (first, last, f"{downloads}/sheet.pdf?issue={issue.id}&from={first}")
            for first, last in starts
        ],
        "more_sheets": more,
    }


def _event_view(event: StoredEvent, maker: tuple[str, str], lang: Lang) -> dict[str, Any]:
    serials = [ref.serial for ref in event.items]
    recorder = event.recorder_uscc
    if recorder == maker[0]:
        recorder = f"{maker[1]} ({recorder})"
    return {
        "time": event_time(event),
        "step": step_name(event.biz_step, lang),
        "step_value": event.biz_step.value,
        "recorder": recorder,
        "condition": condition_name(event.condition, lang),
        "note": event.note,
        "parent": None if event.parent is None else event.parent.serial,
        "serials": serials[:SHOWN_SERIALS],
        "more": max(0, len(serials) - SHOWN_SERIALS),
    }


async def _batch_page(
    request: Request,
    conn: Connection,
    actor: Actor,
    batch_id: int,
    *,
    status: int = 200,
    failed: str | None = None,  # the form shown again: issue | recall | end
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    found = await operations.batch(conn, actor, batch_id)
    after = request.query_params.get("after") if request.method == "GET" else None
    position = None if not after else events.read_page_token(after)
    timeline = await events.batch_timeline(
        conn, actor, found.batch, EventFilter(after=position, limit=TIMELINE_PAGE)
    )
    maker = await enterprises.enterprise(conn, actor, found.product.enterprise_id)
    lang = lang_of(request)
    changed = BATCH_NOTICES.get(request.query_params.get("changed", ""))
    later = None
    if timeline.next_token is not None:
        later = f"{PREFIX}/batches/{batch_id}?after={timeline.next_token}"
    owner = owns(actor, found.product)
    return page(
        request,
        "batch.html",
        status=status,
        actor=actor,
        product=found.product,
        maker=maker.name,
        batch=batch_view(
            found.batch, found.code, found.open_recall, public_base_url(request), lang
        ),
        recalls=[recall_view(r) for r in found.recalls],
        issues=[_issue_view(i, lang) for i in reversed(found.issues)],  # the newest first
        events=[_event_view(e, (maker.uscc, maker.name), lang) for e in timeline.events],
        later=later,
        is_owner=owner,
        may_recall=_may_recall(actor),
        item_kinds=[(kind, kind_name(kind, lang)) for kind in get_args(ItemKind)],
        failed=failed,
        message=message,
        values={"kind": "item"} | (values or {}),
        errors=errors or {},
        **({"notice": tr(lang, *changed)} if changed else {}),
    )


async def batch_page(request: Request) -> Response:
    """`/console/batches/{id}`: the batch, its recalls, its serials and its timeline
    (`?after=` the position the previous page of events ended at)."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        return await _batch_page(request, conn, actor, path_id(request, "batch_id"))


def _typed(form: Posted, *names: str) -> dict[str, object]:
    """The named fields typed in; a blank one left out (so it is "required")."""
    return {name: value for name in names if (value := form.text(name)) is not None}


def _may_issue(actor: Actor, found: operations.BatchFile) -> None:
    owner_only(actor, found.product)


def _may_recall_or_403(actor: Actor, _found: operations.BatchFile) -> None:
    if not _may_recall(actor):
        raise Forbidden("admins and reviewers recall batches; viewers read them")


@dataclass(frozen=True, slots=True)
class _BatchForm:
    """One of the batch page's forms: the operation it calls, who may send it (told before
    what was typed is read), and what its refusals (403, 409) mean, in words."""

    name: str  # the form shown again: issue | recall | end
    body: type[BaseModel]
    fields: tuple[str, ...]
    act: Callable[[Connection, Actor, int, Any], Awaitable[object]]
    may: Callable[[Actor, operations.BatchFile], None]
    refusals: dict[int, tuple[str, str]]
    done: str  # a key of BATCH_NOTICES


async def _send(request: Request, sent: _BatchForm) -> Response:
    form = await posted(request)
    batch_id = path_id(request, "batch_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        sent.may(actor, await operations.batch(conn, actor, batch_id))  # 404 outside scope
        try:
            await sent.act(conn, actor, batch_id, checked(sent.body, _typed(form, *sent.fields)))
        except ValidationFailed as exc:
            errors = batch_field_errors(request, exc.fields)
            return await _batch_page(
                request, conn, actor, batch_id, status=exc.status, failed=sent.name,
                values=form.values(), errors=errors,
            )  # fmt: skip
        except (Conflict, Forbidden) as exc:
            if exc.status not in sent.refusals:
                raise
            words = tr(lang_of(request), *sent.refusals[exc.status])
            return await _batch_page(
                request, conn, actor, batch_id, status=exc.status, failed=sent.name,
                values=form.values(), message=words,
            )  # fmt: skip
    return see_other(request, f"{PREFIX}/batches/{batch_id}?changed={sent.done}")


_ISSUE = _BatchForm(
    "issue", ItemIssueForm, ("count", "kind"), operations.issue_items, _may_issue,
    {409: ("此批次正在召回，召回结束前不再为它生成序列号。",
           "The batch is under a recall: no new serials for it until the recall ends.")},
    "issued",
)  # fmt: skip
_RECALL = _BatchForm(
    "recall", RecallForm, ("reason", "instructions"), operations.start_recall,
    _may_recall_or_403, {409: ("此批次已在召回中。", "The batch is under a recall already.")},
    "recalled",
)  # fmt: skip
_END = _BatchForm(
    "end", RecallEndForm, ("note",), operations.end_recall, _may_recall_or_403,
    {409: ("此批次当前没有召回。", "The batch is not under a recall."),
     # The one role rule the form cannot tell before: an enterprise ending a regulator's.
     403: ("此召回由监管部门发起，须由监管部门结束。",
           "A regulator recalled this batch: a regulator ends the recall.")},
    "recall_ended",
)  # fmt: skip


async def issue_serials(request: Request) -> Response:
    return await _send(request, _ISSUE)


async def start_recall(request: Request) -> Response:
    return await _send(request, _RECALL)


async def end_recall(request: Request) -> Response:
    return await _send(request, _END)


ROUTES = [
    Route(f"{PREFIX}/products/{{product_id}}/batches", batch_list, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/batches/new", declare_form, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/batches/new", declare, methods=["POST"]),
    Route(f"{PREFIX}/batches/{{batch_id}}", batch_page, methods=["GET"]),
    # Issuing before recalling: the authorization matrix sends the forms in this order, and
    # a recalled batch takes no new serials.
    Route(f"{PREFIX}/batches/{{batch_id}}/items", issue_serials, methods=["POST"]),
    Route(f"{PREFIX}/batches/{{batch_id}}/recall", start_recall, methods=["POST"]),
    Route(f"{PREFIX}/batches/{{batch_id}}/recall/end", end_recall, methods=["POST"]),
    *batch_prints.ROUTES,
]
