"""A world for the lifecycle's HTTP tests: the registry's world (a producer with regulators
over it), its product approved with a code, a declared batch with items and a case, and
two more enterprises that receive packages: a logistics company and a user enterprise."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from codesvc import lifecycle
from codesvc import storage as codes_db
from codesvc.codes import Code
from tests.registry_api.conftest import API, Signed, create_account, first_sign_in, regulator
from tests.registry_api.identifiers import credit_code
from tests.registry_api.world import World, approve_all, code_of, new_draft, register

BASE = "http://127.0.0.1:8000"  # the public base URL of the test settings
BATCH_NO = "L2026-11-A"
CHINA = timezone(timedelta(hours=8))
CARRIER_USCC = credit_code("91140105", "MA0CARR1")
USER_USCC = credit_code("91140105", "MA0UPER1")


@dataclass
class Lifecycle:
    world: World
    code_text: str
    code_id: str
    batch_id: int
    items: list[str]  # serials of packages
    cases: list[str]  # serials of cases
    carrier: Signed  # a logistics company (道路运输企业)
    carrier_id: int
    user: Signed  # a user enterprise (使用单位)
    user_id: int

    def url(self, serial: str, batch: str = BATCH_NO) -> str:
        return f"{BASE}/C/{self.code_text}/B/{batch}/S/{serial}"

    def event(
        self,
        step: str,
        serials: list[str],
        *,
        at: datetime | None = None,
        action: str = "OBSERVE",
        **extra: Any,
    ) -> dict[str, Any]:
        when = (at or datetime.now(UTC) - timedelta(minutes=1)).astimezone(CHINA)
        return {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:{uuid.uuid4()}",
            "eventTime": when.isoformat(),
            "eventTimeZoneOffset": "+08:00",
            "action": action,
            "bizStep": step,
            "epcList": [self.url(s) for s in serials],
            **extra,
        }


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat(),
        "epcisBody": {"eventList": list(events)},
    }


async def _enterprise(
    world: World,
    county_admin: Signed,
    name: str,
    uscc: str,
    mobile: str,
    kinds: list[str],
    industry: str,
) -> tuple[Signed, int]:
    applied = await world.client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": uscc, "name": name, "county_id": "140105",
            "address": "山西省太原市小店区示范路9号", "kinds": kinds,
            "industry_code": industry, "contact_name": "钱七", "contact_mobile": mobile,
        },
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    approved = await county_admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert approved.status_code == 200, approved.text
    signed = await first_sign_in(world.client, mobile, approved.json()["temporary_password"])
    return signed, approved.json()["enterprise"]["id"]


async def make_lifecycle(world: World, pool: asyncpg.Pool, county_admin: Signed) -> Lifecycle:
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    grouped = await code_of(world, product_id)
    assert grouped is not None
    code_id = grouped.replace("-", "")
    async with pool.acquire() as conn, conn.transaction():
        code = await codes_db.fetch_code(conn, code_id)
        assert code is not None
        batch = await lifecycle.declare_batch(
            conn, code_id=code_id, batch_no=BATCH_NO, produced_on=date(2026, 11, 2),
            use_by=date(2028, 11, 1), use_by_kind="expiry", quantity=Decimal("1600"),
            unit="L", packaging={"inner": {"kind": "drum", "capacity": 200, "unit": "L"},
                                 "outer": None},
            site=None, declared_by="test",
        )  # fmt: skip
        items_issue = await lifecycle.issue_items(conn, batch, kind="item", count=8, issued_by="t")
        cases_issue = await lifecycle.issue_items(conn, batch, kind="case", count=2, issued_by="t")
        items = [s for _, s in await codes_db.fetch_issue_serials(
            conn, items_issue.id, after_seq=0, limit=100)]  # fmt: skip
        cases = [s for _, s in await codes_db.fetch_issue_serials(
            conn, cases_issue.id, after_seq=0, limit=100)]  # fmt: skip
    carrier, carrier_id = await _enterprise(
        world, county_admin, "太原示范危货运输有限公司", CARRIER_USCC, "13700000031",
        ["logistics"], "5439",
    )  # fmt: skip
    user, user_id = await _enterprise(
        world, county_admin, "太原示范涂装有限公司", USER_USCC, "13700000032", ["user"], "3360",
    )  # fmt: skip
    return Lifecycle(
        world=world,
        code_text=Code(code.code_id, code.key_id, code.signature).text,
        code_id=code_id,
        batch_id=batch.id,
        items=items,
        cases=cases,
        carrier=carrier,
        carrier_id=carrier_id,
        user=user,
        user_id=user_id,
    )


@pytest.fixture
async def life(world: World, pool: asyncpg.Pool, national: Signed) -> Lifecycle:
    """The world's units have admins of their own (the world keeps only reviewers): new
    admins over the same units approve the receivers' applications."""
    province = await create_account(
        national, regulator("13900000301", "admin", "province", "140000")
    )
    city = await create_account(province, regulator("13900000302", "admin", "city", "140100"))
    county = await create_account(city, regulator("13900000303", "admin", "county", "140105"))
    return await make_lifecycle(world, pool, county)
