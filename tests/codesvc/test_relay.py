"""The relay and the scan counts: nothing lost, nothing older wins, one relay at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from codesvc.issuance import find_code, issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.relay import Relay
from codesvc.scancache import REDIS_KEY_PREFIX, CodeEntry, Variant, store_in_redis
from codesvc.telemetry import ScanCounter, move_counts_to_postgres
from safecode.demo import sample_record
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.conftest import resolver_with

BASE = "http://127.0.0.1:8000"
CLOSED_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
async def redis_client(service_urls: ServiceUrls) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(service_urls.redis_url)
    yield client
    await client.aclose()


async def _issue_and_publish(pool: asyncpg.Pool, keyring: KeyRing, revision: str) -> str:
    async with pool.acquire() as conn:
        issued = await issue_code(conn, "e/p", keyring=keyring, province="14")
        await publish(conn, issued.code.code_id, sample_record(revision), public_base_url=BASE)
    return issued.code.code_id


async def _outbox(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM cache_outbox")
        return count


async def test_the_relay_copies_the_latest_version_and_empties_the_outbox(
    pool: asyncpg.Pool, keyring: KeyRing, redis_client: aioredis.Redis, service_urls: ServiceUrls
) -> None:
    code_id = await _issue_and_publish(pool, keyring, "1.0")
    await _issue_and_publish(pool, keyring, "2.0")
    assert await _outbox(pool) == 2
    relay = Relay(service_urls.database_url, pool, redis_client, redis_ttl=600)
    assert await relay.drain() == 2
    assert await _outbox(pool) == 0
    stored = await redis_client.hgetall(REDIS_KEY_PREFIX + code_id)
    assert stored[b"version"] == b"2"
    assert "版本 2.0".encode() in stored[b"html:label:zh"]
    assert 0 < await redis_client.ttl(REDIS_KEY_PREFIX + code_id) <= 600


async def test_an_older_version_never_overwrites_a_newer_one(redis_client: aioredis.Redis) -> None:
    newer = CodeEntry("CODE", "active", 5, {"json": Variant(b"new", '"n"')})
    older = CodeEntry("CODE", "active", 4, {"json": Variant(b"old", '"o"')})
    assert await store_in_redis(redis_client, "14ABCDEFGHJKMNPQ", newer, 60)
    assert not await store_in_redis(redis_client, "14ABCDEFGHJKMNPQ", older, 60)
    assert await redis_client.hget(REDIS_KEY_PREFIX + "14ABCDEFGHJKMNPQ", "json") == b"new"


async def test_with_redis_down_the_outbox_keeps_everything_for_later(
    pool: asyncpg.Pool, keyring: KeyRing, redis_client: aioredis.Redis, service_urls: ServiceUrls
) -> None:
    code_id = await _issue_and_publish(pool, keyring, "1.0")
    broken = aioredis.Redis.from_url(CLOSED_REDIS, socket_connect_timeout=0.5)
    with pytest.raises(RedisConnectionError):
        await Relay(service_urls.database_url, pool, broken, redis_ttl=600).drain()
    await broken.aclose()
    assert await _outbox(pool) == 1
    assert await Relay(service_urls.database_url, pool, redis_client, redis_ttl=600).drain() == 1
    assert await redis_client.exists(REDIS_KEY_PREFIX + code_id)


async def test_only_one_relay_is_active_and_a_standby_takes_over(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, service_urls: ServiceUrls
) -> None:
    first = Relay(service_urls.database_url, pool, redis_client, redis_ttl=600)
    second = Relay(service_urls.database_url, pool, redis_client, redis_ttl=600)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    first_task = asyncio.create_task(first.run(stop_first))
    await _until(lambda: first.active)
    second_task = asyncio.create_task(second.run(stop_second))
    await asyncio.sleep(0.5)
    assert first.active
    assert not second.active
    stop_first.set()
    await first_task
    await _until(lambda: second.active, seconds=5)  # the standby's next try gets the lock
    stop_second.set()
    await second_task


async def test_a_running_relay_picks_up_a_publish_at_once(
    pool: asyncpg.Pool, keyring: KeyRing, redis_client: aioredis.Redis, service_urls: ServiceUrls
) -> None:
    relay = Relay(service_urls.database_url, pool, redis_client, redis_ttl=600)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await _until(lambda: relay.active)
    code_id = await _issue_and_publish(pool, keyring, "1.0")
    try:
        await _until_async(lambda: redis_client.exists(REDIS_KEY_PREFIX + code_id), seconds=1)
    finally:
        stop.set()
        await task


async def test_scan_counts_reach_postgres(pool: asyncpg.Pool, redis_client: aioredis.Redis) -> None:
    counter = ScanCounter()
    day = date(2026, 11, 28)
    for _ in range(3):
        counter.add("14ABCDEFGHJKMNPQ", "label", day)
    counter.add("14ABCDEFGHJKMNPQ", "json", day)
    assert await counter.flush(redis_client) == 4
    counter.add("14ABCDEFGHJKMNPQ", "label", day)
    assert await counter.flush(redis_client) == 1
    assert await move_counts_to_postgres(redis_client, pool) == 5
    assert await move_counts_to_postgres(redis_client, pool) == 0  # moved once only
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT view, scans FROM scan_counts ORDER BY view")
    assert [(r["view"], r["scans"]) for r in rows] == [("json", 1), ("label", 4)]


async def test_counts_wait_in_memory_while_redis_is_down(redis_client: aioredis.Redis) -> None:
    counter = ScanCounter()
    counter.add("14ABCDEFGHJKMNPQ", "label")
    broken = aioredis.Redis.from_url(CLOSED_REDIS, socket_connect_timeout=0.5)
    assert await counter.flush(broken) == 0
    await broken.aclose()
    assert await counter.flush(redis_client) == 1


async def test_metrics_count_requests_and_cache_layers(
    pool: asyncpg.Pool,
    keyring: KeyRing,
    redis_client: aioredis.Redis,
    service_urls: ServiceUrls,
    resolver_client: httpx.AsyncClient,
) -> None:
    code_id = await _issue_and_publish(pool, keyring, "1.0")
    await Relay(service_urls.database_url, pool, redis_client, redis_ttl=600).drain()
    async with pool.acquire() as conn:
        issued = await find_code(conn, code_id)
    code = issued.code.text
    for _ in range(3):
        assert (await resolver_client.get(f"/C/{code}")).status_code == 200
    await resolver_client.get("/C/junk")
    text = (await resolver_client.get("/metrics")).text
    assert 'safecode_http_requests_total{route="/C/{code}",status="200"} 3.0' in text
    assert 'safecode_http_requests_total{route="/C/{code}",status="400"} 1.0' in text
    assert 'safecode_scan_lookups_total{layer="redis"} 1.0' in text
    assert 'safecode_scan_lookups_total{layer="l1"} 2.0' in text
    assert "safecode_http_request_duration_seconds_bucket" in text


async def _until(condition: object, seconds: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _until_async(condition: object, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_misses_fill_redis_one_variant_at_a_time_and_never_over_newer(
    pool: asyncpg.Pool,
    keyring: KeyRing,
    redis_client: aioredis.Redis,
    service_urls: ServiceUrls,
    settings: Settings,
) -> None:
    code_id = await _issue_and_publish(pool, keyring, "1.0")  # not relayed: Redis is empty
    async with pool.acquire() as conn:
        code = (await find_code(conn, code_id)).code.text
    key = REDIS_KEY_PREFIX + code_id
    async for client in resolver_with(settings, service_urls, l1_cache_size=0):
        assert (await client.get(f"/C/{code}")).status_code == 200
        await _until_async(lambda: redis_client.hexists(key, "html:label:zh"), seconds=2)
        assert not await redis_client.hexists(key, "complete")
        assert not await redis_client.hexists(key, "html:sds:zh")
        sds = await client.get(f"/C/{code}?view=sds")  # the partial entry lacks it: PostgreSQL
        assert "第16部分内容" in sds.text
        await _until_async(lambda: redis_client.hexists(key, "html:sds:zh"), seconds=2)

        # A newer version relayed as a whole replaces the partial entry...
        await _issue_and_publish(pool, keyring, "2.0")
        await Relay(service_urls.database_url, pool, redis_client, redis_ttl=600).drain()
        assert await redis_client.hget(key, "complete") == b"1"
        assert await redis_client.hget(key, "version") == b"2"
        # ...and a late fill of the older version does not come back over it.
        stale = CodeEntry(code, "active", 1, {"html:label:zh": Variant(b"old", '"o"')})
        assert not await store_in_redis(redis_client, code_id, stale, 600)
        assert "版本 2.0" in (await client.get(f"/C/{code}")).text


async def test_an_issued_but_unpublished_code_is_cached_as_having_nothing(
    pool: asyncpg.Pool, keyring: KeyRing, service_urls: ServiceUrls, settings: Settings
) -> None:
    async with pool.acquire() as conn:
        issued = await issue_code(conn, "e/new", keyring=keyring, province="14")
    async for client in resolver_with(settings, service_urls):
        for view in ("label", "sds"):
            response = await client.get(f"/C/{issued.code.text}?view={view}")
            assert response.status_code == 404
            assert "尚无经审核发布的安全信息" in response.text
