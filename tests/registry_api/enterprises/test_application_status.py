"""An applicant looks up the own application by its number and contact mobile, through the
public API: where it stands, the reason of a rejection; nothing for anyone else."""

from __future__ import annotations

import httpx
import pytest

from registry_api.enterprises.operations import STATUS_LOOKUPS_PER_ADDRESS
from tests.registry_api.conftest import API, Signed, create_account, regulator
from tests.registry_api.enterprises.test_enterprises import application

STATUS = f"{API}/enterprise-application-status"
MOBILE = "13700000001"


@pytest.fixture
async def county_admin(national: Signed) -> Signed:
    province = await create_account(
        national, regulator("13900000101", "admin", "province", "140000")
    )
    city = await create_account(province, regulator("13900000102", "admin", "city", "140100"))
    return await create_account(city, regulator("13900000103", "admin", "county", "140105"))


async def _status(client: httpx.AsyncClient, number: int, mobile: str) -> httpx.Response:
    return await client.post(STATUS, json={"application_id": number, "mobile": mobile})


async def test_the_applicant_sees_the_status_and_the_reason_of_a_rejection(
    registry_client: httpx.AsyncClient, county_admin: Signed
) -> None:
    applied = await registry_client.post(f"{API}/enterprise-applications", json=application())
    number = applied.json()["id"]

    pending = await _status(registry_client, number, "+86 137-0000-0001")
    assert pending.status_code == 200, pending.text
    assert pending.json() == {
        "id": number,
        "name": "太原示范化工有限公司",
        "status": "pending",
        "reason": None,
        "submitted_at": applied.json()["created_at"],
        "decided_at": None,
    }

    rejected = await county_admin.post(
        f"/enterprise-applications/{number}/reject", {"reason": "地址与营业执照不符"}
    )
    assert rejected.status_code == 200
    answer = (await _status(registry_client, number, MOBILE)).json()
    assert answer["status"] == "rejected"
    assert answer["reason"] == "地址与营业执照不符"
    assert answer["decided_at"] is not None

    again = await registry_client.post(f"{API}/enterprise-applications", json=application())
    approved = await county_admin.post(f"/enterprise-applications/{again.json()['id']}/approve")
    assert approved.status_code == 200
    assert (await _status(registry_client, again.json()["id"], MOBILE)).json()["status"] == (
        "approved"
    )


async def test_a_wrong_mobile_and_a_missing_number_answer_alike(
    registry_client: httpx.AsyncClient,
) -> None:
    applied = await registry_client.post(f"{API}/enterprise-applications", json=application())
    number = applied.json()["id"]
    wrong_mobile = await _status(registry_client, number, "13700000002")
    missing = await _status(registry_client, number + 1, MOBILE)
    assert wrong_mobile.status_code == missing.status_code == 404
    assert wrong_mobile.json() == missing.json()
    assert "太原" not in wrong_mobile.text

    bad = await registry_client.post(STATUS, json={"application_id": "x", "mobile": "123"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"application_id", "mobile"}
    # The mobile goes in the body, never in a URL.
    assert (await registry_client.get(STATUS)).status_code == 405


async def test_look_ups_from_one_address_are_limited(registry_client: httpx.AsyncClient) -> None:
    for _ in range(STATUS_LOOKUPS_PER_ADDRESS.requests):
        answer = await _status(registry_client, 1, MOBILE)
        assert answer.status_code == 404
    refused = await _status(registry_client, 1, MOBILE)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0


async def test_an_enterprise_reads_its_certificates(
    registry_client: httpx.AsyncClient, county_admin: Signed
) -> None:
    applied = await registry_client.post(f"{API}/enterprise-applications", json=application())
    approved = await county_admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    enterprise_id = approved.json()["enterprise"]["id"]
    listed = await county_admin.get(f"/enterprises/{enterprise_id}/certificates")
    assert listed.status_code == 200
    assert listed.json() == {"certificates": []}  # none before a registration is approved
    assert (
        await county_admin.get(f"/enterprises/{enterprise_id + 1}/certificates")
    ).status_code == (404)
