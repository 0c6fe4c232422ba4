"""The demo data `make run` loads: logins that work, in the right places, and products
approved through the registry and scannable, loaded once."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
import httpx
import redis.asyncio as aioredis

from codesvc.item_states import STATE_NAMES, ItemState
from codesvc.relay import Relay
from safecode.demo import DEMO_ENTERPRISES, DEMO_PASSWORD, ensure_demo_registry
from safecode.demo_lifecycle import ensure_demo_lifecycle
from safecode.demo_products import ensure_demo_products
from safecode.embedded import ServiceUrls


async def test_the_demo_logins_work_where_the_readme_says(
    service_urls: ServiceUrls, master_key: bytes, registry_client: httpx.AsyncClient
) -> None:
    assert await ensure_demo_registry(service_urls.database_url, master_key=master_key)
    assert not await ensure_demo_registry(service_urls.database_url, master_key=master_key)

    async def signed_in(mobile: str) -> dict[str, str]:
        response = await registry_client.post(
            "/api/v1/auth/login", json={"mobile": mobile, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert response.json()["must_change_password"] is False
        return {"Authorization": f"Bearer {response.json()['token']}"}

    county = await signed_in("13800000005")
    approved = await registry_client.get(
        "/api/v1/enterprise-applications?status=approved", headers=county
    )
    assert len(approved.json()["applications"]) == len(DEMO_ENTERPRISES)
    enterprise = await signed_in("13700000001")
    own = approved.json()["applications"][0]["enterprise_id"]
    record = await registry_client.get(f"/api/v1/enterprises/{own}", headers=enterprise)
    assert record.status_code == 200
    # Something of the oversight work to look at: a permit on the record, the notices.
    assert [p["kind"] for p in record.json()["permits"]] == ["production_safety"]
    seen = await registry_client.get("/api/v1/notices", headers=enterprise)
    assert [n["title"] for n in seen.json()["notices"]] == ["关于全面推行危险化学品安全码的通知"]
    seen = await registry_client.get("/api/v1/notices", headers=county)
    assert len(seen.json()["notices"]) == 2
    province = await signed_in("13800000001")
    accounts = await registry_client.get("/api/v1/accounts", headers=province)
    assert {a["level"] for a in accounts.json()["accounts"]} == {
        "province",
        "city",
        "county",
        "park",
    }
    park = await signed_in("13800000007")
    assert (
        await registry_client.get("/api/v1/jurisdictions/140105P01", headers=park)
    ).status_code == 200


async def test_the_demo_products_are_approved_and_scannable(
    service_urls: ServiceUrls,
    master_key: bytes,
    pool: asyncpg.Pool,
    resolver_client: httpx.AsyncClient,
) -> None:
    await ensure_demo_registry(service_urls.database_url, master_key=master_key)

    async def load() -> list[tuple[str, str]]:
        return await ensure_demo_products(
            service_urls.database_url,
            master_key=master_key,
            public_base_url="http://127.0.0.1:8000",
            province="14",
        )

    demo = await load()
    assert [name for name, _ in demo] == ["丙酮", "甲醇", "硫酸"]
    assert await load() == demo  # filed and approved once

    redis = aioredis.Redis.from_url(service_urls.redis_url)
    try:
        await Relay(service_urls.database_url, pool, redis, redis_ttl=600).drain()
    finally:
        await redis.aclose()
    for name, url in demo:
        page = await resolver_client.get(urlsplit(url).path)
        assert page.status_code == 200, name
        assert name in page.text
        assert "审核通过日期" in page.text  # the approved revision, not a draft
    methanol = await resolver_client.get(urlsplit(demo[1][1]).path)
    assert "H301+H311+H331" in methanol.text  # the label derived by the GHS rules


async def test_the_demo_batch_has_packages_on_their_way(
    service_urls: ServiceUrls,
    master_key: bytes,
    pool: asyncpg.Pool,
    resolver_client: httpx.AsyncClient,
) -> None:
    await ensure_demo_registry(service_urls.database_url, master_key=master_key)
    await ensure_demo_products(
        service_urls.database_url, master_key=master_key,
        public_base_url="http://127.0.0.1:8000", province="14",
    )  # fmt: skip
    demo = await ensure_demo_lifecycle(
        service_urls.database_url, public_base_url="http://127.0.0.1:8000"
    )
    assert (
        await ensure_demo_lifecycle(
            service_urls.database_url, public_base_url="http://127.0.0.1:8000"
        )
        == demo
    )  # recorded once
    (_, batch), (_, received), (_, waiting) = demo
    redis = aioredis.Redis.from_url(service_urls.redis_url)
    try:
        await Relay(service_urls.database_url, pool, redis, redis_ttl=600).drain()
    finally:
        await redis.aclose()
    batch_page = await resolver_client.get(urlsplit(batch).path)
    assert batch_page.status_code == 200
    assert "L2026-11-A" in batch_page.text
    assert "生产企业未申报" not in batch_page.text
    received_page = await resolver_client.get(urlsplit(received).path)
    assert received_page.status_code == 200
    assert STATE_NAMES[ItemState.RECEIVED]["zh"] in received_page.text
    waiting_page = await resolver_client.get(urlsplit(waiting).path)
    assert STATE_NAMES[ItemState.SHIPPED]["zh"] in waiting_page.text
    async with pool.acquire() as conn:
        steps = await conn.fetch(
            "SELECT biz_step, count(*) FROM lifecycle_events GROUP BY biz_step ORDER BY 1"
        )
    assert {row["biz_step"] for row in steps} >= {"packing", "shipping", "receiving"}
