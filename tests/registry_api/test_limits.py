"""Rate limits through the real app on real Redis: sign-ins per address and per account,
applications per address; 429 with Retry-After; other addresses unaffected; and with Redis
unreachable, requests go on."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager

from registry_api.limits import (
    APPLICATIONS_PER_ADDRESS,
    SIGN_INS_PER_ACCOUNT,
    SIGN_INS_PER_ADDRESS,
)
from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.registry_api.conftest import API, GOOD_PASSWORD
from tests.registry_api.identifiers import credit_code


@asynccontextmanager
async def _clients(
    settings: Settings, urls: ServiceUrls, *addresses: str
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients of one registry, each from its own address."""
    async with LifespanManager(apps.registry_app(settings, urls)) as manager:
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app, client=(address, 40000)),
                base_url="http://testserver",
            )
            for address in addresses
        ]
        try:
            yield clients
        finally:
            for client in clients:
                await client.aclose()


def _login(mobile: str) -> dict[str, str]:
    return {"mobile": mobile, "password": GOOD_PASSWORD}


async def test_one_address_is_stopped_after_its_sign_ins_and_only_it(
    settings: Settings, service_urls: ServiceUrls
) -> None:
    async with _clients(settings, service_urls, "10.0.0.1", "10.0.0.2") as (first, second):
        # Each a different (unknown) mobile: the per-account limit and the lockout never
        # come into it, only the address.
        for n in range(SIGN_INS_PER_ADDRESS.requests):
            answer = await first.post(f"{API}/auth/login", json=_login(f"139{n:08d}"))
            assert answer.status_code == 401
        refused = await first.post(f"{API}/auth/login", json=_login("13899999999"))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["retry-after"]) <= SIGN_INS_PER_ADDRESS.seconds
        assert "from this address" in refused.json()["error"]["message"]
        other = await second.post(f"{API}/auth/login", json=_login("13899999999"))
        assert other.status_code == 401  # another address: still heard


async def test_one_account_is_stopped_after_its_sign_ins_from_anywhere(
    settings: Settings, service_urls: ServiceUrls
) -> None:
    addresses = [f"10.0.1.{n}" for n in range(SIGN_INS_PER_ACCOUNT.requests + 1)]
    async with _clients(settings, service_urls, *addresses) as clients:
        answers = [
            (await client.post(f"{API}/auth/login", json=_login("13912345678"))).status_code
            for client in clients
        ]
    assert set(answers[:-1]) == {401}  # no such account: told as any wrong sign-in
    assert answers[-1] == 429


async def test_one_address_files_a_bounded_number_of_applications(
    settings: Settings, service_urls: ServiceUrls
) -> None:
    def application(n: int) -> dict[str, object]:
        return {
            "uscc": credit_code("91140105", f"{n:08d}"), "name": f"示范化工第{n}公司",
            "county_id": "140105", "address": "山西省太原市小店区示范路1号",
            "kinds": ["producer"], "industry_code": "2614", "contact_name": "联系人",
            "contact_mobile": f"137{n:08d}",
        }  # fmt: skip

    async with _clients(settings, service_urls, "10.0.2.1") as (client,):
        for n in range(APPLICATIONS_PER_ADDRESS.requests):
            answer = await client.post(f"{API}/enterprise-applications", json=application(n))
            assert answer.status_code == 201, answer.text
        refused = await client.post(f"{API}/enterprise-applications", json=application(99))
    assert refused.status_code == 429
    assert "applications from this address" in refused.json()["error"]["message"]


async def test_with_redis_unreachable_the_limits_let_requests_through(
    settings: Settings, service_urls: ServiceUrls
) -> None:
    no_redis = dataclasses.replace(service_urls, redis_url="redis://127.0.0.1:1/0")
    async with _clients(settings, no_redis, "10.0.3.1") as (client,):
        for n in range(SIGN_INS_PER_ADDRESS.requests + 1):
            answer = await client.post(f"{API}/auth/login", json=_login(f"137{n:08d}"))
            assert answer.status_code == 401, answer.text
