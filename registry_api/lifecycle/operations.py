"""Operations of the lifecycle's events and alerts: recording EPCIS events (who may record
what, the items' states moved through codesvc in the same transaction), reading timelines
and event queries in scope, and listing alerts.

Recording is all or nothing: every problem of every event is named (an unknown or foreign
serial, an impossible transition, a time before the item's last event), and nothing is
stored unless nothing is wrong. An eventID recorded before is skipped, so a retry changes
nothing. Items are locked in serial order for the transaction, so two receipts of one item
at once are recorded one after the other: the second, by another enterprise with no
shipment between, raises an alert and is not an error.

Who may record what, by the item's enterprise (the owner of its product) and its holder
(the enterprise that last received it; before any receipt, the owner):
- commissioning, packing and unpacking (AggregationEvent), recalling: the owner;
- shipping, consuming, destroying: the holder;
- receiving: any enterprise (a receiving clerk records what arrived; receipts that do not
  add up raise alerts instead).
An item met again after it was consumed or destroyed is recorded whoever records it, with
an alert: that is evidence, not a mistake to refuse.

Shipping and receiving a case or pallet moves what is packed in it too (two levels: a
pallet's cases and their items): one scan of a case receives its contents, and each item's
timeline shows the event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from codesvc import lifecycle as codes_lifecycle
from codesvc import storage as codes_db
from codesvc.codes import Code
from codesvc.item_states import BizStep, ImpossibleTransition, ItemState, transition
from codesvc.storage import BatchRow, Connection, ItemRefRow, ItemRow
from registry_api.accounts.operations import Actor, regulator_unit
from registry_api.errors import Forbidden, NotFound, ValidationFailed
from registry_api.lifecycle import epcis
from registry_api.lifecycle import storage as db
from registry_api.lifecycle.epcis import EventInput, EventsInvalid, ItemRef, StoredEvent

# Steps whose move carries a case's or pallet's contents along.
_CARRIES_CONTENTS = frozenset({BizStep.SHIPPING, BizStep.RECEIVING})
_OWNER_STEPS = frozenset({BizStep.COMMISSIONING, BizStep.PACKING, BizStep.RECALLING})
_HOLDER_STEPS = frozenset({BizStep.SHIPPING, BizStep.CONSUMING, BizStep.DESTROYING})
_HELD = frozenset({ItemState.RECEIVED, ItemState.IN_USE})
_PACKS_INTO = {"case": {"item"}, "pallet": {"item", "case"}, "item": set[str]()}
_STATES = {state.value: state for state in ItemState}  # a lookup, not an Enum call per item


@dataclass(frozen=True, slots=True)
class Recorded:
    recorded: list[str]  # eventIDs stored by this request
    already: list[str]  # eventIDs stored before (a retry): left as they were
    alerts: list[db.NewAlert]


async def record_events(
    conn: Connection, actor: Actor, body: object, *, now: datetime | None = None
) -> Recorded:
    """Record one event or an EPCIS document of events for the actor's enterprise."""
    if actor.account.kind != "enterprise" or actor.account.enterprise_id is None:
        raise Forbidden(
            "events are recorded by enterprise accounts (producers, logistics companies, "
            "user enterprises); regulators recall batches instead"
        )
    recorder = actor.account.enterprise_id
    events = epcis.parse_events(body, now=now or datetime.now(UTC))
    prefixes = _prefixes(body, events)
    uscc = await db.enterprise_uscc(conn, recorder)
    problems: dict[str, str] = {}
    for event in events:
        if event.biz_location is not None and event.biz_location != uscc:
            problems[f"{prefixes[event.event_id]}bizLocation"] = (
                f"names {event.biz_location}: events are recorded at the recorder's own "
                f"location, urn:safecode:enterprise:{uscc}"
            )
    if problems:
        raise EventsInvalid(problems)
    async with conn.transaction():
        claimed = await db.claim_event_ids(
            conn, [e.event_id for e in events], [e.event_time for e in events]
        )
        fresh = [e for e in events if e.event_id in claimed]
        recording = _Recording(conn, actor, recorder, prefixes)
        await recording.load(fresh)
        new_events = [
            recording.apply(event, claimed[event.event_id])
            for event in sorted(fresh, key=lambda e: e.event_time)
        ]
        if recording.problems:
            raise EventsInvalid(recording.problems)
        await db.insert_events(conn, [e for e in new_events if e is not None])
        await codes_lifecycle.change_items(
            conn,
            [recording.items[s] for s in recording.changed],
            alerted=[a.serial for a in recording.alerts if a.serial is not None],
        )
        await db.raise_alerts(conn, recording.alerts)
    return Recorded(
        recorded=[e.event_id for e in fresh],
        already=[e.event_id for e in events if e.event_id not in claimed],
        alerts=recording.alerts,
    )


