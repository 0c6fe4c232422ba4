"""`make bench` section "lifecycle": batches, items and events at the scale the issue asks
for, on this machine, in one run against a database of its own on the product's PostgreSQL.

| case                                                   | target          |
| ------------------------------------------------------ | --------------- |
| a million serials generated and stored (one issue)     | <= 20 s         |
| events ingested by POST /api/v1/events, documents of   | >= 20,000 / s   |
| 1,000, several in flight                               |                 |
| an item's scan (L1 hot) against /healthz of the same   | >= 0.5x         |
| resolver (wrk, as the scan section)                    |                 |
| an item's timeline of 50 events, 10,000,000 stored     | <= 5 ms p95     |

The serials are issued by `codesvc.lifecycle.issue_items` in one transaction, as the
registry issues them. The events are real EPCIS documents (each event ships one item of the
issue, so its state changes) posted over HTTP to `safecode serve registry`, signed in as the
enterprise whose product it is. The ten million stored events are written in SQL
(`INSERT ... SELECT generate_series`, spread over the last year's month partitions: minutes,
not the hours the API would take); the timed item's 50 events are among them. Its timeline
is asked for one request at a time of the registry's app in this process (the server's work
per request as its access log times it: the target's measure) and over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager

from codesvc import lifecycle
from codesvc import storage as codes_db
from codesvc.codes import Code
from codesvc.scancache import REDIS_KEY_PREFIX
from loadtests.bench_scan import (
    BASE_URL,
    WrkResult,
    ensure_wrk,
    resolver_process,
    run_wrk,
    unit_process,
)
from loadtests.product import free_port
from safecode import apps
from safecode.demo import DEMO_ENTERPRISES, DEMO_PASSWORD, ensure_demo_registry
from safecode.demo_products import ensure_demo_products
from safecode.embedded import ServiceUrls
from safecode.migrations import apply_migrations, discover
from safecode.settings import Settings

ISSUE_TARGET_SECONDS = 20.0
INGEST_TARGET_PER_SECOND = 20_000.0
SCAN_TARGET_RATIO = 0.5
TIMELINE_TARGET_P95_MS = 5.0

EVENTS_PER_DOCUMENT = 1000
DOCUMENTS_IN_FLIGHT = 4
REGISTRY_WORKERS = 2  # as many as the resolver's: the machine has 2 cores
HOT_ITEMS = 100  # the item scans wrk cycles through, all in each worker's L1
TIMELINE_EVENTS = 50
TIMELINE_REQUESTS = 300
# The stored events: one per chunk statement, two statements at a time (two cores), over the
# last year; each generated item has about five events (commissioning to destroying).
_CHUNK_EVENTS = 500_000
_EVENTS_PER_GENERATED_ITEM = 5
_GENERATED_BATCHES = 500
_STEPS = ("commissioning", "shipping", "receiving", "consuming", "destroying")
_YEAR = timedelta(days=365)
_OWNER_MOBILE = DEMO_ENTERPRISES[0][3]  # the demo producer: the demo products are its
_BATCH_NO = "BENCH-2026-1"
_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float
    p95_ms: float
    failures: int  # answers other than 200


@dataclass(frozen=True, slots=True)
class LifecycleFigures:
    items: int
    issue_seconds: float
    ingest_events: int
    ingest_seconds: float
    ingest_failures: int  # documents not answered 201 with every event recorded
    healthz: WrkResult
    item_scan: WrkResult
    stored_events: int
    generate_seconds: float
    timeline_events: int  # in the answer: should be TIMELINE_EVENTS
    timeline_server: Latency  # the registry's app in this process, as its access log times it
    timeline_http: Latency  # the same over HTTP from `safecode serve registry`

    @property
    def ingest_per_second(self) -> float:
        return self.ingest_events / self.ingest_seconds

    @property
    def scan_ratio(self) -> float:
        return self.item_scan.rps / self.healthz.rps


@dataclass(frozen=True, slots=True)
class _World:
    """The bench database's product code and batch, and who owns them."""

    code_text: str
    batch: codes_db.BatchRow
    enterprise_ids: list[int]
    owner_account: int


