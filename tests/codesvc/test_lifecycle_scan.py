"""Scanning a batch or an item through the real resolver, on real PostgreSQL and Redis:
what a reader sees of a declared, undeclared or recalled batch and of each item state; the
"not a genuine item" page; recalls reaching scans within a second; the JSON variant and
ETags; faults; and the flags the registry will turn into alerts."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from codesvc import lifecycle, storage
from codesvc.lifecycle_cache import LifecycleCache
from codesvc.records import VIEWS
from codesvc.scancache import BackendUnavailable
from codesvc.serials import check_character, new_serials
from codesvc.storage import BatchRow
from codesvc.telemetry import ScanFlag, ScanFlags, move_flags_to_postgres
from public_site.scan_pages import (
    BatchFacts,
    PackageFacts,
    RecallFacts,
    ScanLifecycle,
    render_scan_context,
)
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.codesvc.conftest import World
from tests.conftest import resolver_with

CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/nothing"
BATCH = "LOT-2026-11"
RECALLED = "此批次已被召回"
JSON = {"Accept": "application/json"}


async def declare(world: World, code: str, batch_no: str = BATCH) -> BatchRow:
    async with world.pool.acquire() as conn, conn.transaction():
        return await lifecycle.declare_batch(
            conn,
            code_id=code[:16],
            batch_no=batch_no,
            produced_on=date(2026, 11, 5),
            use_by=date(2028, 11, 4),
            use_by_kind="expiry",
            quantity=Decimal("200.000"),
            unit="kg",
            packaging={"inner": {"kind": "钢桶", "capacity": 25, "unit": "kg"}, "outer": None},
            site="清徐精细化工园区",
            declared_by="test",
        )


async def issue(world: World, batch: BatchRow, count: int = 1) -> list[str]:
    async with world.pool.acquire() as conn, conn.transaction():
        issued = await lifecycle.issue_items(
            conn, batch, kind="item", count=count, issued_by="test"
        )
        rows = await storage.fetch_issue_serials(conn, issued.id, after_seq=0, limit=count)
    return [serial for _, serial in rows]


async def set_state(
    world: World, serial: str, state: str, on: datetime, *, alerted: bool = False
) -> None:
    async with world.pool.acquire() as conn, conn.transaction():
        item = (await storage.fetch_items_for_update(conn, [serial]))[serial]
        changed = dataclasses.replace(item, state=state, state_at=on)
        await lifecycle.change_items(conn, [changed], alerted=[serial] if alerted else ())
    await world.relay.drain()


async def recall(world: World, batch: BatchRow, reason: str = "杂质超标") -> None:
    async with world.pool.acquire() as conn, conn.transaction():
        await lifecycle.start_recall(
            conn,
            batch,
            reason=reason,
            instructions="停止使用，联系供应商退回。",
            started_by="test",
        )


async def until(
    client: httpx.AsyncClient,
    paths: Sequence[str],
    condition: Callable[[httpx.Response], bool],
    seconds: float = 1.0,
    headers: dict[str, str] | None = None,
) -> list[httpx.Response]:
    """The answers to `paths` once all meet `condition`; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        answers = [await client.get(path, headers=headers) for path in paths]
        if all(condition(answer) for answer in answers):
            return answers
        assert time.monotonic() < deadline, [a.text[:2000] for a in answers]
        await asyncio.sleep(0.02)


def mistyped(serial: str) -> str:
    """The serial with its check character replaced by another symbol."""
    wrong = "0" if serial[-1] != "0" else "1"
    assert check_character(serial[:-1]) != wrong
    return serial[:-1] + wrong


@pytest.fixture
async def code(world: World) -> str:
    return await world.publish()


