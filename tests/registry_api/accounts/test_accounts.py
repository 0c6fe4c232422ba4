"""Regulator accounts through the HTTP API: sign-in, lockout, forced change, creation by
level and scope, resets, disabling, and bad bodies."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from registry_api.accounts.operations import create_national_admin
from registry_api.accounts.rules import MAX_FAILED_LOGINS
from registry_api.endpoints import ENDPOINTS
from registry_api.requests import PREFIX
from tests.conftest import run_cli
from tests.registry_api.conftest import (
    API,
    GOOD_PASSWORD,
    Signed,
    create_account,
    first_sign_in,
    regulator,
    sign_in,
)


async def test_the_first_admin_comes_from_the_command_line(
    service_urls: object,
    monkeypatch: pytest.MonkeyPatch,
    registry_client: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from safecode.embedded import ServiceUrls

    assert isinstance(service_urls, ServiceUrls)
    monkeypatch.setenv("DATABASE_URL", service_urls.database_url)
    argv = ["admin", "create-national", "--mobile", "139 0000 0001", "--name", "李四",
            "--work-unit", "中华人民共和国应急管理部"]  # fmt: skip
    assert await asyncio.to_thread(run_cli, argv) == 0
    out = capsys.readouterr().out
    password = re.search(r"one-time password: (\S+)", out)
    assert password is not None
    assert await asyncio.to_thread(run_cli, argv) == 1  # the mobile is taken now
    assert "exists already" in capsys.readouterr().err

    signed_in = await sign_in(registry_client, "13900000001", password.group(1))
    token = signed_in.json()["token"]
    blocked = await registry_client.get(
        f"{API}/accounts", headers={"Authorization": f"Bearer {token}"}
    )
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "password_change_required"
    weak = await registry_client.post(
        f"{API}/auth/password",
        json={"current_password": password.group(1), "new_password": "short"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert weak.status_code == 422
    assert "10 to 128 characters" in weak.json()["error"]["fields"]["new_password"]
    wrong = await registry_client.post(
        f"{API}/auth/password",
        json={"current_password": "not-it", "new_password": GOOD_PASSWORD},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert wrong.json()["error"]["fields"] == {"current_password": "does not match"}


async def test_repeated_failures_lock_the_account_with_the_retry_time(
    national: Signed, registry_client: httpx.AsyncClient
) -> None:
    unknown = await sign_in(registry_client, "13712345678", "whatever")
    wrong = await sign_in(registry_client, "13800000000", "whatever")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
    for _ in range(MAX_FAILED_LOGINS - 2):
        assert (await sign_in(registry_client, "13800000000", "whatever")).status_code == 401
    locked = await sign_in(registry_client, "13800000000", "whatever")
    assert locked.status_code == 423
    assert "try again after" in locked.json()["error"]["message"]
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    still = await sign_in(registry_client, "13800000000", GOOD_PASSWORD)
    assert still.status_code == 423  # the right password does not open a locked account


async def test_sign_out_ends_the_session(national: Signed) -> None:
    assert (await national.get("/me")).status_code == 200
    assert (await national.post("/auth/logout")).status_code == 204
    after = await national.get("/me")
    assert after.status_code == 401
    assert after.headers["www-authenticate"].startswith("Bearer")


async def test_accounts_are_created_level_by_level_within_scope(national: Signed) -> None:
    refused = await national.post(
        "/accounts", regulator("13900000010", "reviewer", "province", "140000")
    )
    assert refused.status_code == 403
    assert "admins only" in refused.json()["error"]["message"]

    province = await create_account(
        national, regulator("13900000011", "admin", "province", "140000")
    )
    reviewer = await create_account(
        province, regulator("13900000012", "reviewer", "province", "140000")
    )
    city = await create_account(province, regulator("13900000013", "admin", "city", "140100"))
    county = await create_account(city, regulator("13900000014", "admin", "county", "140105"))

    skip = await province.post("/accounts", regulator("13900000015", "admin", "county", "140105"))
    assert skip.status_code == 403  # two levels down
    wrong_level = await city.post(
        "/accounts", regulator("13900000016", "viewer", "county", "140100")
    )
    assert wrong_level.status_code == 403
    other_province = await province.post(
        "/accounts", regulator("13900000017", "admin", "city", "150100")
    )
    # A unit outside the own is one the admin may not create accounts in (403), field named.
    assert other_province.status_code == 403
    assert "jurisdiction_id" in other_province.json()["error"]["fields"]
    by_reviewer = await reviewer.post(
        "/accounts", regulator("13900000018", "viewer", "province", "140000")
    )
    assert by_reviewer.status_code == 403

    listed = await city.get("/accounts")
    assert {a["mobile"] for a in listed.json()["accounts"]} == {"13900000013", "13900000014"}
    assert (await county.get(f"/accounts/{province.account_id}")).status_code == 404
    assert (await county.get("/jurisdictions/150000")).status_code == 404
    assert (await county.get("/jurisdictions/140100")).status_code == 404  # above it
    shanxi = await province.get("/jurisdictions/140000")
    assert len(shanxi.json()["children"]) == 11


async def test_a_taken_mobile_and_a_third_admin(national: Signed) -> None:
    first = await national.post(
        "/accounts", regulator("13900000021", "admin", "province", "140000")
    )
    again = await national.post(
        "/accounts", regulator("13900000021", "admin", "province", "140000")
    )
    assert again.status_code == 409
    assert again.json()["error"]["fields"] == {"mobile": "is the login of another account"}
    second = await national.post(
        "/accounts", regulator("13900000022", "admin", "province", "140000")
    )
    third = await national.post(
        "/accounts", regulator("13900000023", "admin", "province", "140000")
    )
    assert first.json()["warnings"] == second.json()["warnings"] == []
    assert "3 admins" in third.json()["warnings"][0]


async def test_the_resident_id_is_sealed_at_rest_and_masked_in_answers(
    national: Signed, pool: asyncpg.Pool
) -> None:
    body = regulator("13900000031", "admin", "province", "140000", resident_id="11010519491231002X")
    created = await national.post("/accounts", body)
    assert created.json()["account"]["resident_id"] == "110105********002X"
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM accounts WHERE mobile = '13900000031'")
    assert row is not None
    assert b"11010519491231002X" not in row["resident_id_sealed"]
    assert "11010519491231002X" not in str(dict(row))


async def test_reset_and_disable(national: Signed, registry_client: httpx.AsyncClient) -> None:
    province = await create_account(
        national, regulator("13900000041", "admin", "province", "140000")
    )
    reset = await national.post(f"/accounts/{province.account_id}/password-reset")
    assert reset.status_code == 200
    assert (await province.get("/me")).status_code == 401  # its sessions ended
    await first_sign_in(registry_client, "13900000041", reset.json()["temporary_password"])
    assert (
        await national.post(f"/accounts/{national.account_id}/password-reset")
    ).status_code == 403

    assert (await national.post(f"/accounts/{province.account_id}/disable")).status_code == 204
    assert (await sign_in(registry_client, "13900000041", GOOD_PASSWORD)).status_code == 401
    assert (await national.post(f"/accounts/{province.account_id}/disable")).status_code == 409


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"mobile", "name", "role", "level", "jurisdiction_id", "work_unit"}),
        (
            {**regulator("1", "boss", "galaxy", "14"), "resident_id": "123", "office_phone": "x"},
            {"mobile", "role", "level", "jurisdiction_id", "resident_id", "office_phone"},
        ),
        ({**regulator("13900000061", "admin", "province", "140000"), "colour": "red"}, {"colour"}),
        ({**regulator("13900000062", "admin", "province", "140000"), "name": 7}, {"name"}),
    ],
)
async def test_bad_bodies_name_every_bad_field(
    national: Signed, body: dict[str, object], fields: set[str]
) -> None:
    response = await national.post("/accounts", body)
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == fields


async def test_bodies_that_are_not_json_objects(national: Signed) -> None:
    not_json = await national.client.post(
        f"{API}/accounts", content=b"{not json", headers=national.headers()
    )
    assert not_json.status_code == 400
    a_list = await national.post("/accounts", [1, 2])
    assert a_list.status_code == 422
    huge = await national.client.post(
        f"{API}/accounts", content=b"x" * (3 * 1024 * 1024), headers=national.headers()
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "request_entity_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 100_000

    streamed = await national.client.post(
        f"{API}/accounts", content=chunks(), headers=national.headers()
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "request_entity_too_large"


async def test_every_route_but_the_public_ones_needs_a_session(
    registry_client: httpx.AsyncClient,
) -> None:
    walked = 0
    for endpoint in ENDPOINTS:
        if endpoint.public:
            continue
        path = re.sub(r"\{\w+\}", "1", PREFIX + endpoint.path)
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = await registry_client.request(
                endpoint.method, path, json={}, headers=headers
            )
            assert response.status_code == 401, (endpoint.method, path, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"
        walked += 1
    assert walked >= 15


async def test_a_pending_password_change_blocks_the_routes_the_document_says(
    registry_client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """The document's 403 for a pending change is on every route but those an account needs
    to make the change (`before_password_change`): check the flag against the server."""
    async with pool.acquire() as conn:
        _, temporary = await create_national_admin(
            conn, mobile="13900000071", name="王五", work_unit="中华人民共和国应急管理部"
        )
    token = (await sign_in(registry_client, "13900000071", temporary)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for endpoint in ENDPOINTS:
        if endpoint.public or endpoint.path == "/auth/logout":  # it would end the session
            continue
        path = re.sub(r"\{\w+\}", "1", PREFIX + endpoint.path)
        response = await registry_client.request(endpoint.method, path, json={}, headers=headers)
        blocked = response.json().get("error", {}).get("code") == "password_change_required"
        assert blocked is not endpoint.before_password_change, (endpoint.method, path)
