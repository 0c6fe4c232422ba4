"""The lifecycle domain's SQL: events (with the index of the items and batches each moved,
and their eventIDs kept once), alerts, and what the events need to know of enterprises
and products. Items and batches themselves are codesvc's (`codesvc.storage`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from codesvc.storage import Connection, ItemRefRow

# A regulator's unit and everything below it, by the jurisdictions' materialised paths.
_IN_SCOPE = "(j.path = $1 OR j.path LIKE $1 || '/%')"


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int  # the store's own number: the order of recording
    event_id: str
    event_type: str
    action: str
    event_time: datetime
    time_zone_offset: str
    record_time: datetime
    biz_step: str
    disposition: str | None
    enterprise_id: int
    recorder_uscc: str
    parent: str | None
    serials: list[str]
    condition: str | None
    note: str | None


class NewEvent(NamedTuple):
    """An event about to be stored, with every item and batch it moved. A named tuple, not
    a dataclass: a document makes thousands, and its first fields are the row COPY writes
    as they are (`_EVENT_FIELDS`), so neither is built field by field."""

    id: int
    event_id: str
    event_type: str
    action: str
    event_time: datetime
    time_zone_offset: str
    biz_step: str
    disposition: str | None
    enterprise_id: int
    account_id: int
    parent: str | None
    serials: list[str]
    condition: str | None
    note: str | None
    moved: list[str]  # the serials named and those packed in them that moved along
    batch_ids: list[int]


# The columns of lifecycle_events a NewEvent gives, named as its fields: all but the last two.
_EVENT_FIELDS = NewEvent._fields[:-2]


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    kind: str
    enterprise_id: int
    enterprise_name: str
    code_id: str
    batch_id: int | None
    batch_no: str | None
    serial: str | None
    evidence: dict[str, Any]
    occurrences: int
    raised_at: datetime
    last_at: datetime


@dataclass(frozen=True, slots=True)
class NewAlert:
    kind: str
    enterprise_id: int
    code_id: str
    batch_id: int | None
    serial: str | None
    fingerprint: str  # the same finding again adds an occurrence to the same alert
    evidence: dict[str, Any]


async def claim_event_ids(
    conn: Connection, event_ids: Sequence[str], event_times: Sequence[datetime]
) -> dict[str, int]:
    """The eventIDs not stored before, each with a new event number; those stored already
    are left out (a retry changes nothing). A concurrent claim of the same eventID waits
    for the other transaction and, if it commits, finds the id taken."""
    rows = await conn.fetch(
        """
        INSERT INTO lifecycle_event_ids (event_id, event, event_time)
        SELECT g.event_id, nextval('lifecycle_event_seq'), g.event_time
        FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS g(event_id, event_time, n)
        ORDER BY g.n
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id, event
        """,
        list(event_ids),
        list(event_times),
    )
    return {row["event_id"]: row["event"] for row in rows}


async def insert_events(conn: Connection, events: Sequence[NewEvent]) -> None:
    """Store the events and their index rows, by COPY (thousands in one round trip each)."""
    width = len(_EVENT_FIELDS)
    await conn.copy_records_to_table(
        "lifecycle_events", records=[e[:width] for e in events], columns=_EVENT_FIELDS
    )
    await conn.copy_records_to_table(
        "lifecycle_item_events",
        records=[(serial, e.event_time, e.id) for e in events for serial in e.moved],
        columns=("serial", "event_time", "event"),
    )
    await conn.copy_records_to_table(
        "lifecycle_batch_events",
        records=[(batch_id, e.event_time, e.id) for e in events for batch_id in e.batch_ids],
        columns=("batch_id", "event_time", "event"),
    )


_EVENT_COLUMNS = """
    e.id, e.event_id, e.event_type, e.action, e.event_time, e.time_zone_offset, e.record_time,
    e.biz_step, e.disposition, e.enterprise_id, n.uscc AS recorder_uscc, e.parent, e.serials,
    e.condition, e.note
"""


def _event(row: Any) -> EventRow:
    # By name: a row may carry other columns too (an item timeline's item).
    return EventRow(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        action=row["action"],
        event_time=row["event_time"],
        time_zone_offset=row["time_zone_offset"],
        record_time=row["record_time"],
        biz_step=row["biz_step"],
        disposition=row["disposition"],
        enterprise_id=row["enterprise_id"],
        recorder_uscc=row["recorder_uscc"],
        parent=row["parent"],
        serials=list(row["serials"]),
        condition=row["condition"],
        note=row["note"],
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What an event query asks for; None means any. Events come in eventTime order (then
    recording order), `limit` of them after the position `after` (time, id)."""

    serial: str | None = None
    batch_ids: Sequence[int] | None = None
    biz_step: str | None = None
    recorder: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: tuple[datetime, int] | None = None
    limit: int = 100