def lifecycle_section(
    settings: Settings, server_url: str, redis_url: str, *, items: int, ingest_events: int,
    stored_events: int, scan_seconds: int,
) -> LifecycleFigures:  # fmt: skip
    """Runs the four cases in a database of its own (dropped at the end); `items` serials
    are issued, the first `ingest_events` of them shipped by the API, and `stored_events`
    events written in SQL before the timeline is asked for."""
    if not 0 < ingest_events < items:
        raise SystemExit("the lifecycle bench ships fewer items than it issues (and some)")
    wrk = ensure_wrk()
    database = f"safecode_bench_{uuid.uuid4().hex[:8]}"
    database_url = urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))
    master_key = os.urandom(32)
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{database}"'))
    try:
        print("loading the demo registry and products for the lifecycle bench ...", flush=True)
        world = asyncio.run(_prepare(database_url, master_key))
        print(f"issuing {items:,} serials ...", flush=True)
        issue_seconds, serials = asyncio.run(_issue(database_url, world.batch, items))
        shipped, timed_item = serials[:ingest_events], serials[-1]
        env = _unit_env(database_url, redis_url, master_key)
        with registry_process(env) as registry:
            token = _sign_in(registry)
            print(f"posting {ingest_events:,} events in documents of {EVENTS_PER_DOCUMENT:,}"
                  " ...", flush=True)  # fmt: skip
            documents = _shipping_documents(world, shipped)
            ingest_seconds, ingest_failures = asyncio.run(_ingest(registry, token, documents))
            hot = [_item_path(world, s) for s in shipped[:HOT_ITEMS]]
            healthz, item_scan = _scan(wrk, database_url, redis_url, hot, scan_seconds)
            print(f"writing {stored_events:,} stored events in SQL ...", flush=True)
            started = time.perf_counter()
            asyncio.run(_store_events(database_url, world, stored_events, timed_item))
            generate_seconds = time.perf_counter() - started
            print(f"  written in {generate_seconds:.0f} s", flush=True)
            found, over_http = _timeline_over_http(registry, token, timed_item)
        urls = ServiceUrls(database_url=database_url, redis_url=redis_url)
        in_server = asyncio.run(_timeline_in_process(settings, urls, timed_item))
        asyncio.run(_forget(redis_url, world, shipped[:HOT_ITEMS]))
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE "{database}" WITH (FORCE)'))
    return LifecycleFigures(
        items, issue_seconds, ingest_events, ingest_seconds, ingest_failures, healthz,
        item_scan, stored_events, generate_seconds, found, in_server, over_http,
    )  # fmt: skip


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _prepare(database_url: str, master_key: bytes) -> _World:
    """Migrations, the demo registry and its approved products, and a batch of the first."""
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, discover())
    finally:
        await conn.close()
    await ensure_demo_registry(database_url, master_key=master_key)
    await ensure_demo_products(
        database_url, master_key=master_key, public_base_url=BASE_URL, province="14"
    )
    conn = await asyncpg.connect(database_url)
    try:
        owner = await conn.fetchrow(
            "SELECT id, enterprise_id FROM accounts WHERE mobile = $1", _OWNER_MOBILE
        )
        assert owner is not None, "the demo registry has no producer account"
        code_id = await conn.fetchval(
            "SELECT code_id FROM products WHERE enterprise_id = $1 AND code_id IS NOT NULL "
            "ORDER BY id LIMIT 1",
            owner["enterprise_id"],
        )
        code = await codes_db.fetch_code(conn, code_id)
        assert code is not None, "the demo product has no code"
        async with conn.transaction():
            batch = await lifecycle.declare_batch(
                conn, code_id=code_id, batch_no=_BATCH_NO, produced_on=date(2026, 1, 5),
                use_by=date(2028, 1, 4), use_by_kind="expiry", quantity=Decimal("200000"),
                unit="L", packaging={"inner": {"kind": "drum", "capacity": 200, "unit": "L"},
                                     "outer": None},
                site=None, declared_by="bench",
            )  # fmt: skip
        enterprises = [row["id"] for row in await conn.fetch("SELECT id FROM enterprises")]
        return _World(Code(code.code_id, code.key_id, code.signature).text, batch,
                      enterprises, owner["id"])  # fmt: skip
    finally:
        await conn.close()


