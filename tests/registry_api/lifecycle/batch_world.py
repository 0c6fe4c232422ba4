"""A world for the batch tests: the registry's world (a producer with regulators over it)
with its product approved (so it has a code), a second product still a draft, and a
second producer in the same county that owns neither."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.registry_api.conftest import API, GOOD_PASSWORD, Signed, first_sign_in, sign_in
from tests.registry_api.identifiers import credit_code
from tests.registry_api.world import ACETONE, World, approve_all, code_of, new_draft, register

BASE = "http://127.0.0.1:8000"  # the public base URL of the test settings
COUNTY_ADMIN_MOBILE = "13900000203"  # made by the registry's world
OTHER_MOBILE = "13700000041"
JSON = {"Accept": "application/json"}


def batch_body(batch_no: str = "LOT-2026-11", **changes: Any) -> dict[str, Any]:
    """A complete batch declaration, produced a week ago."""
    produced = date.today() - timedelta(days=7)
    return {
        "batch_no": batch_no,
        "produced_on": produced.isoformat(),
        "use_by": (produced + timedelta(days=730)).isoformat(),
        "use_by_kind": "expiry",
        "quantity": 1600.5,
        "unit": "L",
        "packaging": {
            "inner": {"kind": "drum", "capacity": 200, "unit": "L"},
            "outer": {"kind": "other", "capacity": 4, "unit": "pieces"},
        },
        "site": "清徐精细化工园区",
    } | changes


@dataclass
class Batches:
    world: World
    product_id: int  # approved: it has a code
    code_id: str  # grouped, as the API shows it
    draft_product_id: int  # no approval yet: no code
    county_admin: Signed
    other: Signed  # another producer of the county
    other_id: int

    @property
    def owner(self) -> Signed:
        return self.world.owner

    async def declare(self, batch_no: str = "LOT-2026-11", **changes: Any) -> dict[str, Any]:
        made = await self.owner.post(
            f"/products/{self.product_id}/batches", batch_body(batch_no, **changes)
        )
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def issue(self, batch_id: int, count: int, kind: str = "item") -> dict[str, Any]:
        issued = await self.owner.post(f"/batches/{batch_id}/items", {"count": count, "kind": kind})
        assert issued.status_code == 201, issued.text
        body: dict[str, Any] = issued.json()
        return body

    async def serials(self, issue: dict[str, Any]) -> list[str]:
        """The issue's serials, read back from its CSV."""
        answer = await self.world.client.get(issue["serials_csv"], headers=self.owner.headers())
        assert answer.status_code == 200, answer.text
        return [line.split(",")[1] for line in answer.text.splitlines()[1:]]

    async def scan(self, url: str) -> httpx.Response:
        """The resolver's JSON for a scan URL, once the relay has sent what changed."""
        await self.world.relay.drain()
        return await self.world.resolver.get(urlsplit(url).path, headers=JSON)


async def _other_producer(world: World, county_admin: Signed) -> tuple[Signed, int]:
    applied = await world.client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": credit_code("91140105", "MA0BATCH"), "name": "太原另一化工有限公司",
            "county_id": "140105", "address": "山西省太原市小店区示范路7号",
            "kinds": ["producer", "chemical"], "industry_code": "2614",
            "contact_name": "孙八", "contact_mobile": OTHER_MOBILE,
        },
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    approved = await county_admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert approved.status_code == 200, approved.text
    other = await first_sign_in(world.client, OTHER_MOBILE, approved.json()["temporary_password"])
    return other, approved.json()["enterprise"]["id"]


@pytest.fixture(name="batches")
async def batches_fixture(world: World) -> Batches:
    """`batches`: import this into a test module (or a conftest) to use it."""
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    code_id = await code_of(world, product_id)
    assert code_id is not None
    draft = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/products", ACETONE | {"name_zh": "乙醇"}
    )
    assert draft.status_code == 201, draft.text
    signed = await sign_in(world.client, COUNTY_ADMIN_MOBILE, GOOD_PASSWORD)
    assert signed.status_code == 200, signed.text
    county_admin = Signed(world.client, signed.json()["token"], signed.json()["account"]["id"])
    other, other_id = await _other_producer(world, county_admin)
    return Batches(world, product_id, code_id, draft.json()["id"], county_admin, other, other_id)
