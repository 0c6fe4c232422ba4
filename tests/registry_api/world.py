"""A registry with people at every level and one approved enterprise, for tests that file
and review through HTTP (the JSON API and the console share it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from codesvc.relay import Relay
from safecode.demo import ACETONE_CLASSIFICATION, sample_record
from safecode.embedded import ServiceUrls
from tests.registry_api.conftest import (
    API,
    Signed,
    create_account,
    first_sign_in,
    regulator,
)

OWNER_MOBILE = "13700000001"
ACETONE = {
    "name_zh": "丙酮",
    "name_en": "Acetone",
    "cas_numbers": ["67-64-1"],
    "un_number": "UN1090",
    "catalogue_number": 137,
    "physical_form": "liquid",
}


def revision_body(**sds_changes: Any) -> dict[str, Any]:
    """A complete revision of acetone's SDS and label (the label derived: none given)."""
    record = sample_record()
    emergency = record["emergency"]
    sds = {
        "sections": [{"number": s["number"], "body": s["body"]} for s in record["sds"]],
        "supplier": record["supplier"],
        "first_aid": emergency["first_aid"],
        "fire_fighting": emergency["fire_fighting"],
        "spill_response": {"zh": emergency["spill_response"]},
        "protective_equipment": emergency["protective_equipment"],
        "transport": {k: v for k, v in record["transport"].items() if k != "un_number"},
    }
    return {"classification": ACETONE_CLASSIFICATION, "sds": sds | sds_changes}


@dataclass
class World:
    client: httpx.AsyncClient
    resolver: httpx.AsyncClient
    relay: Relay
    owner: Signed
    enterprise_id: int
    county_reviewer: Signed
    county_viewer: Signed
    other_county_reviewer: Signed
    province_reviewer: Signed
    second_province_reviewer: Signed
    national_reviewer: Signed

    async def scan(self, code_id: str, view: str = "label") -> httpx.Response:
        """What a person typing the code under the QR gets, once the relay has run."""
        await self.relay.drain()
        found = await self.resolver.get("/lookup", params={"id": code_id})
        assert found.status_code == 303, found.text
        return await self.resolver.get(found.headers["location"] + f"&view={view}")

    async def put(self, who: Signed, path: str, body: object, etag: str) -> httpx.Response:
        return await self.client.put(
            API + path, json=body, headers=who.headers() | {"If-Match": etag}
        )


@pytest.fixture
async def world(
    national: Signed,
    registry_client: httpx.AsyncClient,
    resolver_client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    service_urls: ServiceUrls,
) -> AsyncIterator[World]:
    province = await create_account(
        national, regulator("13900000201", "admin", "province", "140000")
    )
    city = await create_account(province, regulator("13900000202", "admin", "city", "140100"))
    county = await create_account(city, regulator("13900000203", "admin", "county", "140105"))
    other_county = await create_account(city, regulator("13900000204", "admin", "county", "140106"))
    applied = await registry_client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": "91350100M000100Y43", "name": "太原示范化工有限公司", "county_id": "140105",
            "address": "山西省太原市小店区示范路1号", "kinds": ["producer", "chemical"],
            "industry_code": "2614", "contact_name": "赵六", "contact_mobile": OWNER_MOBILE,
        },
    )  # fmt: skip
    approved = await county.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    owner = await first_sign_in(
        registry_client, OWNER_MOBILE, approved.json()["temporary_password"]
    )
    redis = aioredis.Redis.from_url(service_urls.redis_url)
    yield World(
        client=registry_client,
        resolver=resolver_client,
        relay=Relay(service_urls.database_url, pool, redis, redis_ttl=600),
        owner=owner,
        enterprise_id=approved.json()["enterprise"]["id"],
        county_reviewer=await create_account(
            county, regulator("13900000205", "reviewer", "county", "140105")
        ),
        county_viewer=await create_account(
            county, regulator("13900000206", "viewer", "county", "140105")
        ),
        other_county_reviewer=await create_account(
            other_county, regulator("13900000207", "reviewer", "county", "140106")
        ),
        province_reviewer=await create_account(
            province, regulator("13900000208", "reviewer", "province", "140000")
        ),
        second_province_reviewer=await create_account(
            province, regulator("13900000209", "reviewer", "province", "140000")
        ),
        national_reviewer=await create_account(
            national, regulator("13900000210", "reviewer", "national", "000000")
        ),
    )
    await redis.aclose()


async def new_draft(world: World, body: dict[str, Any] | None = None) -> tuple[int, int]:
    """A product (acetone, unless it exists) and a complete draft: (product id, revision id)."""
    listed = await world.owner.get(f"/enterprises/{world.enterprise_id}/products")
    existing = [p for p in listed.json()["products"] if p["name"]["zh"] == "丙酮"]
    if existing:
        product_id = existing[0]["id"]
    else:
        created = await world.owner.post(f"/enterprises/{world.enterprise_id}/products", ACETONE)
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]
    drafted = await world.owner.post(f"/products/{product_id}/revisions", body or revision_body())
    assert drafted.status_code == 201, drafted.text
    assert drafted.json()["problems"] == {}
    return product_id, drafted.json()["id"]


async def register(world: World, revision_id: int, kind: str = "new", **extra: Any) -> int:
    filed = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/registrations",
        {"kind": kind, "revision_ids": [revision_id], **extra},
    )
    assert filed.status_code == 201, filed.text
    submission_id: int = filed.json()["id"]
    return submission_id


async def approve_all(world: World, submission_id: int) -> dict[str, Any]:
    for reviewer in (world.province_reviewer, world.national_reviewer):
        decided = await reviewer.post(f"/submissions/{submission_id}/approve")
        assert decided.status_code == 200, decided.text
    body: dict[str, Any] = decided.json()
    return body


async def code_of(world: World, product_id: int) -> str | None:
    product = await world.owner.get(f"/products/{product_id}")
    code: str | None = product.json()["code_id"]
    return code
