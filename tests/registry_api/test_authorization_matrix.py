"""The authorization matrix, generated from the endpoint table: every route, called by
every role at every level (and by an enterprise), on a resource inside and outside the
caller's scope. Outside answers 404 like absent, every time; nothing answers 5xx.

A new route with a path parameter this test does not know fails here until someone says
what resource the parameter names, so no route can skip the scope check unnoticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from codesvc.storage import Connection
from registry_api import enterprises, storage, views
from registry_api.accounts import Level, Role, hash_password
from registry_api.forms import EnterpriseApplicationForm
from registry_api.services import Actor

PASSWORD = "Matrix-Check-2026"
# (level, unit) of the callers, all in Shanxi; the "outside" resources are in Inner Mongolia.
CALLER_UNITS = [
    (Level.NATIONAL, "000000"),
    (Level.PROVINCE, "140000"),
    (Level.CITY, "140100"),
    (Level.COUNTY, "140105"),
    (Level.PARK, "140105P01"),
]
INSIDE_COUNTY, OUTSIDE_COUNTY = "140105", "150102"
RESOURCE_PATHS = {
    "inside": "000000/140000/140100/140105",
    "outside": "000000/150000/150100/150102",
}


@dataclass
class Resources:
    jurisdiction: str
    account: int
    application: int
    enterprise: int


@dataclass
class Caller:
    label: str
    unit_path: str | None  # None for the enterprise
    headers: dict[str, str]


async def _enterprise_and_application(
    conn: Connection, approver: Actor, county: str, usccs: tuple[str, str], mobile: str
) -> tuple[int, int]:
    """An approved enterprise in the county, and a second application left pending."""

    def form(uscc: str, contact_mobile: str) -> EnterpriseApplicationForm:
        return EnterpriseApplicationForm.model_validate(
            {"uscc": uscc, "name": "矩阵测试化工有限公司", "county_id": county,
             "address": "测试路1号", "kinds": ["producer"], "industry_code": "2614",
             "contact_name": "联系人", "contact_mobile": contact_mobile}
        )  # fmt: skip

    applied = await enterprises.apply(conn, form(usccs[0], mobile))
    approved = await enterprises.approve(conn, approver, applied.id)
    pending = await enterprises.apply(conn, form(usccs[1], mobile[:-1] + "9"))
    return approved.enterprise.id, pending.id


@pytest.fixture
async def world(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient
) -> tuple[list[Caller], Resources, Resources]:
    password_hash = hash_password(PASSWORD)
    async with pool.acquire() as conn:
        park = await storage.fetch_jurisdiction(conn, INSIDE_COUNTY)
        assert park is not None
        await storage.insert_park(conn, park, "矩阵园区")
        accounts: dict[tuple[Level, Role], storage.Account] = {}
        mobile = 13911000000
        for level, unit in [*CALLER_UNITS, (Level.COUNTY, OUTSIDE_COUNTY)]:
            for role in Role:
                if unit == OUTSIDE_COUNTY and role is not Role.ADMIN:
                    continue
                mobile += 1
                account = await storage.insert_regulator(
                    conn, mobile=str(mobile), name="测试", password_hash=password_hash,
                    role=role, level=level, jurisdiction_id=unit, work_unit="测试单位全称",
                    position=None, office_phone=None, resident_id_sealed=None,
                    resident_id_masked=None, remark=None, created_by=None,
                )  # fmt: skip
                assert account is not None
                key = (level, role) if unit != OUTSIDE_COUNTY else (Level.COUNTY, Role.VIEWER)
                accounts.setdefault(key, account)
                if unit == OUTSIDE_COUNTY:
                    outside_admin = account
        # What reset and disable act on: an account that is no caller, so none is signed out.
        target = await storage.insert_regulator(
            conn, mobile="13911999999", name="目标", password_hash=password_hash,
            role=Role.VIEWER, level=Level.COUNTY, jurisdiction_id=INSIDE_COUNTY,
            work_unit="测试单位全称", position=None, office_phone=None, resident_id_sealed=None,
            resident_id_masked=None, remark=None, created_by=None,
        )  # fmt: skip
        assert target is not None

        async def actor(account: storage.Account) -> Actor:
            unit = await storage.fetch_jurisdiction(conn, account.jurisdiction_id or "")
            return Actor(account, unit)

        await conn.execute("UPDATE accounts SET must_change_password = false")
        inside_admin = await actor(accounts[(Level.COUNTY, Role.ADMIN)])
        inside_enterprise, inside_application = await _enterprise_and_application(
            conn,
            inside_admin,
            INSIDE_COUNTY,
            ("91350100M000100Y43", "91140105MA0GRKQ5XN"),
            "13722000001",
        )
        outside_enterprise, outside_application = await _enterprise_and_application(
            conn,
            await actor(outside_admin),
            OUTSIDE_COUNTY,
            ("91140100MA0K7J8A8W", "91150102MA0AAAA1X7"),
            "13722000002",
        )
        await conn.execute(
            "UPDATE accounts SET password_hash = $1, must_change_password = false", password_hash
        )
    inside = Resources(
        INSIDE_COUNTY,
        target.id,
        inside_application,
        inside_enterprise,
    )
    outside = Resources(OUTSIDE_COUNTY, outside_admin.id, outside_application, outside_enterprise)

    callers = []
    for (level, role), account in accounts.items():
        if account.jurisdiction_id == OUTSIDE_COUNTY:
            continue
        callers.append(
            await _caller(
                registry_client,
                f"{role.value}@{level.value}",
                account.mobile,
                account.jurisdiction_id,
            )
        )
    callers.append(await _caller(registry_client, "enterprise", "13722000001", None))
    return callers, inside, outside


async def _caller(client: httpx.AsyncClient, label: str, mobile: str, unit: str | None) -> Caller:
    response = await client.post(
        "/api/v1/auth/login", json={"mobile": mobile, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    path = None
    if unit is not None:
        path = {"000000": "000000", "140000": "000000/140000", "140100": "000000/140000/140100",
                "140105": "000000/140000/140100/140105",
                "140105P01": "000000/140000/140100/140105/140105P01"}[unit]  # fmt: skip
    return Caller(label, path, {"Authorization": f"Bearer {response.json()['token']}"})


def _path(template: str, resources: Resources) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        known = {
            "jurisdiction_id": resources.jurisdiction,
            "account_id": str(resources.account),
            "application_id": str(resources.application),
            "enterprise_id": str(resources.enterprise),
        }
        assert name in known, f"the matrix does not know what {{{name}}} names: add it here"
        return known[name]

    return views.PREFIX + re.sub(r"\{(\w+)\}", value, template)


BODIES: dict[str, object] = {
    "/jurisdictions/{jurisdiction_id}/parks": {"name": "新园区"},
    "/enterprise-applications/{application_id}/reject": {"reason": "材料不全"},
    "/enterprises/{enterprise_id}": {"safety_head": "测试"},
}


def _covers(caller: Caller, jurisdiction_path: str) -> bool:
    return caller.unit_path is not None and (
        jurisdiction_path == caller.unit_path
        or jurisdiction_path.startswith(caller.unit_path + "/")
    )


async def test_every_route_every_role_every_level_in_and_out_of_scope(
    world: tuple[list[Caller], Resources, Resources], registry_client: httpx.AsyncClient
) -> None:
    callers, inside, outside = world
    checked = 0
    for endpoint in views.ENDPOINTS:
        if endpoint.public or "{" not in endpoint.path:
            continue
        for caller in callers:
            for resources, where in ((inside, "inside"), (outside, "outside")):
                path = _path(endpoint.path, resources)
                headers = caller.headers | (
                    {"If-Match": '"1"'} if endpoint.method == "PATCH" else {}
                )
                response = await registry_client.request(
                    endpoint.method, path, json=BODIES.get(endpoint.path, {}), headers=headers
                )
                label = (endpoint.method, endpoint.path, caller.label, where, response.text[:200])
                assert response.status_code < 500, label
                in_scope = _covers(caller, RESOURCE_PATHS[where])
                if caller.label == "enterprise":
                    in_scope = where == "inside" and "enterprise_id" in endpoint.path
                if not in_scope:
                    assert response.status_code == 404, label
                checked += 1
    assert checked > 300


async def test_lists_hold_nothing_outside_scope(
    world: tuple[list[Caller], Resources, Resources], registry_client: httpx.AsyncClient
) -> None:
    callers, _, outside = world
    for caller in callers:
        accounts = await registry_client.get("/api/v1/accounts", headers=caller.headers)
        applications = await registry_client.get(
            "/api/v1/enterprise-applications", headers=caller.headers
        )
        if caller.unit_path is None:
            assert accounts.status_code == applications.status_code == 404
            continue
        ids = {a["id"] for a in accounts.json()["accounts"]}
        county_ids = {a["county_id"] for a in applications.json()["applications"]}
        if caller.unit_path != "000000":
            assert outside.account not in ids, caller.label
            assert OUTSIDE_COUNTY not in county_ids, caller.label