def _prefixes(body: object, events: Sequence[EventInput]) -> dict[str, str]:
    """Where each event's fields are named in problems: `eventList[3].` in a document,
    nothing for a lone event."""
    if isinstance(body, dict) and body.get("type") == "EPCISDocument":
        listed = body.get("epcisBody", {}).get("eventList", [])
        return {
            e.event_id: f"eventList[{i}]." for i, e in zip(range(len(listed)), events, strict=False)
        }
    return {e.event_id: "" for e in events}


class _Recording:
    """The items the events name, read and locked, and what each event does to them."""

    def __init__(
        self, conn: Connection, actor: Actor, recorder: int, prefixes: dict[str, str]
    ) -> None:
        self.conn = conn
        self.actor = actor
        self.recorder = recorder
        self.prefixes = prefixes
        self.items: dict[str, ItemRow] = {}
        self.contents: dict[str, list[str]] = {}
        self.batches: dict[int, BatchRow] = {}
        self.owners: dict[str, int] = {}
        self.changed: dict[str, None] = {}  # serials whose row changed, in order
        self.problems: dict[str, str] = {}
        self.alerts: list[db.NewAlert] = []

    async def load(self, events: Sequence[EventInput]) -> None:
        named = {
            ref.serial for e in events for ref in (*e.items, *([e.parent] if e.parent else []))
        }
        self.items = await codes_db.fetch_items_for_update(self.conn, sorted(named))
        parents = [s for s, i in self.items.items() if i.kind != "item"]
        for _level in range(2):  # a pallet's cases, then their items
            if not parents:
                break
            found = await codes_db.fetch_children(self.conn, parents)
            self.contents.update(found)
            inside = sorted({s for children in found.values() for s in children} - set(self.items))
            self.items.update(await codes_db.fetch_items_for_update(self.conn, inside))
            parents = [s for s in inside if self.items[s].kind != "item"]
        self.batches = await codes_db.fetch_batches_by_id(
            self.conn, sorted({i.batch_id for i in self.items.values()})
        )
        self.owners = await db.code_owners(
            self.conn, sorted({b.code_id for b in self.batches.values()})
        )

    def owner(self, item: ItemRow) -> int:
        return self.owners[self.batches[item.batch_id].code_id]

    def apply(self, event: EventInput, number: int) -> db.NewEvent | None:
        """The event applied to its items (problems noted), as it will be stored."""
        prefix = self.prefixes.get(event.event_id, "")
        list_name = "epcList" if event.event_type == epcis.OBJECT_EVENT else "childEPCs"
        before = len(self.problems)
        named: list[ItemRow] = []
        for k, ref in enumerate(event.items):
            item = self._known(ref, prefix, list_name, k)
            if item is not None:
                named.append(item)
        parent = None
        if event.parent is not None:
            parent = self._known(event.parent, prefix, "parentID", None)
        if len(self.problems) > before:
            return None
        if event.event_type == epcis.AGGREGATION_EVENT:
            assert parent is not None
            moved = self._aggregate(event, parent, named, prefix)
        else:
            moved = self._move(event, named, prefix, list_name)
        if len(self.problems) > before:
            return None
        items = self.items
        return db.NewEvent(
            number, event.event_id, event.event_type, event.action, event.event_time,
            event.time_zone_offset, event.biz_step.value, event.disposition, self.recorder,
            self.actor.account.id, None if event.parent is None else event.parent.serial,
            [ref.serial for ref in event.items], event.condition, event.note, moved,
            sorted({items[s].batch_id for s in moved}),
        )  # fmt: skip

    def _known(self, ref: ItemRef, prefix: str, name: str, index: int | None) -> ItemRow | None:
        """The item `ref` names, if it is the item its URL was printed for; else None with
        the problem noted under `{prefix}{name}[{index}]` (the key is written only then)."""
        item = self.items.get(ref.serial)
        if item is not None:
            batch = self.batches[item.batch_id]
            if batch.code_id == ref.code_id and batch.batch_no == ref.batch:
                return item
        where = prefix + name + ("" if index is None else f"[{index}]")
        if item is None:
            self.problems[where] = f"no item {ref.serial}: the service never issued this serial"
        else:
            self.problems[where] = (
                f"item {ref.serial} belongs to batch {batch.batch_no} of another code or "
                f"batch than {ref.batch}: the URL was not printed for it"
            )
        return None

    def _move(
        self, event: EventInput, named: list[ItemRow], prefix: str, list_name: str
    ) -> list[str]:
        moved: list[str] = []
        carries = event.biz_step in _CARRIES_CONTENTS and bool(self.contents)
        for k, item in enumerate(named):
            group = [item.serial]
            if carries:
                group += self._contents_of(item.serial)
            for serial in group:
                problem = self._step(event, self.items[serial])
                if problem is not None:
                    inside = "" if serial == item.serial else f"{item.serial} holds {serial}: "
                    self.problems.setdefault(f"{prefix}{list_name}[{k}]", inside + problem)
                    break
                moved.append(serial)
        return moved

    def _contents_of(self, serial: str) -> list[str]:
        found = []
        for child in self.contents.get(serial, []):
            if self.items[child].parent == serial:  # not unpacked by an earlier event
                found += [child, *self._contents_of(child)]
        return found

    def _step(self, event: EventInput, item: ItemRow) -> str | None:
        """The event's step applied to one item; the problem, if it cannot be."""
        if item.state_at is not None and event.event_time < item.state_at:
            return (
                f"{item.serial}: eventTime {event.event_time.isoformat()} is before the "
                f"item's last recorded event ({item.state_at.isoformat()}): an item's "
                "events are recorded in the order they happened"
            )
        try:
            moved = transition(_STATES[item.state], event.biz_step, event.disposition)
        except ImpossibleTransition as exc:
            return f"{item.serial}: {exc}"
        if moved.after_end:
            self._alert(event, item, "after_end", {
                "state": item.state, "since": item.state_at,
                "step": event.biz_step.value, "recorder": self.recorder,
                "event_id": event.event_id,
            })  # fmt: skip
            return None
        owner = self.owner(item)
        holder = owner if item.holder is None else item.holder
        if event.biz_step in _OWNER_STEPS and self.recorder != owner:
            return (
                f"{item.serial}: only the enterprise whose product it is records "
                f"{event.biz_step.value} of it"
            )
        if event.biz_step in _HOLDER_STEPS and self.recorder != holder:
            return (
                f"{item.serial}: held by another enterprise: only its holder records "
                f"{event.biz_step.value} of it"
            )
        new_holder = item.holder
        if event.biz_step is BizStep.RECEIVING:
            if _STATES[item.state] in _HELD and item.holder not in (None, self.recorder):
                self._alert(event, item, "double_receipt", {
                    "received_by": item.holder, "received_at": item.state_at,
                    "then_received_by": self.recorder, "event_id": event.event_id,
                    "shipped_between": False,
                })  # fmt: skip
            new_holder = self.recorder
        self._change(item, moved.state.value, event.event_time, new_holder, item.parent)
        return None

    def _aggregate(
        self, event: EventInput, parent: ItemRow, children: list[ItemRow], prefix: str
    ) -> list[str]:
        if event.biz_step is not BizStep.PACKING:
            self.problems[f"{prefix}bizStep"] = (
                "an AggregationEvent records packing (ADD) or unpacking (DELETE): its "
                "bizStep is packing"
            )
            return []
        if self.recorder != self.owner(parent):
            self.problems[f"{prefix}parentID"] = (
                f"{parent.serial}: only the enterprise whose product it is packs it"
            )
            return []
        if event.action == "DELETE" and not children:
            children = [self.items[s] for s in self.contents.get(parent.serial, [])]
        for k, child in enumerate(children):
            where = f"{prefix}childEPCs[{k}]"
            if event.action == "ADD":
                if child.kind not in _PACKS_INTO[parent.kind]:
                    self.problems[where] = (
                        f"{child.serial}: a {child.kind} is not packed into a {parent.kind}"
                    )
                    continue
                new_parent: str | None = parent.serial
            else:
                if child.parent != parent.serial:
                    self.problems[where] = f"{child.serial} is not packed in {parent.serial}"
                    continue
                new_parent = None
            try:
                transition(_STATES[child.state], BizStep.PACKING, None)
            except ImpossibleTransition as exc:
                self.problems[where] = f"{child.serial}: {exc}"
                continue
            self._change(child, child.state, child.state_at, child.holder, new_parent)
            if new_parent is not None:
                self.contents.setdefault(parent.serial, []).append(child.serial)
        return [parent.serial, *(c.serial for c in children)]

    def _change(
        self, item: ItemRow, state: str, state_at: datetime | None, holder: int | None,
        parent: str | None,
    ) -> None:  # fmt: skip
        """The item's row with its new state, holder and parent, built directly: a document
        changes thousands, and `dataclasses.replace` takes over half as long again."""
        self.items[item.serial] = ItemRow(
            serial=item.serial, batch_id=item.batch_id, issue_id=item.issue_id, seq=item.seq,
            kind=item.kind, state=state, state_at=state_at, holder=holder, parent=parent,
            alerted_at=item.alerted_at,
        )  # fmt: skip
        self.changed[item.serial] = None

    def _alert(self, event: EventInput, item: ItemRow, kind: str, evidence: dict[str, Any]) -> None:
        batch = self.batches[item.batch_id]
        # A double receipt is one finding per receipt; meeting an ended item again adds up.
        fingerprint = (
            f"{kind}:{item.serial}:{event.event_id}"
            if kind == "double_receipt"
            else f"{kind}:{item.serial}"
        )
        self.alerts.append(
            db.NewAlert(
                kind=kind,
                enterprise_id=self.owner(item),
                code_id=batch.code_id,
                batch_id=batch.id,
                serial=item.serial,
                fingerprint=fingerprint,
                evidence={**evidence, "batch_no": batch.batch_no},
            )
        )


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[StoredEvent]
    next_token: str | None  # the `nextPageToken` of the next page, when there is one


