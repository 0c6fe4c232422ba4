"""A package (an item, case or pallet) as its scan page shows anyone holding it, and what is
packed in it: the facts the console's item and receipt pages show beside what only some
may read (the timeline).

Read from codesvc's records (the code, its published record, the item's row, the batch's
open recall) as the resolver reads them; no actor, since a scan shows the same to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from codesvc import storage as codes_db
from codesvc.codes import Code, scan_url
from codesvc.item_states import END_STATES, ItemState
from codesvc.storage import Connection, RecallRow

# A case holds items, a pallet cases (and items): two levels, as events move them.
_CONTENT_LEVELS = 2


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """A package (an item, case or pallet) as its scan page shows it, and what is in it."""

    serial: str
    kind: str  # item | case | pallet
    state: ItemState
    state_at: datetime | None
    parent: str | None  # the case or pallet it is packed in
    alerted_at: datetime | None
    code_id: str
    batch_no: str
    scan_url: str  # the URL its label carries
    record: dict[str, Any]  # the code's published record (codesvc.records' JSON)
    recall: RecallRow | None  # the batch's open recall
    packed: int  # packages inside it, at every level (received with it)
    packed_cases: int  # of which cases (on a pallet)

    @property
    def ended(self) -> bool:
        return self.state in END_STATES

    def transport(self) -> dict[str, Any]:
        transport: dict[str, Any] = self.record.get("transport") or {}
        return transport


async def package_facts(conn: Connection, serial: str, base_url: str) -> PackageFacts | None:
    """What anyone scanning the package reads of it; None for a serial never issued."""
    found = await codes_db.fetch_item_scan(conn, serial)
    if found is None:
        return None
    code = await codes_db.fetch_code(conn, found.code_id)
    published = await codes_db.fetch_published_record(conn, found.code_id)
    if code is None or published is None:
        return None
    item = found.item
    recalls = await codes_db.fetch_open_recalls(conn, [item.batch_id])
    packed, cases = await _packed_in(conn, item.serial, item.kind)
    return PackageFacts(
        serial=item.serial,
        kind=item.kind,
        state=ItemState(item.state),
        state_at=item.state_at,
        parent=item.parent,
        alerted_at=item.alerted_at,
        code_id=found.code_id,
        batch_no=found.batch_no,
        scan_url=scan_url(
            base_url, Code(code.code_id, code.key_id, code.signature), found.batch_no, serial
        ),
        record=published.record,
        recall=recalls.get(item.batch_id),
        packed=packed,
        packed_cases=cases,
    )


async def _packed_in(conn: Connection, serial: str, kind: str) -> tuple[int, int]:
    """(packages, cases) packed in the serial, a pallet's cases and their items."""
    if kind == "item":
        return 0, 0
    packed = cases = 0
    parents = [serial]
    for _level in range(_CONTENT_LEVELS):
        found = await codes_db.fetch_children(conn, parents)
        inside = [child for children in found.values() for child in children]
        if not inside:
            break
        kinds = await codes_db.fetch_item_scans(conn, inside)
        parents = [s for s in inside if s in kinds and kinds[s].item.kind != "item"]
        packed += len(inside)
        cases += len(parents)
    return packed, cases
