"""Operations of batches (一企一批一码), their item serials (一企一物一码) and recalls.

An enterprise declares batches of its approved products (a product has a code from its
first approval on) and has serials issued for their packages; it prints them from the CSV
or PDF sheets of each issue, which only it reads (a batch's serials are what a copier
would need). Regulators read the batches and items of enterprises in their jurisdiction;
an enterprise that holds an item (it received it) reads that item too.

A recall is started and ended by the enterprise, or by an admin or reviewer of a unit at
or above the enterprise's (viewers read only). A recall a regulator started is ended by a
regulator: the enterprise does not lift what its regulator ordered.

Scope answers like absence everywhere (404); a caller in scope whose role may not do
something is told 403. The records themselves are codesvc's (`codesvc.lifecycle`), which
also queues what scans have cached of them for invalidation in the same transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from codesvc import lifecycle
from codesvc import storage as codes_db
from codesvc.codes import Code
from codesvc.errors import CodeStateError
from codesvc.issuance import CodeStatus, find_code
from codesvc.serials import SerialError, parse_serial
from codesvc.storage import BatchRow, Connection, ItemIssueRow, ItemRow, RecallRow
from registry_api.accounts import storage as accounts_db
from registry_api.accounts.operations import Actor, audit
from registry_api.accounts.rules import Role
from registry_api.audit import changed_fields
from registry_api.enterprises import operations as enterprises
from registry_api.errors import Conflict, Forbidden, NotFound, ValidationFailed
from registry_api.lifecycle.batch_forms import (
    MAX_SHEET_ITEMS,
    BatchForm,
    BatchListQuery,
    ItemIssueForm,
    PackageForm,
    RecallEndForm,
    RecallForm,
    SheetQuery,
)
from registry_api.products import operations as products
from registry_api.products import storage as products_db
from registry_api.products.storage import Product

SERIALS_PAGE = 10_000  # serials read at a time for a CSV: its memory stays flat


@dataclass(frozen=True, slots=True)
class BatchFile:
    """A batch with what it belongs to, its recalls (the newest first) and item issues."""

    batch: BatchRow
    product: Product
    code: Code
    recalls: list[RecallRow]
    issues: list[ItemIssueRow]

    @property
    def open_recall(self) -> RecallRow | None:
        return next((r for r in self.recalls if r.ended_at is None), None)


@dataclass(frozen=True, slots=True)
class ListedBatch:
    batch: BatchRow
    open_recall: RecallRow | None


@dataclass(frozen=True, slots=True)
class BatchPage:
    product: Product
    code: Code | None  # None until the product's first approval: no batches yet
    batches: list[ListedBatch]  # the newest first
    next_before: int | None  # `before` of the next (older) page, when there is one


@dataclass(frozen=True, slots=True)
class IssueFile:
    issue: ItemIssueRow
    batch: BatchRow
    product: Product
    code: Code


@dataclass(frozen=True, slots=True)
class ItemFile:
    item: ItemRow
    batch: BatchRow
    product: Product
    code: Code


def account_name(actor: Actor) -> str:
    """How codesvc's records name the account that acted (`declared_by`, `started_by`)."""
    return f"account/{actor.account.id}"


def account_id_of(name: str | None) -> int | None:
    """The account a codesvc record names (`account_name`); None for anything else."""
    if name is None or not name.startswith("account/"):
        return None
    digits = name.removeprefix("account/")
    return int(digits) if digits.isdigit() else None


def _owner_only(actor: Actor, product: Product, what: str) -> None:
    if actor.account.kind != "enterprise" or actor.account.enterprise_id != product.enterprise_id:
        raise Forbidden(f"only the product's enterprise {what}; regulators read them")


async def declare_batch(
    conn: Connection, actor: Actor, product_id: int, form: BatchForm
) -> BatchFile:
    """The batch, declared for the product's code: 409 when the product has no code yet (it
    gets one on its first approval), its code is revoked, or the batch number is taken."""
    async with conn.transaction():
        product = await products.product(conn, actor, product_id)
        _owner_only(actor, product, "declares its batches")
        enterprise = await enterprises.enterprise(conn, actor, product.enterprise_id)
        if enterprise.status != "active":
            raise Conflict("a deregistered enterprise declares no batches")
        if product.code_id is None:
            raise Conflict(
                "the product has no code yet: it gets one when its first revision is "
                "approved, and batches are declared under it"
            )
        issued = await find_code(conn, product.code_id)
        if issued.status is CodeStatus.REVOKED:
            raise Conflict("the product's code is revoked: no batches are declared under it")
        fields = form.model_dump(mode="json")
        try:
            batch = await lifecycle.declare_batch(
                conn,
                code_id=product.code_id,
                batch_no=form.batch_no,
                produced_on=form.produced_on,
                use_by=form.use_by,
                use_by_kind=form.use_by_kind,
                quantity=form.quantity,
                unit=form.unit,
                packaging=_packaging(form),
                site=form.site,
                declared_by=account_name(actor),
            )
        except CodeStateError:
            raise Conflict(
                f"batch {form.batch_no} is declared already for this product",
                {"batch_no": "is declared already for this product"},
            ) from None
        await audit(
            conn, actor, "batch.declare", "batch", str(batch.id),
            changed_fields(None, {"product_id": product.id, **fields}),
        )  # fmt: skip
    return BatchFile(batch, product, issued.code, [], [])


