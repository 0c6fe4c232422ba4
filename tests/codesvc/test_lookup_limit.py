"""The limit on manual lookups, through the real resolver on real Redis: one address is
told to wait (429, Retry-After, a page in its language that keeps what was typed) while
others and every scan go on; mistyped codes are not counted; with Redis unreachable,
lookups go on."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager

import codesvc.app
from codesvc.codes import group_code_id
from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.codesvc.conftest import World
from tests.codesvc.test_security_headers import assert_secured

LIMIT = 3  # lookups a minute per address, for these tests


@asynccontextmanager
async def _clients(
    settings: Settings, urls: ServiceUrls, *addresses: str
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients of one resolver allowing `LIMIT` lookups a minute, each from its own address."""
    config = dataclasses.replace(apps.service_config(settings, urls), lookup_limit_per_minute=LIMIT)
    async with LifespanManager(codesvc.app.create_app(config)) as manager:
        transports = [
            httpx.ASGITransport(app=manager.app, client=(address, 40000)) for address in addresses
        ]
        clients = [httpx.AsyncClient(transport=t, base_url="http://testserver") for t in transports]
        try:
            yield clients
        finally:
            for client in clients:
                await client.aclose()


async def _in_one_window() -> None:
    """Waits out the last seconds of a minute: the window is a fixed minute, and a test
    that crossed into the next would find its allowance renewed."""
    into = time.time() % 60
    if into > 55:
        await asyncio.sleep(60 - into + 0.1)


async def test_one_address_is_told_to_wait_and_only_it(
    world: World, settings: Settings, service_urls: ServiceUrls
) -> None:
    code = await world.publish()
    typed = group_code_id(code[:16]).lower()  # as a person types it
    await _in_one_window()
    async with _clients(settings, service_urls, "10.1.0.1", "10.1.0.2") as (first, second):
        for _ in range(LIMIT):
            assert (await first.get(f"/lookup?id={typed}")).status_code == 303
        refused = await first.get(f"/lookup?id={typed}&lang=en")
        assert refused.status_code == 429
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 60
        assert refused.headers["content-type"].startswith("text/html")
        assert refused.headers["cache-control"] == "no-store"
        assert "Too many lookups" in refused.text
        assert f"Try again in {wait} seconds" in refused.text
        assert "Scanning the QR code" in refused.text
        assert f'value="{typed}"' in refused.text  # the form keeps what was typed
        assert_secured(refused)

        in_chinese = await first.get(f"/lookup?id={typed}")
        assert in_chinese.status_code == 429
        assert "查询过于频繁" in in_chinese.text
        assert "秒后再试" in in_chinese.text

        assert (await second.get(f"/lookup?id={typed}")).status_code == 303
        for _ in range(LIMIT + 1):  # scans are never limited, from the same address either
            assert (await first.get(f"/C/{code}")).status_code == 200


async def test_a_mistyped_code_uses_up_nothing(
    world: World, settings: Settings, service_urls: ServiceUrls
) -> None:
    code = await world.publish()
    await _in_one_window()
    async with _clients(settings, service_urls, "10.1.1.1") as (client,):
        for _ in range(LIMIT + 2):
            assert (await client.get("/lookup?id=14AB-CDEF")).status_code == 400
        for _ in range(LIMIT):
            assert (await client.get(f"/lookup?id={code[:16]}")).status_code == 303
        assert (await client.get(f"/lookup?id={code[:16]}")).status_code == 429


async def test_with_redis_unreachable_lookups_go_on(
    world: World, settings: Settings, service_urls: ServiceUrls
) -> None:
    code = await world.publish()  # in PostgreSQL, where the resolver reads it without Redis
    no_redis = dataclasses.replace(service_urls, redis_url="redis://127.0.0.1:1/0")
    async with _clients(settings, no_redis, "10.1.2.1") as (client,):
        for _ in range(LIMIT + 2):
            answer = await client.get(f"/lookup?id={code[:16]}")
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"].startswith(f"/C/{code}?src=typed")
