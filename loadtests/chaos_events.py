"""`make chaos`'s event ingest: an integrator posting EPCIS documents to the registry while
its parts are killed, and what it was told checked against the database afterwards.

Before the first phase a batch of the demo producer's first product gets `ITEMS` serials.
Then, through every phase, one client (a thread of `make chaos`, to 127.0.0.1 only) posts
documents of `EVENTS_PER_DOCUMENT` events, each shipping one item, one document after the
other, as an integrator's outbox would: a document the registry did not acknowledge (503,
a 5xx, no answer) is posted again, byte for byte, with the same eventIDs, until it is
acknowledged (201, or 200 when its events were all recorded before). It stops after the
last phase (it finishes the document in hand, for `FINISH_SECONDS` at most) or when every
item is shipped, whichever comes first.

`check_events` then counts, of the eventIDs acknowledged, those stored
(`lifecycle_event_ids`), the rows stored for them (a retry must not store an event twice)
and the items they shipped; any acknowledged event missing fails the run.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from codesvc import lifecycle
from codesvc import storage as codes_db
from codesvc.codes import Code
from loadtests.chaos_setup import ChaosRun

ITEMS = 20_000
EVENTS_PER_DOCUMENT = 100
PAUSE_SECONDS = 0.2  # between two documents
RETRY_SECONDS = 0.5  # before a document is posted again
FINISH_SECONDS = 60.0  # after the phases, for the document in hand to be acknowledged
BATCH_NO = "CHAOS-EVENTS-1"
_ACKNOWLEDGED = (200, 201)


@dataclass
class PostedDocument:
    event_ids: list[str]
    serials: list[str]
    body: bytes
    attempts: int = 0
    acknowledged: bool = False
    # eventIDs the acknowledging answer found recorded already: stored by an earlier
    # attempt whose answer never arrived.
    found_recorded: int = 0
    refused: str | None = None  # a 4xx answer: not retried


@dataclass(frozen=True, slots=True)
class _Items:
    code_text: str
    serials: list[str]


class EventIngest:
    """The posting client, in a thread of its own."""

    def __init__(self, registry_url: str, token: str, item_urls: dict[str, str]) -> None:
        self._registry_url = registry_url
        self._token = token
        self._item_urls = item_urls  # serial -> the scan URL its label carries
        self._stopping = threading.Event()  # no new document; finish the one in hand
        self._abandoned = threading.Event()  # stop now (interrupted)
        self._stop_deadline = 0.0
        self.documents: list[PostedDocument] = []
        self.answers: Counter[int] = Counter()  # status (0: no answer) -> count
        self._thread = threading.Thread(target=self._run, name="chaos-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """No new document; wait (`FINISH_SECONDS` at most) for the one in hand."""
        self._stop_deadline = time.monotonic() + FINISH_SECONDS
        self._stopping.set()
        self._thread.join(FINISH_SECONDS + 15)

    def abandon(self) -> None:
        self._abandoned.set()
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(15)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}",
                   "Content-Type": "application/ld+json"}  # fmt: skip
        serials = list(self._item_urls)
        with httpx.Client(base_url=self._registry_url, headers=headers, timeout=10) as client:
            for start in range(0, len(serials), EVENTS_PER_DOCUMENT):
                if self._stopping.is_set():
                    return
                document = self._document(serials[start : start + EVENTS_PER_DOCUMENT])
                self.documents.append(document)
                self._deliver(client, document)
                self._abandoned.wait(PAUSE_SECONDS)

    def _document(self, serials: list[str]) -> PostedDocument:
        at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
        event_ids = [f"urn:uuid:{uuid.uuid4()}" for _ in serials]
        events = [
            {"type": "ObjectEvent", "eventID": event_id, "eventTime": at,
             "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "shipping",
             "disposition": "in_transit", "epcList": [self._item_urls[serial]]}
            for event_id, serial in zip(event_ids, serials, strict=True)
        ]  # fmt: skip
        body = {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": at,
            "epcisBody": {"eventList": events},
        }
        return PostedDocument(event_ids, serials, json.dumps(body).encode())

    def _deliver(self, client: httpx.Client, document: PostedDocument) -> None:
        while not self._abandoned.is_set():
            if self._stopping.is_set() and time.monotonic() > self._stop_deadline:
                return
            document.attempts += 1
            try:
                answer = client.post("/api/v1/events", content=document.body)
            except httpx.TransportError:
                self.answers[0] += 1
                self._abandoned.wait(RETRY_SECONDS)
                continue
            self.answers[answer.status_code] += 1
            if answer.status_code in _ACKNOWLEDGED:
                document.acknowledged = True
                document.found_recorded = int(answer.json()["already_recorded"])
                return
            if answer.status_code < 500:
                document.refused = f"{answer.status_code}: {answer.text[:300]}"
                return
            self._abandoned.wait(RETRY_SECONDS)


def start_event_ingest(stack: ExitStack, run: ChaosRun) -> EventIngest:
    """Items issued for the ingest, and the client started; stopped with the stack."""
    owner = run.users["enterprises"][0]
    print(f"issuing {ITEMS} items for the event ingest ...", flush=True)
    items = asyncio.run(_issue_items(run.database_url, owner["id"]))
    urls = {s: f"{run.resolver_url}/C/{items.code_text}/B/{BATCH_NO}/S/{s}" for s in items.serials}
    ingest = EventIngest(run.registry_url, owner["token"], urls)
    stack.callback(ingest.abandon)
    ingest.start()
    return ingest


async def _issue_items(database_url: str, enterprise_id: int) -> _Items:
    conn = await asyncpg.connect(database_url)
    try:
        code_id = await conn.fetchval(
            "SELECT code_id FROM products WHERE enterprise_id = $1 AND code_id IS NOT NULL "
            "ORDER BY id LIMIT 1",
            enterprise_id,
        )
        code = await codes_db.fetch_code(conn, code_id)
        assert code is not None, "the demo producer has no product with a code"
        async with conn.transaction():
            batch = await lifecycle.declare_batch(
                conn, code_id=code_id, batch_no=BATCH_NO, produced_on=date(2026, 1, 5),
                use_by=date(2028, 1, 4), use_by_kind="expiry", quantity=Decimal(ITEMS * 200),
                unit="L", packaging={"inner": {"kind": "drum", "capacity": 200, "unit": "L"},
                                     "outer": None},
                site=None, declared_by="chaos",
            )  # fmt: skip
            issue = await lifecycle.issue_items(
                conn, batch, kind="item", count=ITEMS, issued_by="chaos"
            )
        rows = await codes_db.fetch_issue_serials(conn, issue.id, after_seq=0, limit=ITEMS)
        return _Items(Code(code.code_id, code.key_id, code.signature).text, [s for _, s in rows])
    finally:
        await conn.close()


async def check_events(database_url: str, ingest: EventIngest) -> dict[str, Any]:
    """What the client was told, against what the database holds."""
    documents = ingest.documents
    acknowledged = [d for d in documents if d.acknowledged]
    unanswered = [d for d in documents if not d.acknowledged and d.refused is None]
    acknowledged_ids = [i for d in acknowledged for i in d.event_ids]
    unanswered_ids = [i for d in unanswered for i in d.event_ids]
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM lifecycle_event_ids WHERE event_id = ANY($1::text[])",
            acknowledged_ids,
        )
        rows = await conn.fetchval(
            "SELECT count(*) FROM lifecycle_events WHERE event_id = ANY($1::text[])",
            acknowledged_ids,
        )
        shipped = await conn.fetchval(
            "SELECT count(*) FROM items WHERE serial = ANY($1::text[]) AND state = 'shipped'",
            [s for d in acknowledged for s in d.serials],
        )
        unanswered_stored = await conn.fetchval(
            "SELECT count(*) FROM lifecycle_event_ids WHERE event_id = ANY($1::text[])",
            unanswered_ids,
        )
    finally:
        await conn.close()
    return {
        "documents": len(documents),
        "events_per_document": EVENTS_PER_DOCUMENT,
        "acknowledged": len(acknowledged_ids),
        "stored": int(stored),
        "lost": len(acknowledged_ids) - int(stored),
        "rows_stored": int(rows),  # more than `stored`: a retry stored an event twice
        "items_shipped": int(shipped),
        "documents_retried": sum(1 for d in acknowledged if d.attempts > 1),
        "found_recorded_on_retry": sum(d.found_recorded for d in acknowledged),
        "unacknowledged": {
            "documents": len(unanswered),
            "events": len(unanswered_ids),
            "stored": int(unanswered_stored),
        },
        "refused": [d.refused for d in documents if d.refused is not None][:5],
        "answers": {str(status): n for status, n in sorted(ingest.answers.items())},
    }