async def fetch_events(conn: Connection, query: EventFilter) -> list[EventRow]:
    """Events matching `query`: through the item index (a serial), the batch index
    (batches), or the recorder's index."""
    arguments: list[Any] = []
    rows = await conn.fetch(_events_select(query, arguments), *arguments)
    return [_event(row) for row in rows]


def _events_select(query: EventFilter, arguments: list[Any], only_if: Sequence[str] = ()) -> str:
    """The SELECT of `query`'s events, its parameters appended to `arguments`; `only_if`,
    more conditions (of a query it is part of)."""

    def argument(value: Any) -> str:
        arguments.append(value)
        return f"${len(arguments)}"

    since = None if query.since is None else argument(query.since)
    until = None if query.until is None else argument(query.until)
    after = None if query.after is None else (argument(query.after[0]), argument(query.after[1]))
    # The time bounds on the index rows too: PostgreSQL then skips the index's month
    # partitions outside them (the join's equality does not carry a range across).
    bounds = [
        *([] if since is None else [f"event_time >= {since}"]),
        *([] if until is None else [f"event_time < {until}"]),
        *([] if after is None else [f"event_time >= {after[0]}"]),
    ]
    within = "".join(f" AND {bound}" for bound in bounds)
    if query.serial is not None:
        source = (
            f"(SELECT DISTINCT event, event_time FROM lifecycle_item_events "
            f"WHERE serial = {argument(query.serial)}{within}) x"
        )
    elif query.batch_ids is not None:
        source = (
            f"(SELECT DISTINCT event, event_time FROM lifecycle_batch_events "
            f"WHERE batch_id = ANY({argument(list(query.batch_ids))}::bigint[]){within}) x"
        )
    else:
        source = None
    conditions = [*only_if, *(f"e.{bound}" for bound in bounds)]
    if query.recorder is not None:
        conditions.append(f"e.enterprise_id = {argument(query.recorder)}")
    if query.biz_step is not None:
        conditions.append(f"e.biz_step = {argument(query.biz_step)}")
    if after is not None:
        conditions.append(f"(e.event_time, e.id) > ({after[0]}, {after[1]})")
    joined = (
        f"{source} JOIN lifecycle_events e ON e.id = x.event AND e.event_time = x.event_time"
        if source is not None
        else "lifecycle_events e"
    )
    return f"""
        SELECT {_EVENT_COLUMNS}
        FROM {joined} JOIN enterprises n ON n.id = e.enterprise_id
        WHERE {" AND ".join(conditions or ["TRUE"])}
        ORDER BY e.event_time, e.id LIMIT {argument(query.limit)}
        """


@dataclass(frozen=True, slots=True)
class ItemTimelineRows:
    """An item's timeline as one query reads it: the item's code and batch (what names it
    in its events), its product's enterprise, whether the reader may see it, and (if so)
    the events."""

    ref: ItemRefRow
    owner: int | None  # None: no product has the item's code
    allowed: bool
    events: list[EventRow]