def _stored(row: db.EventRow, items: Mapping[str, ItemRef]) -> StoredEvent:
    """An event row as EPCIS renders it; `items` names each serial by its code and batch."""
    return StoredEvent(
        event_id=row.event_id,
        event_type=row.event_type,
        action=row.action,
        event_time=row.event_time,
        time_zone_offset=row.time_zone_offset,
        biz_step=BizStep(row.biz_step),
        disposition=row.disposition,
        items=tuple(items[s] for s in row.serials),
        parent=None if row.parent is None else items[row.parent],
        biz_location=row.recorder_uscc,
        condition=row.condition,
        note=row.note,
        raw={},
        record_time=row.record_time,
        recorder_uscc=row.recorder_uscc,
    )


async def _as_stored(
    conn: Connection, rows: list[db.EventRow], known: Sequence[ItemRefRow] = ()
) -> list[StoredEvent]:
    """The rows as EPCIS renders them; the items they name are read (those not `known`),
    each once."""
    refs = {r.serial: r for r in known}
    missing = sorted(
        {s for r in rows for s in r.serials if s not in refs}
        | {r.parent for r in rows if r.parent is not None and r.parent not in refs}
    )
    if missing:
        refs.update(await codes_db.fetch_item_refs(conn, missing))
    items = {
        serial: ItemRef(Code(r.code_id, r.key_id, r.signature).text, r.code_id, r.batch_no, serial)
        for serial, r in refs.items()
    }
    return [_stored(row, items) for row in rows]


