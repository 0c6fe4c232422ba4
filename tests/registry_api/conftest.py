"""Helpers for the registry's HTTP tests: signing in, and accounts level by level."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from registry_api.accounts.operations import create_national_admin

API = "/api/v1"
GOOD_PASSWORD = "Chemicals-Safe-2026"


@dataclass
class Signed:
    client: httpx.AsyncClient
    token: str
    account_id: int

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(API + path, headers=self.headers())

    async def post(self, path: str, body: object = None) -> httpx.Response:
        return await self.client.post(API + path, json=body, headers=self.headers())


async def sign_in(client: httpx.AsyncClient, mobile: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"mobile": mobile, "password": password})


async def first_sign_in(client: httpx.AsyncClient, mobile: str, temporary: str) -> Signed:
    response = await sign_in(client, mobile, temporary)
    assert response.status_code == 200, response.text
    assert response.json()["must_change_password"] is True
    signed = Signed(client, response.json()["token"], response.json()["account"]["id"])
    changed = await signed.post(
        "/auth/password", {"current_password": temporary, "new_password": GOOD_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    return signed


@pytest.fixture
async def national(pool: asyncpg.Pool, registry_client: httpx.AsyncClient) -> Signed:
    async with pool.acquire() as conn:
        account, password = await create_national_admin(
            conn, mobile="13800000000", name="国家管理员", work_unit="中华人民共和国应急管理部"
        )
    return await first_sign_in(registry_client, account.mobile, password)


def regulator(mobile: str, role: str, level: str, unit: str, **extra: str) -> dict[str, str]:
    return {
        "mobile": mobile,
        "name": "张三",
        "role": role,
        "level": level,
        "jurisdiction_id": unit,
        "work_unit": "山西省应急管理厅",
        **extra,
    }


async def create_account(by: Signed, body: dict[str, str]) -> Signed:
    created = await by.post("/accounts", body)
    assert created.status_code == 201, created.text
    return await first_sign_in(by.client, body["mobile"], created.json()["temporary_password"])


# The registry with people at every level (tests/registry_api/world.py), for every test here.
from tests.registry_api.world import world  # noqa: E402, F401