async def _issue(
    database_url: str, batch: codes_db.BatchRow, items: int
) -> tuple[float, list[str]]:
    """Seconds to issue `items` serials in one transaction (generated, COPY, commit); the
    serials, in the issue's order."""
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            issue = await lifecycle.issue_items(conn, batch, kind="item", count=items,
                                                issued_by="bench")  # fmt: skip
        seconds = time.perf_counter() - started
        rows = await codes_db.fetch_issue_serials(conn, issue.id, after_seq=0, limit=items)
        return seconds, [serial for _, serial in rows]
    finally:
        await conn.close()


def _unit_env(database_url: str, redis_url: str, master_key: bytes) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=database_url, REDIS_URL=redis_url, HOST="127.0.0.1", LOG_LEVEL="WARNING",
        SAFECODE_MASTER_KEY=base64.b64encode(master_key).decode(), PUBLIC_BASE_URL=BASE_URL,
    )  # fmt: skip
    return env


@contextmanager
def registry_process(env: dict[str, str]) -> Iterator[str]:
    """`safecode serve registry` with `REGISTRY_WORKERS` workers; its base URL once ready."""
    port = free_port()
    unit_env = dict(env, REGISTRY_PORT=str(port), REGISTRY_WORKERS=str(REGISTRY_WORKERS))
    with unit_process("registry", unit_env, port) as base:
        yield base