def _page_token(row: db.EventRow) -> str:
    """The position after `row`: its eventTime in microseconds since 1970, and its number
    (URL-safe as it is)."""
    return f"{_micros(row.event_time)}-{row.id}"


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_page_token(token: str) -> tuple[datetime, int]:
    """The position a `nextPageToken` names; `ValidationFailed` when it is not one of ours."""
    micros, _, number = token.partition("-")
    try:
        if not (micros.isascii() and micros.isdigit() and number.isascii() and number.isdigit()):
            raise ValueError(token)
        return _EPOCH + timedelta(microseconds=int(micros)), int(number)
    except (ValueError, OverflowError):
        raise ValidationFailed(
            "nextPageToken is not one this API gave",
            {"nextPageToken": "must be the nextPageToken of the previous page, as given"},
        ) from None


async def _page(conn: Connection, query: db.EventFilter) -> EventPage:
    rows = await db.fetch_events(conn, dataclasses.replace(query, limit=query.limit + 1))
    return await _paged(conn, rows, query.limit)


async def _paged(
    conn: Connection, rows: list[db.EventRow], limit: int, known: Sequence[ItemRefRow] = ()
) -> EventPage:
    """The page of the first `limit` rows of `limit + 1` read (one more says there is a
    next page)."""
    more = len(rows) > limit
    rows = rows[:limit]
    events = await _as_stored(conn, rows, known)
    return EventPage(events, _page_token(rows[-1]) if more and rows else None)