async def test_a_declared_batch_shows_its_block_under_the_title(
    world: World, code: str, resolver_client: httpx.AsyncClient
) -> None:
    await declare(world, code)
    await world.relay.drain()
    (page,) = await until(
        resolver_client, [f"/C/{code}/B/{BATCH}?lang=en"], lambda r: "Produced on" in r.text
    )
    assert page.status_code == 200
    text = page.text
    for shown in ("Batch LOT-2026-11", "2026-11-05", "Use by", "2028-11-04", "200 kg"):
        assert shown in text
    assert "Inner: 钢桶 25 kg" in text
    assert "清徐精细化工园区" in text
    assert "not declared" not in text
    assert "Acetone" in text
    assert "H225" in text
    # Above the data: the batch comes before the views and the label.
    assert text.index("Produced on") < text.index('class="views"') < text.index("H225")


async def test_an_undeclared_batch_is_said_so_above_the_hazard_data(
    world: World, code: str, settings: Settings, service_urls: ServiceUrls
) -> None:
    async for client in resolver_with(settings, service_urls, l1_cache_ttl_seconds=3600):
        page = await client.get(f"/C/{code}/B/{BATCH}")
        assert page.status_code == 200
        assert "生产企业未申报此批次" in page.text
        assert "丙酮" in page.text
        assert 'class="signal danger">危险<' in page.text
        assert page.text.index("生产企业未申报此批次") < page.text.index("危险性说明")
        assert "生产日期" not in page.text  # never pretending
        as_json = (await client.get(f"/C/{code}/B/{BATCH}", headers=JSON)).json()
        assert as_json["batch"] == {"batch_no": BATCH, "status": "not_declared"}
        assert as_json["record"]["transport"]["un_number"] == "UN1090"

        # Declared after that scan ("not declared" was cached): the next scans show it.
        await declare(world, code)
        await world.relay.drain()
        await until(client, [f"/C/{code}/B/{BATCH}"], lambda r: "生产日期" in r.text)


async def test_a_recall_reaches_every_view_and_item_within_a_second_and_ends(
    world: World, code: str, settings: Settings, service_urls: ServiceUrls
) -> None:
    batch = await declare(world, code)
    (serial,) = await issue(world, batch)
    await world.relay.drain()
    paths = [f"/C/{code}/B/{BATCH}?view={view}" for view in VIEWS]
    paths += [f"/C/{code}/B/{BATCH}/S/{serial}", f"/C/{code}/B/{BATCH}/S/{serial}?view=sds"]
    stop = asyncio.Event()
    relay = asyncio.create_task(world.relay.run(stop))  # woken by NOTIFY at commit
    try:
        async for client in resolver_with(settings, service_urls, l1_cache_ttl_seconds=3600):
            for path in paths:  # held in L1 (for an hour) before the recall
                assert RECALLED not in (await client.get(path)).text
            before = await client.get(f"/C/{code}/B/{BATCH}", headers=JSON)
            assert before.json()["batch"]["recall"] is None

            await recall(world, batch, reason="杂质<超标>")
            pages = await until(client, paths, lambda r: RECALLED in r.text, seconds=1.0)
            for page in pages:
                text = page.text
                banner = text.index('class="banner forged recall" role="alert"')
                assert banner < text.index(RECALLED) < text.index('class="views"')
                assert "杂质&lt;超标&gt;" in text  # escaped
                assert "停止使用，联系供应商退回。" in text
                assert f"召回开始日期</dt><dd>{datetime.now(UTC).date().isoformat()}" in text
            english = await client.get(f"/C/{code}/B/{BATCH}?lang=en")
            assert "Recall: this batch is recalled" in english.text
            # A browser holding the page before the recall is not told 304.
            again = await client.get(
                f"/C/{code}/B/{BATCH}", headers={**JSON, "If-None-Match": before.headers["etag"]}
            )
            assert again.status_code == 200
            assert again.json()["batch"]["recall"]["reason"] == "杂质<超标>"

            async with world.pool.acquire() as conn, conn.transaction():
                await lifecycle.end_recall(conn, batch, ended_by="test", note="复检合格")
            await until(client, paths, lambda r: RECALLED not in r.text, seconds=1.0)
    finally:
        stop.set()
        await relay