def _sign_in(registry: str) -> str:
    answer = httpx.post(
        f"{registry}/api/v1/auth/login",
        json={"mobile": _OWNER_MOBILE, "password": DEMO_PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


def _item_path(world: _World, serial: str) -> str:
    return f"/C/{world.code_text}/B/{world.batch.batch_no}/S/{serial}"


def shipping_document(base_url: str, item_paths: list[str], at: datetime) -> dict[str, Any]:
    """An EPCISDocument shipping each item once (one ObjectEvent, one EPC each), at `at`."""
    when = at.astimezone(_CHINA).isoformat()
    events = [
        {"type": "ObjectEvent", "eventID": f"urn:uuid:{uuid.uuid4()}", "eventTime": when,
         "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "shipping",
         "disposition": "in_transit", "epcList": [f"{base_url}{path}"]}
        for path in item_paths
    ]  # fmt: skip
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat(),
        "epcisBody": {"eventList": events},
    }


def _shipping_documents(world: _World, serials: list[str]) -> list[bytes]:
    """The documents, encoded before the clock starts."""
    at = datetime.now(UTC) - timedelta(minutes=5)
    return [
        json.dumps(shipping_document(
            BASE_URL, [_item_path(world, s) for s in serials[i : i + EVENTS_PER_DOCUMENT]], at
        )).encode()
        for i in range(0, len(serials), EVENTS_PER_DOCUMENT)
    ]  # fmt: skip


async def _ingest(registry: str, token: str, documents: list[bytes]) -> tuple[float, int]:
    """Seconds to post every document, `DOCUMENTS_IN_FLIGHT` at a time; and how many were
    not answered 201 with each of their events recorded."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/ld+json"}
    queue = list(reversed(documents))
    failures = 0

    async def poster(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while queue:
            body = queue.pop()
            answer = await client.post("/api/v1/events", content=body, headers=headers)
            expected = body.count(b'"eventID"')
            if answer.status_code != 201 or answer.json()["recorded"] != expected:
                failures += 1
                if failures == 1:
                    print(f"  a document was answered {answer.status_code}: "
                          f"{answer.text[:300]}", flush=True)  # fmt: skip

    limits = httpx.Limits(max_connections=DOCUMENTS_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=registry, limits=limits, timeout=300) as client:
        started = time.perf_counter()
        await asyncio.gather(*(poster(client) for _ in range(DOCUMENTS_IN_FLIGHT)))
        return time.perf_counter() - started, failures


def _scan(
    wrk: str, database_url: str, redis_url: str, hot: list[str], seconds: int
) -> tuple[WrkResult, WrkResult]:
    """/healthz and the hot items' scans of one resolver (2 workers), under wrk."""
    with tempfile.TemporaryDirectory() as tmp_dir, resolver_process(database_url,
                                                                    redis_url) as base:  # fmt: skip
        tmp = Path(tmp_dir)
        run_wrk(wrk, "warm-up", base, ["/healthz", *hot], 2, tmp)  # every worker's L1 filled
        healthz = run_wrk(wrk, "/healthz (baseline)", base, ["/healthz"], seconds, tmp)
        item_scan = run_wrk(wrk, "item scan, L1 hit", base, hot, seconds, tmp)
    return healthz, item_scan


async def _store_events(database_url: str, world: _World, count: int, timed_item: str) -> None:
    """`count` events over the last year, straight into the tables `record_events` writes:
    five each (commissioning to destroying, months apart) of `count / 5` made-up items; and
    the timed item's `TIMELINE_EVENTS` among them. Two statements at a time; ANALYZE after."""
    now = datetime.now(UTC)
    start = now - _YEAR
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT lifecycle_make_partitions($1::date, 14)", start.date())
        first = int(await conn.fetchval("SELECT nextval('lifecycle_event_seq')"))
        await conn.execute(
            "SELECT setval('lifecycle_event_seq', $1)", first + count + TIMELINE_EVENTS
        )
    finally:
        await conn.close()
    step = _YEAR / max(count, 1)
    distinct_items = max(1, count // _EVENTS_PER_GENERATED_ITEM)
    chunks = [(lo, min(count, lo + _CHUNK_EVENTS)) for lo in range(0, count, _CHUNK_EVENTS)]

    async def writer() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            while chunks:
                lo, hi = chunks.pop(0)
                await conn.execute(
                    _GENERATE_EVENTS, first + lo, first + hi - 1, first, start, step,
                    distinct_items, world.enterprise_ids, world.owner_account,
                    _GENERATED_BATCHES, list(_STEPS),
                )  # fmt: skip
        finally:
            await conn.close()

    await asyncio.gather(writer(), writer())
    conn = await asyncpg.connect(database_url)
    try:
        spacing = _YEAR / (TIMELINE_EVENTS + 1)
        await conn.execute(
            _TIMED_ITEM_EVENTS, first + count, TIMELINE_EVENTS, start + spacing, spacing,
            timed_item, world.enterprise_ids[0], world.owner_account, world.batch.id,
        )  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# $1..$2 the event numbers, $3 the first of all, $4 the time of the first, $5 the time
# between two events, $6 the made-up items, $7 the recorders, $8 the account, $9 the made-up
# batches (negative ids: no real batch's timeline counts them), $10 the steps. eventIDs are
# UUIDv7-shaped (time first), as an integrator's are, so their index grows at one end.
_GENERATE_EVENTS = """
WITH g AS MATERIALIZED (
    SELECT i AS id, $4::timestamptz + (i - $3) * $5::interval AS at,
           upper(substr(md5((i % $6)::text), 1, 13)) AS serial,
           lpad(to_hex(i), 15, '0') AS r
    FROM generate_series($1::bigint, $2::bigint) i
), t AS MATERIALIZED (
    SELECT g.*, lpad(to_hex((extract(epoch FROM g.at) * 1000)::bigint), 12, '0') AS ms
    FROM g
), e AS (
    INSERT INTO lifecycle_events (id, event_id, event_type, action, event_time,
                                  time_zone_offset, biz_step, disposition, enterprise_id,
                                  account_id, serials)
    SELECT id, 'urn:uuid:' || substr(ms, 1, 8) || '-' || substr(ms, 9, 4) || '-7'
               || substr(r, 1, 3) || '-8000-' || substr(r, 4, 12),
           'ObjectEvent', 'OBSERVE', at, '+08:00',
           ($10::text[])[1 + (id / $6) % cardinality($10::text[])], NULL,
           ($7::bigint[])[1 + id % cardinality($7::bigint[])], $8, ARRAY[serial]
    FROM t
    RETURNING id, event_id, event_time
), x AS (
    INSERT INTO lifecycle_item_events (serial, event_time, event) SELECT serial, at, id FROM t
), b AS (
    INSERT INTO lifecycle_batch_events (batch_id, event_time, event)
    SELECT -1 - (id % $6) % $9, at, id FROM t
)
INSERT INTO lifecycle_event_ids (event_id, event, event_time)
SELECT event_id, id, event_time FROM e
"""
# $1 the first event number, $2 how many, $3 the first time, $4 the time between, $5 the
# item, $6 the recorder, $7 the account, $8 its batch.
_TIMED_ITEM_EVENTS = """
WITH g AS MATERIALIZED (
    SELECT $1::bigint + k AS id, $3::timestamptz + k * $4::interval AS at,
           'urn:uuid:' || gen_random_uuid() AS event_id,
           CASE WHEN k % 2 = 0 THEN 'shipping' ELSE 'receiving' END AS step
    FROM generate_series(0, $2 - 1) k
), e AS (
    INSERT INTO lifecycle_events (id, event_id, event_type, action, event_time,
                                  time_zone_offset, biz_step, enterprise_id, account_id,
                                  serials)
    SELECT id, event_id, 'ObjectEvent', 'OBSERVE', at, '+08:00', step, $6, $7, ARRAY[$5::text]
    FROM g
), x AS (
    INSERT INTO lifecycle_item_events (serial, event_time, event) SELECT $5, at, id FROM g
), b AS (
    INSERT INTO lifecycle_batch_events (batch_id, event_time, event) SELECT $8, at, id FROM g
)
INSERT INTO lifecycle_event_ids (event_id, event, event_time) SELECT event_id, id, at FROM g
"""


def _timeline_over_http(registry: str, token: str, serial: str) -> tuple[int, Latency]:
    """The events in the item's timeline, and its latency over HTTP, one request at a time."""
    path = f"/api/v1/items/{serial}/events"
    with httpx.Client(base_url=registry, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        first = client.get(path)
        found = len(first.json().get("epcisBody", {}).get("queryResults", {})
                    .get("resultsBody", {}).get("eventList", []))  # fmt: skip
        timings = [_timed(lambda: client.get(path)) for _ in range(_WARM_UP + TIMELINE_REQUESTS)]
    return found, _latency(timings[_WARM_UP:])


async def _timeline_in_process(settings: Settings, urls: ServiceUrls, serial: str) -> Latency:
    """The item's timeline asked of the registry's real app in this process, one request at
    a time, timed by the app itself: the `duration_ms` its access log writes (from the
    request's arrival to the answer's last byte), so no client's time is in it."""
    async with LifespanManager(apps.registry_app(settings, urls)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            signed = await client.post(
                "/api/v1/auth/login", json={"mobile": _OWNER_MOBILE, "password": DEMO_PASSWORD}
            )
            client.headers["Authorization"] = f"Bearer {signed.json()['token']}"
            path = f"/api/v1/items/{serial}/events"
            statuses = []
            with _server_durations() as durations:
                for _ in range(_WARM_UP + TIMELINE_REQUESTS):
                    statuses.append((await client.get(path)).status_code)
    return _latency(list(zip(durations, statuses, strict=True))[_WARM_UP:])


@contextmanager
def _server_durations() -> Iterator[list[float]]:
    """The `duration_ms` of each request the access log records while the block runs."""
    found: list[float] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(getattr(record, "fields", {})["duration_ms"])

    access = logging.getLogger("safecode.access")
    handler, level, propagate = Keep(logging.INFO), access.level, access.propagate
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False  # kept here, not printed
    try:
        yield found
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
        access.propagate = propagate


_WARM_UP = 50  # past the custom plans a prepared statement starts with (asyncpg caches it)


def _timed(request: Callable[[], httpx.Response]) -> tuple[float, int]:
    started = time.perf_counter()
    answer = request()
    return (time.perf_counter() - started) * 1000, answer.status_code


def _latency(timings: list[tuple[float, int]]) -> Latency:
    durations = [ms for ms, _ in timings]
    quantiles = statistics.quantiles(durations, n=100)
    failures = sum(1 for _, status in timings if status != 200)
    return Latency(statistics.median(durations), quantiles[94], failures)


async def _forget(redis_url: str, world: _World, hot: list[str]) -> None:
    """What the resolver copied to the product's Redis for the bench's items and code."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [lifecycle.item_key(s) for s in hot]
        keys += [lifecycle.batch_key(world.batch.code_id, world.batch.batch_no),
                 REDIS_KEY_PREFIX + world.batch.code_id]  # fmt: skip
        await client.delete(*keys)
    finally:
        await client.aclose()


def print_lifecycle_table(figures: LifecycleFigures) -> None:
    f = figures
    print(
        "\nlifecycle: items and events on this machine (client, registry and resolver with "
        f"{REGISTRY_WORKERS} workers each, PostgreSQL and Redis on {os.cpu_count()} cores)"
    )
    print(f"  {'case':<58} {'measured':<36} {'target':<14}")
    rows = [
        (f"{f.items:,} serials generated and stored (one transaction)",
         f"{f.issue_seconds:.1f} s", f"<= {ISSUE_TARGET_SECONDS:.0f} s",
         f.issue_seconds <= ISSUE_TARGET_SECONDS),
        (f"{f.ingest_events:,} events ingested, documents of {EVENTS_PER_DOCUMENT:,}, "
         f"{DOCUMENTS_IN_FLIGHT} in flight",
         f"{f.ingest_per_second:,.0f} events/s ({f.ingest_seconds:.1f} s)",
         f">= {INGEST_TARGET_PER_SECOND:,.0f}/s",
         f.ingest_per_second >= INGEST_TARGET_PER_SECOND and not f.ingest_failures),
        ("item scan (L1 hit) vs /healthz, wrk -t2 -c32",
         f"{f.item_scan.rps:,.0f} vs {f.healthz.rps:,.0f} req/s = {f.scan_ratio:.2f}x",
         f">= {SCAN_TARGET_RATIO:.2f}x",
         f.scan_ratio >= SCAN_TARGET_RATIO and not (f.item_scan.non_2xx or f.item_scan.errors)),
        (f"timeline of {f.timeline_events} events, {f.stored_events:,} stored: server",
         f"p50 {f.timeline_server.p50_ms:.2f} ms, p95 {f.timeline_server.p95_ms:.2f} ms",
         f"<= {TIMELINE_TARGET_P95_MS:.0f} ms p95",
         f.timeline_server.p95_ms <= TIMELINE_TARGET_P95_MS and not f.timeline_server.failures
         and f.timeline_events == TIMELINE_EVENTS),
    ]  # fmt: skip
    for name, measured, target, ok in rows:
        print(f"  {name:<58} {measured:<36} {target:<14} {'ok' if ok else 'MISSED'}")
    print(
        f"  {'  the same over HTTP (uvicorn, 2 workers)':<58} "
        f"p50 {f.timeline_http.p50_ms:.2f} ms, p95 {f.timeline_http.p95_ms:.2f} ms"
    )
    failures = [
        (f.ingest_failures, "event documents not recorded whole"),
        (f.item_scan.non_2xx + f.item_scan.errors, "item scans not answered 200"),
        (f.timeline_server.failures + f.timeline_http.failures, "timelines not answered 200"),
    ]
    for count, what in failures:
        if count:
            print(f"  {count} {what}")
    print(
        f"  ({f.stored_events:,} stored events written in SQL in {f.generate_seconds:.0f} s; "
        f"scan p50 {f.item_scan.p50_ms:.2f} ms, p99 {f.item_scan.p99_ms:.2f} ms)"
    )