async def _may_read_owner(conn: Connection, actor: Actor, owner: int) -> bool:
    """Whether the actor reads everything of the owner's products: the owner itself, or a
    regulator whose unit holds it."""
    if actor.account.kind == "enterprise":
        return actor.account.enterprise_id == owner
    return await db.enterprise_in_unit(conn, owner, regulator_unit(actor).path)


async def item_timeline(
    conn: Connection, actor: Actor, serial: str, query: db.EventFilter
) -> EventPage:
    """The events that moved the item, oldest first: for its product's enterprise and the
    regulators over it, and for any enterprise that holds it or recorded an event of it.
    The item, the reader's right (as `_may_read_owner` and the holder's would decide it)
    and the events are read in one query; only an enterprise that no longer holds the item
    is looked for among its recorders after."""
    regulator = actor.account.kind != "enterprise"
    unit = actor.unit if regulator and actor.account.role is not None else None
    found = await db.fetch_item_timeline(
        conn, serial, dataclasses.replace(query, limit=query.limit + 1),
        own_enterprise=None if regulator else actor.account.enterprise_id,
        unit_path=None if unit is None else unit.path,
        holder=actor.account.enterprise_id,
    )  # fmt: skip
    if found is None:
        raise NotFound(f"no item {serial}")
    if regulator and found.owner is not None:
        regulator_unit(actor)  # one without a unit is told there is nothing here
    rows = found.events
    if not found.allowed:
        enterprise = actor.account.enterprise_id
        if enterprise is None or not await db.serials_recorded_by(conn, serial, enterprise):
            raise NotFound(f"no item {serial}")
        rows = await db.fetch_events(
            conn, dataclasses.replace(query, serial=serial, limit=query.limit + 1)
        )
    return await _paged(conn, rows, query.limit, [found.ref])


async def batch_timeline(
    conn: Connection, actor: Actor, batch: BatchRow, query: db.EventFilter
) -> EventPage:
    """The events that moved items of the batch, for its product's enterprise and the
    regulators over it (another enterprise reads the ones it recorded by `code_events`)."""
    owners = await db.code_owners(conn, [batch.code_id])
    owner = owners.get(batch.code_id)
    if owner is None or not await _may_read_owner(conn, actor, owner):
        raise NotFound(f"no batch {batch.id}")
    return await _page(conn, dataclasses.replace(query, batch_ids=[batch.id]))


async def code_events(
    conn: Connection,
    actor: Actor,
    code_id: str,
    batch_ids: Sequence[int] | None,
    query: db.EventFilter,
) -> EventPage:
    owners = await db.code_owners(conn, [code_id])
    owner = owners.get(code_id)
    if owner is None:
        raise NotFound(f"no code {code_id}")
    if batch_ids is None:
        batch_ids = await db.batch_ids_of_code(conn, code_id)
    if not await _may_read_owner(conn, actor, owner):
        if actor.account.enterprise_id is None:
            raise NotFound(f"no code {code_id}")
        query = dataclasses.replace(query, recorder=actor.account.enterprise_id)
    return await _page(conn, dataclasses.replace(query, batch_ids=batch_ids))


async def recorder_events(
    conn: Connection, actor: Actor, recorder: int, query: db.EventFilter
) -> EventPage:
    """The events an enterprise recorded: for itself and the regulators over it."""
    if actor.account.kind == "enterprise":
        if actor.account.enterprise_id != recorder:
            raise NotFound("no such recorder")
    elif not await db.enterprise_in_unit(conn, recorder, regulator_unit(actor).path):
        raise NotFound("no such recorder")
    return await _page(conn, dataclasses.replace(query, recorder=recorder))


async def alerts(
    conn: Connection, actor: Actor, *, kind: str | None, before: int | None, limit: int
) -> list[db.AlertRow]:
    """Alerts about the actor's own products (an enterprise), or about the products of every
    enterprise in the regulator's unit; the newest first."""
    if actor.account.kind == "enterprise":
        return await db.fetch_alerts(
            conn, enterprise_id=actor.account.enterprise_id, unit_path=None,
            kind=kind, before=before, limit=limit,
        )  # fmt: skip
    return await db.fetch_alerts(
        conn, enterprise_id=None, unit_path=regulator_unit(actor).path,
        kind=kind, before=before, limit=limit,
    )  # fmt: skip