def _packaging(form: BatchForm) -> dict[str, object]:
    """The packaging as stored (JSON): capacities as plain numbers, 25 rather than 25.0."""

    def package(level: PackageForm | None) -> dict[str, object] | None:
        if level is None:
            return None
        capacity = level.capacity
        number = int(capacity) if capacity == capacity.to_integral_value() else float(capacity)
        return {"kind": level.kind, "capacity": number, "unit": level.unit}

    return {"inner": package(form.packaging.inner), "outer": package(form.packaging.outer)}


async def batches_of(
    conn: Connection, actor: Actor, product_id: int, query: BatchListQuery
) -> BatchPage:
    """The product's batches, the newest first, a page of `query.limit`."""
    product = await products.product(conn, actor, product_id)
    if product.code_id is None:
        return BatchPage(product, None, [], None)
    code = (await find_code(conn, product.code_id)).code
    found = await codes_db.fetch_batches(
        conn, product.code_id, limit=query.limit + 1, before=query.before
    )
    page = found[: query.limit]
    recalls = await codes_db.fetch_open_recalls(conn, [b.id for b in page])
    next_before = page[-1].id if len(found) > query.limit else None
    return BatchPage(product, code, [ListedBatch(b, recalls.get(b.id)) for b in page], next_before)


async def _batch_in_scope(
    conn: Connection, actor: Actor, batch_id: int
) -> tuple[BatchRow, Product, Code]:
    batch = await codes_db.fetch_batch_by_id(conn, batch_id)
    product = (
        None if batch is None else await products_db.fetch_product_by_code(conn, batch.code_id)
    )
    if batch is None or product is None:
        raise NotFound(f"no batch {batch_id}")
    try:
        await enterprises.enterprise(conn, actor, product.enterprise_id)
    except NotFound:
        raise NotFound(f"no batch {batch_id}") from None
    return batch, product, (await find_code(conn, batch.code_id)).code


async def batch(conn: Connection, actor: Actor, batch_id: int) -> BatchFile:
    """A batch the actor may see, with its recalls and item issues."""
    found, product, code = await _batch_in_scope(conn, actor, batch_id)
    recalls = await codes_db.fetch_recalls(conn, batch_id)
    return BatchFile(
        found, product, code, recalls, await codes_db.fetch_item_issues(conn, batch_id)
    )


async def issue_items(
    conn: Connection, actor: Actor, batch_id: int, form: ItemIssueForm
) -> IssueFile:
    """`form.count` fresh serials for the batch's packages (the owner only; 409 while the
    batch is under a recall: no new labels for it)."""
    async with conn.transaction():
        found, product, code = await _batch_in_scope(conn, actor, batch_id)
        _owner_only(actor, product, "has serials issued for its batches")
        recalls = await codes_db.fetch_open_recalls(conn, [batch_id])
        if batch_id in recalls:
            raise Conflict(f"batch {found.batch_no} is under a recall: no new serials for it")
        issue = await lifecycle.issue_items(
            conn, found, kind=form.kind, count=form.count, issued_by=account_name(actor)
        )
        await audit(
            conn, actor, "batch.issue_items", "batch", str(batch_id),
            changed_fields(None, {"issue_id": issue.id, "kind": issue.kind, "count": issue.count}),
        )  # fmt: skip
    return IssueFile(issue, found, product, code)


async def item_issue(conn: Connection, actor: Actor, issue_id: int) -> IssueFile:
    """An issue of serials, for printing: its enterprise's only (regulators in scope 403)."""
    issue = await codes_db.fetch_item_issue(conn, issue_id)
    if issue is None:
        raise NotFound(f"no item issue {issue_id}")
    try:
        found, product, code = await _batch_in_scope(conn, actor, issue.batch_id)
    except NotFound:
        raise NotFound(f"no item issue {issue_id}") from None
    _owner_only(actor, product, "prints its serials")
    return IssueFile(issue, found, product, code)


async def issue_serial_pages(
    conn: Connection, issue: ItemIssueRow, page: int = SERIALS_PAGE
) -> AsyncIterator[list[tuple[int, str]]]:
    """The issue's (seq, serial) in seq order, `page` at a time (for an issue `item_issue`
    let the actor read)."""
    after = 0
    while True:
        rows = await codes_db.fetch_issue_serials(conn, issue.id, after_seq=after, limit=page)
        if rows:
            yield rows
        if len(rows) < page:
            return
        after = rows[-1][0]


