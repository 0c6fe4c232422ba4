"""The scan path with its backing services failing: private servers, stopped mid-test."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.relay import Relay
from safecode.demo import sample_record
from safecode.embedded import EmbeddedPostgres, EmbeddedRedis, ServiceUrls
from safecode.migrations import apply_migrations, discover
from safecode.settings import Settings
from tests.conftest import resolver_with

pytestmark = pytest.mark.slow
BASE = "http://127.0.0.1:8000"


@dataclasses.dataclass
class PrivateServers:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    urls: ServiceUrls

    async def stop_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.stop)

    async def start_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.start)

    async def stop_redis(self) -> None:
        await asyncio.to_thread(self.redis.stop)

    async def start_redis(self) -> None:
        await asyncio.to_thread(self.redis.start)


@pytest.fixture
def private_servers(tmp_path: Path) -> Iterator[PrivateServers]:
    postgres, redis = EmbeddedPostgres(tmp_path), EmbeddedRedis(tmp_path)
    try:
        urls = ServiceUrls(postgres.start(), redis.start())
        yield PrivateServers(postgres, redis, urls)
    finally:
        redis.stop()
        postgres.stop()


async def _publish(urls: ServiceUrls) -> str:
    conn = await asyncpg.connect(urls.database_url)
    try:
        await apply_migrations(conn, discover())
        issued = await issue_code(conn, "e/p", keyring=KeyRing(bytes(32)), province="14")
        await publish(conn, issued.code.code_id, sample_record(), public_base_url=BASE)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(urls.database_url, min_size=1, max_size=2)
    client = aioredis.Redis.from_url(urls.redis_url)
    try:
        await Relay(urls.database_url, pool, client, redis_ttl=600).drain()
    finally:
        await client.aclose()
        await pool.close()
    return issued.code.text


async def test_each_store_covers_for_the_other_and_recovery_is_automatic(
    private_servers: PrivateServers, settings: Settings
) -> None:
    code = await _publish(private_servers.urls)
    # No L1: every scan has to reach Redis or PostgreSQL.
    async for client in resolver_with(settings, private_servers.urls, l1_cache_size=0):
        assert (await client.get(f"/C/{code}")).status_code == 200

        await private_servers.stop_redis()
        from_postgres = await client.get(f"/C/{code}")
        assert from_postgres.status_code == 200
        assert "丙酮" in from_postgres.text

        await private_servers.start_redis()  # it saved the entry as it stopped
        await private_servers.stop_postgres()
        await asyncio.sleep(1.1)  # past the pause that follows a Redis failure
        from_redis = await client.get(f"/C/{code}")
        assert from_redis.status_code == 200
        assert "丙酮" in from_redis.text

        await private_servers.stop_redis()
        unavailable = await client.get(f"/C/{code}")
        assert unavailable.status_code == 503
        assert "服务暂不可用" in unavailable.text
        assert "Traceback" not in unavailable.text

        await private_servers.start_postgres()
        await private_servers.start_redis()
        await asyncio.sleep(1.1)
        recovered = await client.get(f"/C/{code}")
        assert recovered.status_code == 200


async def test_with_both_stores_down_a_code_held_in_memory_is_still_served(
    private_servers: PrivateServers, settings: Settings
) -> None:
    code = await _publish(private_servers.urls)
    async for client in resolver_with(settings, private_servers.urls, l1_cache_ttl_seconds=0.1):
        assert (await client.get(f"/C/{code}")).status_code == 200
        await private_servers.stop_redis()
        await private_servers.stop_postgres()
        await asyncio.sleep(0.2)  # the L1 copy has expired: stale, but better than nothing
        stale = await client.get(f"/C/{code}")
        assert stale.status_code == 200
        assert "丙酮" in stale.text
        assert (await client.get(f"/C/{code}?view=sds")).status_code == 503  # never held
