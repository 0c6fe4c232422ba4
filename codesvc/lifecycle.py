"""Batches and items of a code, as the registry changes them: in the caller's transaction,
each change queueing the invalidation of what scans have cached of it (`lifecycle_outbox`,
drained by the relay), so a recall or a new state reaches the next scan.

The registry decides who may do what; this module keeps the records consistent: a batch
number once per code, serials unique, a recall open at most once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from codesvc import storage
from codesvc.errors import CodeStateError
from codesvc.serials import new_serials
from codesvc.storage import BatchRow, Connection, ItemIssueRow, ItemRow, RecallRow

MAX_ITEMS_PER_ISSUE = 1_000_000
ITEM_KINDS = ("item", "case", "pallet")
# A million fresh serials colliding with one stored has odds of about 2**-40 per stored
# million; a second try makes a failure for that reason something nobody will see.
_ISSUE_ATTEMPTS = 3

_ANALYZE_AFTER = 10_000  # serials in one issue that change the table's statistics

BATCH_KEY_PREFIX = "sc:batch:"
ITEM_KEY_PREFIX = "sc:item:"


def batch_key(code_id: str, batch_no: str) -> str:
    """The cache key of what a scan shows of a batch (its record and open recall)."""
    return f"{BATCH_KEY_PREFIX}{code_id}:{batch_no}"


def item_key(serial: str) -> str:
    """The cache key of what a scan shows of an item (its state)."""
    return f"{ITEM_KEY_PREFIX}{serial}"


async def declare_batch(
    conn: Connection,
    *,
    code_id: str,
    batch_no: str,
    produced_on: date,
    use_by: date,
    use_by_kind: str,
    quantity: Decimal,
    unit: str,
    packaging: dict[str, Any],
    site: str | None,
    declared_by: str,
) -> BatchRow:
    """The batch, declared; `CodeStateError` when the code has a batch of that number."""
    batch = await storage.insert_batch(
        conn,
        code_id=code_id,
        batch_no=batch_no,
        produced_on=produced_on,
        use_by=use_by,
        use_by_kind=use_by_kind,
        quantity=quantity,
        unit=unit,
        packaging=packaging,
        site=site,
        declared_by=declared_by,
    )
    if batch is None:
        raise CodeStateError(f"batch {batch_no} is declared already for this code")
    # A scan before the declaration cached "not declared by the manufacturer".
    await storage.queue_lifecycle_invalidation(conn, [batch_key(code_id, batch_no)])
    return batch


async def issue_items(
    conn: Connection, batch: BatchRow, *, kind: str, count: int, issued_by: str
) -> ItemIssueRow:
    """`count` fresh serials of `kind` for the batch, stored (the caller's transaction
    must be open: a failed COPY is retried inside a savepoint)."""
    if kind not in ITEM_KINDS:
        raise ValueError(f"kind must be one of {', '.join(ITEM_KINDS)}")
    if not 1 <= count <= MAX_ITEMS_PER_ISSUE:
        raise ValueError(f"count must be 1 to {MAX_ITEMS_PER_ISSUE:,}")
    issue = await storage.insert_item_issue(
        conn, batch.id, kind=kind, count=count, issued_by=issued_by
    )
    for attempt in range(_ISSUE_ATTEMPTS):
        try:
            async with conn.transaction():  # a savepoint: a collision undoes only the COPY
                await storage.copy_items(conn, issue, new_serials(count))
            if count >= _ANALYZE_AFTER:
                # The planner must know the table grew before the events of these items
                # arrive: with the statistics of a small table it updates them by scanning it.
                await storage.analyze_items(conn)
            return issue
        except asyncpg.UniqueViolationError:
            if attempt == _ISSUE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def start_recall(
    conn: Connection, batch: BatchRow, *, reason: str, instructions: str, started_by: str
) -> RecallRow:
    recall = await storage.start_recall(
        conn, batch.id, reason=reason, instructions=instructions, started_by=started_by
    )
    if recall is None:
        raise CodeStateError(f"batch {batch.batch_no} is under a recall already")
    await storage.queue_lifecycle_invalidation(conn, [batch_key(batch.code_id, batch.batch_no)])
    return recall


async def end_recall(
    conn: Connection, batch: BatchRow, *, ended_by: str, note: str | None
) -> RecallRow:
    recall = await storage.end_recall(conn, batch.id, ended_by=ended_by, note=note)
    if recall is None:
        raise CodeStateError(f"batch {batch.batch_no} is not under a recall")
    await storage.queue_lifecycle_invalidation(conn, [batch_key(batch.code_id, batch.batch_no)])
    return recall


async def change_items(
    conn: Connection,
    changes: Sequence[ItemRow],
    *,
    alerted: Sequence[str] = (),
) -> None:
    """Write the items' new states, holders and parents (rows read with
    `storage.fetch_items_for_update` and replaced), date the first alert of those in
    `alerted`, and queue their scans' invalidation."""
    if changes:
        await storage.update_items(
            conn,
            [(i.serial, i.state, i.state_at, i.holder, i.parent) for i in changes],
        )
    if alerted:
        await storage.mark_items_alerted(conn, alerted)
    serials = dict.fromkeys([*(i.serial for i in changes), *alerted])
    await storage.queue_lifecycle_invalidation(conn, [item_key(s) for s in serials])


def state_time(state_at: datetime | None) -> str | None:
    """A state's date as scan pages print it (the day, in ISO form)."""
    return None if state_at is None else state_at.date().isoformat()