async def fetch_item_timeline(
    conn: Connection,
    serial: str,
    query: EventFilter,
    *,
    own_enterprise: int | None,
    unit_path: str | None,
    holder: int | None,
) -> ItemTimelineRows | None:
    """The item, and its events matching `query` when the reader may read them: the
    enterprise `own_enterprise` whose product it is, a regulator over the product's
    enterprise (`unit_path`, its unit), or the enterprise `holder` that holds the item.
    None when the serial was never issued. One round trip. (Whether an enterprise recorded
    an event of the item is `serials_recorded_by`'s: in this query, its plan would cost
    every reader the start of a scan of each month's partition, used or not.)"""
    arguments: list[Any] = [serial, own_enterprise, unit_path, holder]
    # Within the LATERAL, the permission is a one-time filter: no event is read unless it holds.
    events = _events_select(
        dataclasses.replace(query, serial=serial, batch_ids=None), arguments, ["s.allowed"]
    )
    rows = await conn.fetch(
        f"""
        WITH item AS (
            SELECT i.holder, b.code_id, b.batch_no, c.key_id, c.signature,
                   p.enterprise_id AS owner
            FROM items i JOIN batches b ON b.id = i.batch_id JOIN codes c ON c.code_id = b.code_id
            LEFT JOIN products p ON p.code_id = b.code_id
            WHERE i.serial = $1
        ), scoped AS (
            SELECT item.*, COALESCE(
                item.owner = $2
                OR $3::text IS NOT NULL AND EXISTS (
                    SELECT 1 FROM enterprises o JOIN jurisdictions j ON j.id = o.county_id
                    WHERE o.id = item.owner AND (j.path = $3 OR j.path LIKE $3 || '/%'))
                OR item.holder = $4, FALSE) AS allowed
            FROM item
        )
        SELECT s.code_id AS item_code_id, s.batch_no AS item_batch_no,
               s.key_id AS item_key_id, s.signature AS item_signature,
               s.owner AS item_owner, s.allowed AS item_allowed, ev.*
        FROM scoped s LEFT JOIN LATERAL ({events}) ev ON TRUE
        ORDER BY ev.event_time, ev.id
        """,
        *arguments,
    )
    if not rows:
        return None
    first = rows[0]
    ref = ItemRefRow(
        serial=serial,
        code_id=first["item_code_id"],
        key_id=first["item_key_id"],
        signature=first["item_signature"],
        batch_no=first["item_batch_no"],
    )
    return ItemTimelineRows(
        ref=ref,
        owner=first["item_owner"],
        allowed=first["item_allowed"],
        events=[_event(row) for row in rows if row["id"] is not None],
    )


async def fetch_events_by_id(conn: Connection, event_ids: Sequence[str]) -> list[EventRow]:
    """The stored events of these eventIDs (what a retried document had recorded)."""
    rows = await conn.fetch(
        f"""
        SELECT {_EVENT_COLUMNS}
        FROM lifecycle_event_ids i
        JOIN lifecycle_events e ON e.id = i.event AND e.event_time = i.event_time
        JOIN enterprises n ON n.id = e.enterprise_id
        WHERE i.event_id = ANY($1::text[])
        ORDER BY e.event_time, e.id
        """,
        list(event_ids),
    )
    return [_event(row) for row in rows]


async def serials_recorded_by(conn: Connection, serial: str, enterprise_id: int) -> bool:
    """Whether the enterprise recorded any event that moved the item."""
    found = await conn.fetchval(
        """
        SELECT EXISTS (
            SELECT 1 FROM lifecycle_item_events x
            JOIN lifecycle_events e ON e.id = x.event AND e.event_time = x.event_time
            WHERE x.serial = $1 AND e.enterprise_id = $2)
        """,
        serial,
        enterprise_id,
    )
    return bool(found)


async def code_owners(conn: Connection, code_ids: Sequence[str]) -> dict[str, int]:
    """The enterprise each code's product belongs to."""
    rows = await conn.fetch(
        "SELECT code_id, enterprise_id FROM products WHERE code_id = ANY($1::text[])",
        list(code_ids),
    )
    return {row["code_id"]: row["enterprise_id"] for row in rows}


async def enterprise_uscc(conn: Connection, enterprise_id: int) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT uscc FROM enterprises WHERE id = $1", enterprise_id
    )
    return found


async def enterprise_in_unit(conn: Connection, enterprise_id: int, unit_path: str) -> bool:
    """Whether the enterprise's county is the unit or below it."""
    found = await conn.fetchval(
        f"""
        SELECT EXISTS (SELECT 1 FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id
                       WHERE e.id = $2 AND {_IN_SCOPE})
        """,
        unit_path,
        enterprise_id,
    )
    return bool(found)


async def make_partitions(conn: Connection, first_month: datetime, months: int) -> int:
    """The month partitions of the events from `first_month`, those missing; how many made."""
    made: int = await conn.fetchval(
        "SELECT lifecycle_make_partitions($1::date, $2)", first_month.date(), months
    )
    return made


async def raise_alerts(conn: Connection, alerts: Sequence[NewAlert]) -> None:
    """Record the alerts; one already raised for the same finding counts one more time."""
    if not alerts:
        return
    rows = [
        (a.kind, a.enterprise_id, a.code_id, a.batch_id, a.serial, a.fingerprint,
         json.dumps(a.evidence, ensure_ascii=False, default=str))
        for a in alerts
    ]  # fmt: skip
    await conn.executemany(
        """
        INSERT INTO lifecycle_alerts (kind, enterprise_id, code_id, batch_id, serial,
                                      fingerprint, evidence)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (fingerprint) DO UPDATE
        SET occurrences = lifecycle_alerts.occurrences + 1, last_at = now()
        """,
        rows,
    )