async def test_each_item_state_is_shown_with_what_it_means(
    world: World, code: str, resolver_client: httpx.AsyncClient
) -> None:
    batch = await declare(world, code)
    received, destroyed, consumed, recalled, quarantined = await issue(world, batch, 5)
    on = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    await set_state(world, received, "received", on)
    await set_state(world, destroyed, "destroyed", on)
    await set_state(world, consumed, "consumed", on)
    await set_state(world, recalled, "recalled", on)
    await set_state(world, quarantined, "quarantined", on)
    expected = {
        received: ["状态: 已收货 (2026-12-01)"],
        destroyed: ["已销毁（2026-12-01）：此包装不应存在。"],
        consumed: ["已用完（2026-12-01）"],
        recalled: ["已召回（2026-12-01）：请勿使用"],
        quarantined: ["已隔离（2026-12-01）"],
    }
    for serial, texts in expected.items():
        page = await resolver_client.get(f"/C/{code}/B/{BATCH}/S/{serial}")
        assert page.status_code == 200
        for text in texts:
            assert text in page.text
        assert f"序列号: {serial}" in page.text
        assert "丙酮" in page.text
    english = await resolver_client.get(f"/C/{code}/B/{BATCH}/S/{destroyed}?lang=en")
    assert "Destroyed on 2026-12-01: this package should not exist." in english.text
    english = await resolver_client.get(f"/C/{code}/B/{BATCH}/S/{consumed}?lang=en")
    assert "Used up on 2026-12-01" in english.text
    # Only what must be feared gets an alert banner: a received package does not.
    calm = await resolver_client.get(f"/C/{code}/B/{BATCH}/S/{received}")
    assert 'role="alert"' not in calm.text


async def test_an_alerted_item_shows_a_caution(
    world: World, code: str, resolver_client: httpx.AsyncClient
) -> None:
    batch = await declare(world, code)
    (serial,) = await issue(world, batch)
    path = f"/C/{code}/B/{BATCH}/S/{serial}?lang=en"
    assert "Caution" not in (await resolver_client.get(path)).text
    await set_state(world, serial, "received", datetime.now(UTC), alerted=True)
    (page,) = await until(resolver_client, [path], lambda r: "Caution" in r.text)
    today = datetime.now(UTC).date().isoformat()
    caution = f"an alert was raised about this package's serial on {today}: check it"
    assert caution in html.unescape(page.text)


async def test_a_serial_never_issued_or_of_another_batch_is_not_a_genuine_item(
    world: World, code: str, resolver_client: httpx.AsyncClient
) -> None:
    batch = await declare(world, code)
    await declare(world, code, "LOT-OTHER")
    (serial,) = await issue(world, batch)
    other_code = await world.publish("e/other")
    await declare(world, other_code)
    never = new_serials(1)[0]
    for path in (
        f"/C/{code}/B/{BATCH}/S/{never}",  # never issued
        f"/C/{code}/B/LOT-OTHER/S/{serial}",  # issued for another batch of the code
        f"/C/{code}/B/NOT-DECLARED/S/{serial}",  # and a batch never declared
        f"/C/{other_code}/B/{BATCH}/S/{serial}",  # issued under another code
    ):
        for lang, title in (("zh", "这不是真实的包装序列号"), ("en", "This is not a genuine item")):
            page = await resolver_client.get(f"{path}?lang={lang}")
            assert page.status_code == 404, path
            assert title in page.text
            assert "12350" in page.text  # how to report it
            for data in ("丙酮", "Acetone", "UN1090", "H225"):
                assert data not in page.text
        as_json = await resolver_client.get(path, headers=JSON)
        assert as_json.status_code == 404
        assert "UN1090" not in as_json.text
    genuine = await resolver_client.get(f"/C/{code}/B/{BATCH}/S/{serial.lower()}")
    assert genuine.status_code == 200  # any case, as codes are read


