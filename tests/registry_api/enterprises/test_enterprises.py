"""Enterprise accounts and records through HTTP: apply, decide, sign in, read, update."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.registry_api.conftest import (
    API,
    Signed,
    create_account,
    first_sign_in,
    regulator,
)

ACME_USCC = "91350100M000100Y43"


def application(**changes: object) -> dict[str, object]:
    return {
        "uscc": ACME_USCC,
        "name": "太原示范化工有限公司",
        "county_id": "140105",
        "address": "山西省太原市小店区示范路1号",
        "kinds": ["producer", "chemical"],
        "industry_code": "2614",
        "contact_name": "赵六",
        "contact_mobile": "13700000001",
        **changes,
    }


@pytest.fixture
async def county_admin(national: Signed) -> Signed:
    province = await create_account(
        national, regulator("13900000101", "admin", "province", "140000")
    )
    city = await create_account(province, regulator("13900000102", "admin", "city", "140100"))
    return await create_account(city, regulator("13900000103", "admin", "county", "140105"))


async def _apply(client: httpx.AsyncClient, **changes: object) -> httpx.Response:
    return await client.post(f"{API}/enterprise-applications", json=application(**changes))


async def _approved_owner(client: httpx.AsyncClient, county_admin: Signed) -> tuple[Signed, int]:
    return await _approved_owner_from(client, county_admin, await _apply(client))


async def test_anyone_may_apply_and_bad_fields_are_all_named(
    registry_client: httpx.AsyncClient,
) -> None:
    applied = await _apply(registry_client)
    assert applied.status_code == 201
    assert applied.json()["status"] == "pending"

    bad = await _apply(
        registry_client,
        uscc="91350100M000100Y44",
        county_id="140100",  # a city, not a county
        kinds=["producer", "brewer"],
        contact_mobile="12345",
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"uscc", "kinds[1]", "contact_mobile"}
    not_scope = await _apply(registry_client, uscc="91110000600037341L", industry_code="1511")
    assert not_scope.status_code == 422
    assert "annex 1" in not_scope.json()["error"]["fields"]["industry_code"]
    not_county = await _apply(registry_client, uscc="91110000600037341L", county_id="140100")
    assert not_county.json()["error"]["fields"] == {
        "county_id": "must be the GB/T 2260 code of a county"
    }
    unknown_class = await _apply(registry_client, uscc="91110000600037341L", industry_code="9999")
    assert (
        "not a GB/T 4754-2017 industry class"
        in unknown_class.json()["error"]["fields"]["industry_code"]
    )

    again = await _apply(registry_client)
    assert again.status_code == 409
    assert again.json()["error"]["fields"] == {"uscc": "has an application waiting for review"}


async def test_a_county_admin_approves_and_the_enterprise_signs_in(
    registry_client: httpx.AsyncClient, county_admin: Signed, national: Signed
) -> None:
    applied = await _apply(registry_client)
    listed = await county_admin.get("/enterprise-applications?status=pending")
    assert [a["uscc"] for a in listed.json()["applications"]] == [ACME_USCC]

    by_national = await national.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert by_national.status_code == 403  # the county or the city decides

    owner, enterprise_id = await _approved_owner_from(registry_client, county_admin, applied)
    record = await owner.get(f"/enterprises/{enterprise_id}")
    assert record.status_code == 200
    assert record.headers["etag"] == '"1"'
    assert record.json()["uscc"] == ACME_USCC
    assert (await owner.get(f"/enterprises/{enterprise_id + 1}")).status_code == 404
    assert (await owner.get("/accounts")).status_code == 404  # enterprises see no regulators

    registered = await _apply(registry_client, contact_mobile="13700000002")
    assert registered.status_code == 409
    assert "registered already" in registered.json()["error"]["fields"]["uscc"]
    decided = await county_admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert decided.status_code == 409


async def _approved_owner_from(
    client: httpx.AsyncClient, county_admin: Signed, applied: httpx.Response
) -> tuple[Signed, int]:
    approved = await county_admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert approved.status_code == 200, approved.text
    owner = await first_sign_in(client, "13700000001", approved.json()["temporary_password"])
    return owner, approved.json()["enterprise"]["id"]


async def test_a_rejection_needs_a_reason_and_allows_a_new_application(
    registry_client: httpx.AsyncClient, county_admin: Signed
) -> None:
    applied = await _apply(registry_client)
    path = f"/enterprise-applications/{applied.json()['id']}/reject"
    assert (await county_admin.post(path, {})).status_code == 422
    rejected = await county_admin.post(path, {"reason": "地址与营业执照不符"})
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "地址与营业执照不符"
    assert (await _apply(registry_client)).status_code == 201


async def test_other_units_see_nothing(
    registry_client: httpx.AsyncClient, county_admin: Signed, national: Signed
) -> None:
    applied = await _apply(registry_client)
    province = await create_account(
        national, regulator("13900000201", "admin", "province", "150000")
    )
    assert (
        await province.get(f"/enterprise-applications/{applied.json()['id']}")
    ).status_code == 404
    assert (await province.get("/enterprise-applications")).json() == {"applications": []}
    _, enterprise_id = await _approved_owner_from(registry_client, county_admin, applied)
    assert (await province.get(f"/enterprises/{enterprise_id}")).status_code == 404
    assert (await county_admin.get(f"/enterprises/{enterprise_id}")).status_code == 200


async def test_updates_need_the_current_version_and_lose_nothing(
    registry_client: httpx.AsyncClient, county_admin: Signed, pool: asyncpg.Pool
) -> None:
    owner, enterprise_id = await _approved_owner(registry_client, county_admin)
    path = f"{API}/enterprises/{enterprise_id}"

    async def patch(body: dict[str, object], if_match: str | None) -> httpx.Response:
        headers = owner.headers() | ({"If-Match": if_match} if if_match else {})
        return await registry_client.patch(path, json=body, headers=headers)

    assert (await patch({"safety_head": "钱七"}, None)).status_code == 428
    first = await patch(
        {
            "safety_head": "钱七",
            "safety_head_phone": "0351-1234567",
            "emergency_phone": "0351-7654321",
            "aging_installations": [
                {"name": "1号合成塔", "year_commissioned": 1998, "status": "在用"}
            ],
        },
        '"1"',
    )
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"2"'
    stale = await patch({"safety_head": "孙八"}, '"1"')
    assert stale.status_code == 412
    assert (await owner.get(f"/enterprises/{enterprise_id}")).json()["safety_head"] == "钱七"

    racing = await asyncio.gather(
        patch({"responsible_person": "周九"}, '"2"'), patch({"responsible_person": "吴十"}, '"2"')
    )
    assert sorted(r.status_code for r in racing) == [200, 412]

    bad = await patch(
        {"industry_code": "1511", "park_id": "140105P99", "emergency_phone": "hotline"}, '"3"'
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"emergency_phone"}  # checked before the rest
    bad_refs = await patch({"industry_code": "1511", "park_id": "140105P99"}, '"3"')
    assert set(bad_refs.json()["error"]["fields"]) == {"industry_code", "park_id"}
    assert (await patch({"colour": "red"}, '"3"')).status_code == 422
    assert (await patch({}, '"3"')).status_code == 422  # names nothing to change
    emptied = await patch({"name": None, "aging_installations": None, "park_id": None}, '"3"')
    assert emptied.status_code == 422
    assert set(emptied.json()["error"]["fields"]) == {"name", "aging_installations"}

    by_regulator = await registry_client.patch(
        path, json={"safety_head": "x1"}, headers=county_admin.headers() | {"If-Match": '"3"'}
    )
    assert by_regulator.status_code == 403

    # A request the document forbids is refused as such before its version is looked at:
    # no body is a 400, an If-Match that is no ETag of ours a 400, whatever the version.
    no_body = await registry_client.patch(path, headers=owner.headers() | {"If-Match": ""})
    assert no_body.status_code == 400
    assert (await patch({"safety_head": "x2"}, "*")).status_code == 400
    malformed = await patch({"safety_head": "x2"}, "version-3")
    assert malformed.status_code == 400
    assert "If-Match" in malformed.json()["error"]["fields"]
    assert (await patch({"safety_head": "x2"}, 'W/"3"')).status_code == 200  # weak: the same

    async with pool.acquire() as conn:
        actions = [
            r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")
        ]
    assert actions.count("enterprise.update") == 3
    assert "enterprise_application.approve" in actions