async def sheet_serials(
    conn: Connection, actor: Actor, issue_id: int, query: SheetQuery
) -> tuple[IssueFile, list[tuple[int, str]]]:
    """The serials of one print sheet: from `query.first` on, `query.count` of them (at
    most `MAX_SHEET_ITEMS`, and no further than the issue's last)."""
    issued = await item_issue(conn, actor, issue_id)
    total = issued.issue.count
    if query.first > total:
        raise ValidationFailed(
            f"the issue has {total} serial(s)",
            {"from": f"must be at most {total}, the issue's last serial"},
        )
    count = query.count or min(MAX_SHEET_ITEMS, total - query.first + 1)
    rows = await codes_db.fetch_issue_serials(
        conn, issue_id, after_seq=query.first - 1, limit=count
    )
    return issued, rows


async def item(conn: Connection, actor: Actor, serial_text: str) -> ItemFile:
    """An item by its serial (any case, as typed): for the enterprise that issued it, the
    regulators in its scope, and an enterprise that holds it. A serial whose check
    character does not match is absent like an unknown one, so serials cannot be probed."""
    absent = NotFound(f"no item {serial_text[:40]!r}")
    try:
        serial = parse_serial(serial_text)
    except SerialError:
        raise absent from None
    found = await codes_db.fetch_item(conn, serial)
    batch_row = None if found is None else await codes_db.fetch_batch_by_id(conn, found.batch_id)
    product = (
        None
        if batch_row is None
        else await products_db.fetch_product_by_code(conn, batch_row.code_id)
    )
    if found is None or batch_row is None or product is None:
        raise absent
    holds = actor.account.kind == "enterprise" and found.holder == actor.account.enterprise_id
    if not holds:
        try:
            await enterprises.enterprise(conn, actor, product.enterprise_id)
        except NotFound:
            raise absent from None
    return ItemFile(found, batch_row, product, (await find_code(conn, batch_row.code_id)).code)


async def _recaller(conn: Connection, actor: Actor, batch_id: int) -> tuple[BatchRow, Product]:
    """The batch, for one who may start or end its recall (404 out of scope, 403 viewers)."""
    found, product, _ = await _batch_in_scope(conn, actor, batch_id)
    if actor.account.kind != "enterprise" and actor.account.role not in (
        Role.ADMIN,
        Role.REVIEWER,
    ):
        raise Forbidden("admins and reviewers recall batches; viewers read them")
    return found, product


async def start_recall(
    conn: Connection, actor: Actor, batch_id: int, form: RecallForm
) -> RecallRow:
    """Recall the batch: every scan of it and its items shows a red banner from the relay's
    next run (within a second). 409 while a recall is open."""
    async with conn.transaction():
        found, _ = await _recaller(conn, actor, batch_id)
        try:
            recall = await lifecycle.start_recall(
                conn, found, reason=form.reason, instructions=form.instructions,
                started_by=account_name(actor),
            )  # fmt: skip
        except CodeStateError:
            raise Conflict(f"batch {found.batch_no} is under a recall already") from None
        await audit(
            conn, actor, "batch.recall", "batch", str(batch_id),
            changed_fields(None, {"recall_id": recall.id, "reason": recall.reason,
                                  "instructions": recall.instructions}),
        )  # fmt: skip
    return recall


async def end_recall(
    conn: Connection, actor: Actor, batch_id: int, form: RecallEndForm
) -> RecallRow:
    """End the batch's open recall (409 when none is open; 403 for the enterprise when a
    regulator started it)."""
    async with conn.transaction():
        found, _ = await _recaller(conn, actor, batch_id)
        open_recall = (await codes_db.fetch_open_recalls(conn, [batch_id])).get(batch_id)
        if open_recall is None:
            raise Conflict(f"batch {found.batch_no} is not under a recall")
        if actor.account.kind == "enterprise" and await _started_by_regulator(conn, open_recall):
            raise Forbidden("a regulator recalled this batch: a regulator ends the recall")
        try:
            recall = await lifecycle.end_recall(
                conn, found, ended_by=account_name(actor), note=form.note
            )
        except CodeStateError:  # ended by someone else since it was read
            raise Conflict(f"batch {found.batch_no} is not under a recall") from None
        await audit(
            conn, actor, "batch.recall_end", "batch", str(batch_id),
            changed_fields({"recall": "open"}, {"recall": "ended", "recall_id": recall.id,
                                                "note": recall.end_note}),
        )  # fmt: skip
    return recall


async def _started_by_regulator(conn: Connection, recall: RecallRow) -> bool:
    account_id = account_id_of(recall.started_by)
    starter = None if account_id is None else await accounts_db.fetch_account(conn, account_id)
    return starter is not None and starter.kind == "regulator"