async def test_a_mistyped_serial_is_refused_before_any_lookup(
    world: World, code: str, settings: Settings, service_urls: ServiceUrls
) -> None:
    (serial,) = new_serials(1)
    dead = ServiceUrls(database_url=CLOSED_POSTGRES, redis_url=CLOSED_REDIS)
    # With both stores unreachable, a scan that looked anything up would be a 503.
    async for client in resolver_with(settings, dead):
        page = await client.get(f"/C/{code}/B/{BATCH}/S/{mistyped(serial)}?lang=en")
        assert page.status_code == 400
        assert "check character does not match" in page.text
        assert (await client.get(f"/C/{code}/B/{BATCH}/S/{serial[:-1]}")).status_code == 400
        assert (await client.get(f"/C/{code}/B/{BATCH}/S/{serial}")).status_code == 503


async def test_json_carries_the_batch_and_item_and_plain_scans_do_not(
    world: World, code: str, resolver_client: httpx.AsyncClient
) -> None:
    batch = await declare(world, code)
    (serial,) = await issue(world, batch)
    on = datetime(2026, 12, 1, tzinfo=UTC)
    await set_state(world, serial, "shipped", on)
    plain = (await resolver_client.get(f"/C/{code}", headers=JSON)).json()
    assert "batch" not in plain
    assert "item" not in plain
    document = (await resolver_client.get(f"/C/{code}/B/{BATCH}/S/{serial}", headers=JSON)).json()
    assert document["record"] == plain["record"]
    assert document["batch"] == {
        "status": "declared",
        "batch_no": BATCH,
        "produced_on": "2026-11-05",
        "use_by": "2028-11-04",
        "use_by_kind": "expiry",
        "quantity": "200",
        "unit": "kg",
        "packaging": {"inner": {"kind": "钢桶", "capacity": "25", "unit": "kg"}, "outer": None},
        "site": "清徐精细化工园区",
        "recall": None,
    }
    assert document["item"] == {
        "serial": serial,
        "status": "genuine",
        "kind": "item",
        "state": "shipped",
        "state_on": "2026-12-01",
        "parent": None,
        "alerted_on": None,
    }