_ALERT_COLUMNS = """
    a.id, a.kind, a.enterprise_id, n.name AS enterprise_name, a.code_id, a.batch_id,
    b.batch_no, a.serial, a.evidence, a.occurrences, a.raised_at, a.last_at
"""


def _alert(row: Any) -> AlertRow:
    return AlertRow(**{**dict(row), "evidence": json.loads(row["evidence"])})


async def fetch_alerts(
    conn: Connection,
    *,
    enterprise_id: int | None,
    unit_path: str | None,
    kind: str | None,
    before: int | None,
    limit: int,
) -> list[AlertRow]:
    """Alerts about one enterprise's products, or about those of every enterprise in the
    unit, the newest first, `limit` of them older than alert `before`."""
    rows = await conn.fetch(
        f"""
        SELECT {_ALERT_COLUMNS}
        FROM lifecycle_alerts a
        JOIN enterprises n ON n.id = a.enterprise_id
        JOIN jurisdictions j ON j.id = n.county_id
        LEFT JOIN batches b ON b.id = a.batch_id
        WHERE ($1::text IS NULL OR {_IN_SCOPE})
          AND ($2::bigint IS NULL OR a.enterprise_id = $2)
          AND ($3::text IS NULL OR a.kind = $3)
          AND ($4::bigint IS NULL OR a.id < $4)
        ORDER BY a.id DESC LIMIT $5
        """,
        unit_path,
        enterprise_id,
        kind,
        before,
        limit,
    )
    return [_alert(row) for row in rows]


async def batch_ids_of_code(conn: Connection, code_id: str) -> list[int]:
    rows = await conn.fetch("SELECT id FROM batches WHERE code_id = $1 ORDER BY id", code_id)
    return [row["id"] for row in rows]


async def enterprise_by_uscc(conn: Connection, uscc: str) -> int | None:
    found: int | None = await conn.fetchval("SELECT id FROM enterprises WHERE uscc = $1", uscc)
    return found


async def record_scan_alerts(
    conn: Connection, alerts: Sequence[NewAlert], counts: Sequence[int]
) -> None:
    """Alerts read off the scan flags: each flag is one alert whose count is its scans, so
    reading the same flags again changes nothing but the counts that grew."""
    rows = [
        (a.kind, a.enterprise_id, a.code_id, a.batch_id, a.serial, a.fingerprint,
         json.dumps(a.evidence, ensure_ascii=False, default=str), count)
        for a, count in zip(alerts, counts, strict=True)
    ]  # fmt: skip
    await conn.executemany(
        """
        INSERT INTO lifecycle_alerts (kind, enterprise_id, code_id, batch_id, serial,
                                      fingerprint, evidence, occurrences)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (fingerprint) DO UPDATE
        SET occurrences = GREATEST(lifecycle_alerts.occurrences, excluded.occurrences),
            evidence = excluded.evidence,
            last_at = CASE WHEN excluded.occurrences > lifecycle_alerts.occurrences
                           THEN now() ELSE lifecycle_alerts.last_at END
        """,
        rows,
    )


async def expected_packages(conn: Connection, batch_ids: Sequence[int]) -> dict[int, int]:
    """How many packages each batch has: the items issued for it, or else its quantity in
    inner packages when the packaging is counted in the batch's unit."""
    rows = await conn.fetch(
        """
        SELECT b.id,
               COALESCE(
                   (SELECT sum(count) FROM item_issues i
                    WHERE i.batch_id = b.id AND i.kind = 'item'),
                   CASE WHEN b.packaging -> 'inner' ->> 'unit' = b.unit
                        THEN ceil(b.quantity
                                  / NULLIF((b.packaging -> 'inner' ->> 'capacity')::numeric, 0))
                   END,
                   1)::bigint AS packages
        FROM batches b WHERE b.id = ANY($1::bigint[])
        """,
        list(batch_ids),
    )
    return {row["id"]: row["packages"] for row in rows}


async def batch_scan_totals(conn: Connection, batch_ids: Sequence[int]) -> dict[int, int]:
    """Every scan counted of each batch (and its items), all days together."""
    rows = await conn.fetch(
        """
        SELECT b.id, sum(f.scans)::bigint AS scans
        FROM batches b JOIN scan_flags f
          ON f.code_id = b.code_id AND f.batch_no = b.batch_no AND f.kind = 'batch_scans'
        WHERE b.id = ANY($1::bigint[])
        GROUP BY b.id
        """,
        list(batch_ids),
    )
    return {row["id"]: row["scans"] for row in rows}