# --- scheduled work (the relay's scheduler runs it, one active relay at a time) -----------

# A batch scanned more than this many times per package it has is far beyond its quantity:
# a package is scanned a few times in its life (filling, shipping, receipt, use), a copied
# label thousands of times. Below the floor, a small batch's ordinary scans never alert.
OVER_QUANTITY_SCANS_PER_PACKAGE = 10
OVER_QUANTITY_FLOOR = 50
_MONTHS_AHEAD = 3
_FLAG_PAGE = 10_000


async def make_partitions_ahead(pool: asyncpg.Pool) -> int:
    """The events' month partitions for this month and the next ones, those missing."""
    async with pool.acquire() as conn:
        return await db.make_partitions(conn, datetime.now(UTC), _MONTHS_AHEAD)


class ScanAlerts:
    """Turns the resolvers' scan flags into alerts: a consumed or destroyed item scanned
    again (after_end), a serial never issued or not of the scanned batch (never_issued),
    and a batch scanned far beyond its packages (over_quantity). Each pass reads the flags
    seen since the last one (the first pass: the last day's)."""

    def __init__(self) -> None:
        self._since: datetime | None = None

    async def __call__(self, pool: asyncpg.Pool) -> int:
        started = datetime.now(UTC)
        since = self._since or started - timedelta(days=1)
        async with pool.acquire() as conn, conn.transaction():
            flags = await codes_db.fetch_scan_flags(
                conn, code_ids=None, since=since, limit=_FLAG_PAGE
            )
            raised = await _scan_alerts(conn, flags)
        # Flags moved meanwhile carry a last_at before `started`; reading from a minute
        # back keeps them (a flag read twice changes nothing).
        self._since = started - timedelta(minutes=1)
        return raised


async def _scan_alerts(conn: Connection, flags: Sequence[codes_db.ScanFlagRow]) -> int:
    owners = await db.code_owners(conn, sorted({f.code_id for f in flags}))
    batches = await codes_db.fetch_batch_scans(
        conn, sorted({(f.code_id, f.batch_no) for f in flags})
    )
    alerts: list[db.NewAlert] = []
    counts: list[int] = []
    batch_scans: dict[int, int] = {}
    for flag in flags:
        owner = owners.get(flag.code_id)
        found = batches.get((flag.code_id, flag.batch_no))
        if owner is None:
            continue
        batch_id = None if found is None else found.batch.id
        evidence = {
            "batch_no": flag.batch_no, "scans": flag.scans, "day": flag.day.isoformat(),
            "first_at": flag.first_at.isoformat(), "last_at": flag.last_at.isoformat(),
        }  # fmt: skip
        if flag.kind == "batch_scans":
            if batch_id is not None:
                batch_scans[batch_id] = batch_scans.get(batch_id, 0) + flag.scans
            continue
        kind = "after_end" if flag.kind == "after_end" else "never_issued"
        if flag.kind == "other_batch":
            evidence["detail"] = "the serial was issued for another code or batch"
        alerts.append(db.NewAlert(
            kind=kind, enterprise_id=owner, code_id=flag.code_id, batch_id=batch_id,
            serial=flag.serial, fingerprint=f"scan:{flag.id}", evidence=evidence,
        ))  # fmt: skip
        counts.append(flag.scans)
    if batch_scans:
        totals = await db.batch_scan_totals(conn, list(batch_scans))
        packages = await db.expected_packages(conn, list(batch_scans))
        by_id = {b.batch.id: b for b in batches.values()}
        for batch_id, total in totals.items():
            limit = max(OVER_QUANTITY_FLOOR, OVER_QUANTITY_SCANS_PER_PACKAGE * packages[batch_id])
            if total <= limit:
                continue
            batch = by_id[batch_id].batch
            alerts.append(db.NewAlert(
                kind="over_quantity", enterprise_id=owners[batch.code_id],
                code_id=batch.code_id, batch_id=batch_id, serial=None,
                fingerprint=f"over_quantity:{batch_id}",
                evidence={"batch_no": batch.batch_no, "scans": total,
                          "packages": packages[batch_id], "alert_above": limit},
            ))  # fmt: skip
            counts.append(total)
    await db.record_scan_alerts(conn, alerts, counts)
    return len(alerts)