async def test_the_etag_changes_with_the_item_state(
    world: World, code: str, resolver_client: httpx.AsyncClient
) -> None:
    batch = await declare(world, code)
    (serial,) = await issue(world, batch)
    path = f"/C/{code}/B/{BATCH}/S/{serial}"
    first = await resolver_client.get(path)
    same = await resolver_client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    plain = await resolver_client.get(f"/C/{code}")
    assert plain.headers["etag"] != first.headers["etag"]

    await set_state(world, serial, "destroyed", datetime.now(UTC))
    (changed,) = await until(
        resolver_client,
        [path],
        lambda r: r.status_code == 200,
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert "此包装不应存在" in changed.text
    assert changed.headers["etag"] != first.headers["etag"]
    again = await resolver_client.get(path, headers={"If-None-Match": changed.headers["etag"]})
    assert again.status_code == 304


async def test_with_redis_down_batches_and_items_come_from_postgres(
    world: World, code: str, settings: Settings, service_urls: ServiceUrls
) -> None:
    batch = await declare(world, code)
    (serial,) = await issue(world, batch)
    await recall(world, batch)
    without_redis = dataclasses.replace(service_urls, redis_url=CLOSED_REDIS)
    async for client in resolver_with(settings, without_redis):
        page = await client.get(f"/C/{code}/B/{BATCH}/S/{serial}")
        assert page.status_code == 200
        assert RECALLED in page.text
        assert "生产日期" in page.text
        never = await client.get(f"/C/{code}/B/{BATCH}/S/{new_serials(1)[0]}")
        assert never.status_code == 404


async def test_with_postgres_down_batches_come_from_redis(
    world: World, code: str, settings: Settings, service_urls: ServiceUrls
) -> None:
    batch = await declare(world, code)
    await recall(world, batch)
    await world.relay.drain()
    async for client in resolver_with(settings, service_urls):
        assert RECALLED in (await client.get(f"/C/{code}/B/{BATCH}")).text
    # The miss was copied to Redis (with the generation it had when PostgreSQL was read).
    key = lifecycle.batch_key(code[:16], BATCH)
    assert b"recall" in (await world.redis.get(key) or b"")
    without_postgres = dataclasses.replace(service_urls, database_url=CLOSED_POSTGRES)
    async for client in resolver_with(settings, without_postgres):
        page = await client.get(f"/C/{code}/B/{BATCH}")
        assert page.status_code == 200
        assert RECALLED in page.text
        # A batch neither store holds: the hazard data, claiming nothing of the batch.
        unknown = await client.get(f"/C/{code}/B/NEVER-SEEN?lang=en")
        assert unknown.status_code == 200
        assert "could not be checked just now" in unknown.text
        assert "not declared" not in unknown.text
        assert "Acetone" in unknown.text


async def test_a_copy_read_before_a_recall_never_lands_after_it(
    world: World, code: str, pool: asyncpg.Pool
) -> None:
    """The race a plain SET would lose: PostgreSQL read before the recall commits, the
    relay drops the key, then the old answer is written to Redis for a whole day."""
    batch = await declare(world, code)
    await world.relay.drain()
    key = lifecycle.batch_key(code[:16], BATCH)
    cache = LifecycleCache(pool, world.redis, l1_size=0, l1_ttl=0, negative_ttl=1, redis_ttl=86400)
    generations = await cache._generations([key])  # as _load reads them, first
    assert generations is not None
    before = await cache._load([key])
    await cache.close()
    await world.redis.delete(key)  # the copy above landed; replay it after a recall
    await recall(world, batch)
    await world.relay.drain()
    cache._copy({key: before[key].answer}, generations)
    await cache.close()
    assert await world.redis.get(key) is None
    fresh = await cache.batch(code[:16], BATCH)
    assert fresh is not None
    assert fresh.recall is not None


async def test_stale_memory_answers_when_both_stores_are_down(
    world: World, code: str, service_urls: ServiceUrls
) -> None:
    await declare(world, code)
    pool = await asyncpg.create_pool(service_urls.database_url, min_size=0, max_size=2)
    broken_redis = aioredis.Redis.from_url(CLOSED_REDIS, socket_connect_timeout=0.5)
    cache = LifecycleCache(
        pool, broken_redis, l1_size=100, l1_ttl=0.05, negative_ttl=0.05, redis_ttl=60
    )
    try:
        held = await cache.batch(code[:16], BATCH)
        assert held is not None
        await pool.close()
        await asyncio.sleep(0.1)  # expired in L1
        assert await cache.batch(code[:16], BATCH) == held
        with pytest.raises(BackendUnavailable):
            await cache.batch(code[:16], "NEVER-SEEN")
    finally:
        await cache.close()
        await broken_redis.aclose()


async def test_scan_flags_are_counted_and_reach_postgres(
    world: World, code: str, settings: Settings, service_urls: ServiceUrls
) -> None:
    batch = await declare(world, code)
    await declare(world, code, "LOT-OTHER")
    destroyed, live = await issue(world, batch, 2)
    await set_state(world, destroyed, "destroyed", datetime.now(UTC))
    never = new_serials(1)[0]
    async for client in resolver_with(settings, service_urls):
        for path, status in [
            (f"/C/{code}/B/{BATCH}", 200),
            (f"/C/{code}/B/{BATCH}?view=sds", 200),
            (f"/C/{code}/B/{BATCH}/S/{live}", 200),
            (f"/C/{code}/B/{BATCH}/S/{destroyed}", 200),
            (f"/C/{code}/B/{BATCH}/S/{destroyed}", 200),
            (f"/C/{code}/B/{BATCH}/S/{never}", 404),
            (f"/C/{code}/B/LOT-OTHER/S/{live}", 404),
            (f"/C/{code}/B/UNDECLARED", 200),  # no batch to compare with: not counted
            (f"/C/{code}", 200),
        ]:
            assert (await client.get(path)).status_code == status, path
    # The resolver flushed its flags to Redis as it stopped; the relay moves them.
    assert await move_flags_to_postgres(world.redis, world.pool) == 9
    assert await move_flags_to_postgres(world.redis, world.pool) == 0
    async with world.pool.acquire() as conn:
        flags = await storage.fetch_scan_flags(
            conn, code_ids=[code[:16]], since=datetime.now(UTC) - timedelta(minutes=5), limit=10
        )
        assert not await storage.fetch_scan_flags(
            conn, code_ids=["14ZZZZZZZZZZZZZZ"], since=None, limit=10
        )
        assert not await storage.fetch_scan_flags(
            conn, code_ids=None, since=datetime.now(UTC) + timedelta(minutes=5), limit=10
        )
    seen = {(f.kind, f.batch_no, f.serial): f.scans for f in flags}
    assert seen == {
        ("batch_scans", BATCH, None): 5,
        ("after_end", BATCH, destroyed): 2,
        ("not_issued", BATCH, never): 1,
        ("other_batch", "LOT-OTHER", live): 1,
    }
    for flag in flags:
        assert flag.day == date.today()
        assert flag.first_at <= flag.last_at


async def test_flags_from_two_processes_keep_the_earliest_and_latest(
    world: World,
) -> None:
    first, second = ScanFlags(), ScanFlags()
    start = time.time()
    first.add(ScanFlag.AFTER_END, "14ABCDEFGHJKMNPQ", BATCH, "SERIAL", at=start + 10)
    second.add(ScanFlag.AFTER_END, "14ABCDEFGHJKMNPQ", BATCH, "SERIAL", at=start)
    second.add(ScanFlag.AFTER_END, "14ABCDEFGHJKMNPQ", BATCH, "SERIAL", at=start + 5)
    assert await first.flush(world.redis) == 1
    assert await second.flush(world.redis) == 2
    assert await move_flags_to_postgres(world.redis, world.pool) == 3
    async with world.pool.acquire() as conn:
        (flag,) = await storage.fetch_scan_flags(conn, code_ids=None, since=None, limit=5)
    assert flag.scans == 3
    assert flag.first_at.timestamp() == pytest.approx(start)
    assert flag.last_at.timestamp() == pytest.approx(start + 10)


async def test_flags_wait_in_memory_while_redis_is_down_within_a_bound(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("codesvc.telemetry.MAX_PENDING", 3)
    flags = ScanFlags()
    for n in range(5):
        flags.add(ScanFlag.NOT_ISSUED, "14ABCDEFGHJKMNPQ", BATCH, f"S{n}")
    flags.add(ScanFlag.NOT_ISSUED, "14ABCDEFGHJKMNPQ", BATCH, "S0")  # held: counted
    assert flags.dropped == 2
    broken = aioredis.Redis.from_url(CLOSED_REDIS, socket_connect_timeout=0.5)
    assert await flags.flush(broken) == 0
    await broken.aclose()
    assert await flags.flush(world.redis) == 4


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(reason=_TEXT, instructions=_TEXT, site=_TEXT, kind=_TEXT)
def test_whatever_an_enterprise_wrote_is_escaped(
    reason: str, instructions: str, site: str, kind: str
) -> None:
    def context(reason: str, instructions: str, site: str, kind: str) -> str:
        batch = BatchFacts(
            batch_no=BATCH,
            produced_on="2026-11-05",
            use_by="2028-11-04",
            use_by_kind="retest",
            quantity="1",
            unit="t",
            inner=PackageFacts(kind, "1", "t"),
            outer=None,
            site=site,
            recall=RecallFacts(reason, instructions, "2026-12-01"),
        )
        lifecycle = ScanLifecycle(batch)
        return render_scan_context(
            "en", typed=False, batch=BATCH, serial=None, lifecycle=lifecycle
        ).decode()

    hostile = context(reason, instructions, site or "x", kind or "x")
    plain = context("x", "x", "x", "x")
    # No text written by an enterprise makes a tag: the markup is the same as for "x".
    assert hostile.count("<") == plain.count("<")
    assert str(escape(reason)) in hostile
