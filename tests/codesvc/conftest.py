"""Fixtures of the codesvc tests: a world of pool, Redis, relay and key ring that issues and
publishes codes the way the registry will."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
import redis.asyncio as aioredis

from codesvc.issuance import CodeStatus, change_code_status, issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.relay import Relay
from safecode.demo import sample_record
from safecode.embedded import ServiceUrls

BASE = "http://127.0.0.1:8000"  # the test settings' PUBLIC_BASE_URL


@dataclass
class World:
    pool: asyncpg.Pool
    redis: aioredis.Redis
    relay: Relay
    keyring: KeyRing

    async def publish(self, subject: str = "e/p", **record_changes: str) -> str:
        async with self.pool.acquire() as conn:
            issued = await issue_code(conn, subject, keyring=self.keyring, province="14")
            await publish(
                conn, issued.code.code_id, sample_record(**record_changes), public_base_url=BASE
            )
        await self.relay.drain()
        return issued.code.text

    async def set_status(self, code: str, status: CodeStatus, reason: str) -> None:
        async with self.pool.acquire() as conn:
            await change_code_status(
                conn, code[:16], status, reason=reason, actor="test", public_base_url=BASE
            )
        await self.relay.drain()


@pytest.fixture
async def world(
    pool: asyncpg.Pool, service_urls: ServiceUrls, keyring: KeyRing
) -> AsyncIterator[World]:
    client = aioredis.Redis.from_url(service_urls.redis_url)
    yield World(
        pool, client, Relay(service_urls.database_url, pool, client, redis_ttl=600), keyring
    )
    await client.aclose()
