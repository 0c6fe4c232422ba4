"""What scans show of batches and items: from the rows PostgreSQL answers, and as the
JSON variant carries them. Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from codesvc import storage
from codesvc.item_states import STATE_NAMES
from codesvc.lifecycle import state_time
from public_site.pages import Lang
from public_site.scan_pages import BatchFacts, ItemFacts, PackageFacts, RecallFacts, ScanLifecycle


@dataclass(frozen=True, slots=True)
class ItemScan:
    """What a scan shows of an item, and the code and batch it was issued for."""

    serial: str
    code_id: str
    batch_no: str
    kind: str  # item | case | pallet
    state: str  # codesvc.item_states.ItemState's value
    state_on: str | None  # ISO day
    parent: str | None
    alerted_on: str | None  # ISO day of the first alert about it


def batch_facts(row: storage.BatchScanRow) -> BatchFacts:
    """The batch as its scan pages show it; the recall dated by the day it started."""
    batch, recall = row.batch, row.recall
    packaging = batch.packaging if isinstance(batch.packaging, dict) else {}
    return BatchFacts(
        batch_no=batch.batch_no,
        produced_on=batch.produced_on.isoformat(),
        use_by=batch.use_by.isoformat(),
        use_by_kind=batch.use_by_kind,
        quantity=_plain_number(batch.quantity),
        unit=batch.unit,
        inner=package_facts(packaging.get("inner")),
        outer=package_facts(packaging.get("outer")),
        site=batch.site,
        recall=None
        if recall is None
        else RecallFacts(
            reason=recall.reason,
            instructions=recall.instructions,
            since=recall.started_at.date().isoformat(),
        ),
    )


def item_scan(row: storage.ItemScanRow) -> ItemScan:
    """The item, dated by day as scan pages print dates (`lifecycle.state_time`)."""
    item = row.item
    return ItemScan(
        serial=item.serial,
        code_id=row.code_id,
        batch_no=row.batch_no,
        kind=item.kind,
        state=item.state,
        state_on=state_time(item.state_at),
        parent=item.parent,
        alerted_on=state_time(item.alerted_at),
    )


def batch_document(facts: BatchFacts) -> dict[str, Any]:
    """The batch as the JSON variant (and Redis) carries it."""

    def package(value: PackageFacts | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {"kind": value.kind, "capacity": value.capacity, "unit": value.unit}

    recall = facts.recall
    return {
        "batch_no": facts.batch_no,
        "produced_on": facts.produced_on,
        "use_by": facts.use_by,
        "use_by_kind": facts.use_by_kind,
        "quantity": facts.quantity,
        "unit": facts.unit,
        "packaging": {"inner": package(facts.inner), "outer": package(facts.outer)},
        "site": facts.site,
        "recall": None
        if recall is None
        else {
            "reason": recall.reason,
            "instructions": recall.instructions,
            "since": recall.since,
        },
    }


def item_document(item: ItemScan | ItemFacts) -> dict[str, Any]:
    """The item as the JSON variant carries it (the code and batch are the path's)."""
    return {
        "serial": item.serial,
        "kind": item.kind,
        "state": item.state,
        "state_on": item.state_on,
        "parent": item.parent,
        "alerted_on": item.alerted_on,
    }


_STATE_NAMES: dict[str, dict[str, str]] = {
    state.value: names for state, names in STATE_NAMES.items()
}


def item_facts(item: ItemScan, lang: Lang) -> ItemFacts:
    """The item as its scan page shows it, the state named in the reader's language."""
    return ItemFacts(
        serial=item.serial,
        kind=item.kind,
        state=item.state,
        state_name=_STATE_NAMES.get(item.state, {}).get(lang, item.state),
        state_on=item.state_on,
        parent=item.parent,
        alerted_on=item.alerted_on,
    )


def lifecycle_json(batch_no: str | None, serial: str | None, lifecycle: ScanLifecycle) -> bytes:
    """`,"batch":{...}` (and `,"item":{...}`): what the record's JSON gains for a scan of a
    batch or item (encoded per request: such scans are the fewer)."""
    fields: dict[str, object] = {"batch": _batch_json(batch_no, lifecycle.batch, lifecycle.checked)}
    if serial is not None:
        item = lifecycle.item
        fields["item"] = (
            {"serial": serial, "status": "unchecked"}
            if item is None
            else {"status": "genuine", **item_document(item)}
        )
    document = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return b"," + document[1:-1]


def _batch_json(batch_no: str | None, batch: BatchFacts | None, checked: bool) -> object:
    if batch is not None:
        return {"status": "declared", **batch_document(batch)}
    return {"batch_no": batch_no, "status": "not_declared" if checked else "unchecked"}


def package_facts(value: object) -> PackageFacts | None:
    """One level of a batch's packaging as declared (`{"kind", "capacity", "unit"}`)."""
    if not isinstance(value, dict):
        return None
    return PackageFacts(
        kind=_text(value.get("kind")),
        capacity=_text(value.get("capacity")),
        unit=_text(value.get("unit")),
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float | Decimal):
        return _plain_number(Decimal(str(value)))
    return str(value)


def _plain_number(value: Decimal) -> str:
    """200.000 → "200", 12.500 → "12.5" (never "2E+2")."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
