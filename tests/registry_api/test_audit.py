"""The audit log: every write recorded, chained, and tampering found by `safecode audit verify`."""

from __future__ import annotations

import asyncio
import itertools
import json

import asyncpg
import httpx
import pytest

from registry_api.accounts.operations import create_national_admin
from safecode.embedded import ServiceUrls
from tests.conftest import run_cli

API = "/api/v1"
PASSWORD = "Chemicals-Safe-2026"


async def _signed_in_national(pool: asyncpg.Pool, client: httpx.AsyncClient) -> dict[str, str]:
    async with pool.acquire() as conn:
        account, temporary = await create_national_admin(
            conn, mobile="13800000000", name="国家管理员", work_unit="中华人民共和国应急管理部"
        )
    login = await client.post(
        f"{API}/auth/login", json={"mobile": account.mobile, "password": temporary}
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    await client.post(
        f"{API}/auth/password",
        json={"current_password": temporary, "new_password": PASSWORD},
        headers=headers,
    )
    return headers


async def _entries(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(await conn.fetch("SELECT * FROM audit_log ORDER BY id"))


@pytest.fixture
def database_env(monkeypatch: pytest.MonkeyPatch, service_urls: ServiceUrls) -> None:
    monkeypatch.setenv("DATABASE_URL", service_urls.database_url)


async def test_sign_ins_failed_sign_ins_and_sign_outs_are_recorded(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient
) -> None:
    headers = await _signed_in_national(pool, registry_client)
    await registry_client.post(f"{API}/auth/logout", headers=headers)
    for password in ("Wrong-Password-1",) * 5 + (PASSWORD,):  # the last one: locked out
        await registry_client.post(
            f"{API}/auth/login", json={"mobile": "13800000000", "password": password}
        )
    await registry_client.post(
        f"{API}/auth/login", json={"mobile": "13911112222", "password": PASSWORD}
    )
    entries = [e for e in await _entries(pool) if e["action"].startswith("account.sign")]
    actions = [(e["action"], _outcome(e)) for e in entries]
    assert actions == [
        ("account.sign_in", "signed in"),
        ("account.sign_out", None),
        *[("account.sign_in_failed", "wrong password")] * 4,
        ("account.sign_in_failed", "wrong password; locked"),
        ("account.sign_in_refused", "locked"),
        ("account.sign_in_failed", "no such account"),
    ]
    national_id = entries[0]["subject_id"]
    # Who got in is the actor; a failed attempt names the account tried, not an actor.
    assert str(entries[0]["actor_id"]) == national_id == str(entries[1]["actor_id"])
    assert all(e["actor_id"] is None for e in entries[2:])
    assert entries[-1]["subject_id"] == "unknown"
    assert json.loads(entries[-1]["changes"])["mobile"]["after"] == "139****2222"
    written = " ".join(e["changes"] for e in entries)
    assert "Wrong-Password-1" not in written
    assert PASSWORD not in written
    assert "13911112222" not in written  # a mobile tried is kept masked


def _outcome(entry: asyncpg.Record) -> str | None:
    outcome = json.loads(entry["changes"]).get("outcome")
    return None if outcome is None else outcome["after"]


async def test_every_write_is_recorded_with_who_what_and_the_changed_fields(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient
) -> None:
    headers = await _signed_in_national(pool, registry_client)
    created = await registry_client.post(
        f"{API}/accounts",
        json={
            "mobile": "13900000001",
            "name": "张三",
            "role": "admin",
            "level": "province",
            "jurisdiction_id": "140000",
            "work_unit": "山西省应急管理厅",
            "resident_id": "11010519491231002X",
        },
        headers=headers,
    )
    account_id = created.json()["account"]["id"]
    await registry_client.post(f"{API}/accounts/{account_id}/password-reset", headers=headers)
    await registry_client.post(f"{API}/accounts/{account_id}/disable", headers=headers)
    await registry_client.post(
        f"{API}/jurisdictions/140105/parks", json={"name": "园区"}, headers=headers
    )

    entries = await _entries(pool)
    assert [e["action"] for e in entries] == [
        "account.create",  # the national admin, from the console: no actor
        "account.sign_in",
        "account.password_change",
        "account.create",
        "account.password_reset",
        "account.disable",
        "jurisdiction.create",
    ]
    assert entries[0]["actor_id"] is None
    assert {e["actor_id"] for e in entries[1:]} == {
        entries[1]["subject_id"] and int(entries[1]["subject_id"])
    }
    created_entry = entries[3]
    assert created_entry["subject_id"] == str(account_id)
    assert '"after": "山西省应急管理厅"' in created_entry["changes"]
    assert "110105********002X" in created_entry["changes"]
    assert "11010519491231002X" not in str([dict(e) for e in entries])
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(entries))


async def test_a_failed_write_leaves_no_entry(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient
) -> None:
    headers = await _signed_in_national(pool, registry_client)
    before = len(await _entries(pool))
    refused = await registry_client.post(
        f"{API}/accounts",
        json={
            "mobile": "13800000000",
            "name": "重复",
            "role": "viewer",
            "level": "national",
            "jurisdiction_id": "000000",
            "work_unit": "中华人民共和国应急管理部",
        },
        headers=headers,
    )
    assert refused.status_code == 409
    assert len(await _entries(pool)) == before


@pytest.mark.usefixtures("database_env")
async def test_verify_reports_the_first_broken_link(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = await _signed_in_national(pool, registry_client)
    for mobile in ("13900000002", "13900000003"):
        await registry_client.post(
            f"{API}/accounts",
            json={
                "mobile": mobile,
                "name": "王",
                "role": "viewer",
                "level": "national",
                "jurisdiction_id": "000000",
                "work_unit": "中华人民共和国应急管理部",
            },
            headers=headers,
        )
    assert await asyncio.to_thread(run_cli, ["audit", "verify"]) == 0
    # The national admin created, signed in, its password changed; two accounts created.
    assert "audit log intact: 5 entries" in capsys.readouterr().out

    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log WHERE id = 2")
        # Someone with the database owner's rights goes around the guard:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute(
            "UPDATE audit_log SET changes = jsonb_set(changes, '{name,after}', '\"李\"')"
            " WHERE id = 4"
        )
    assert await asyncio.to_thread(run_cli, ["audit", "verify"]) == 1
    assert "broken at entry 4: its content does not match" in capsys.readouterr().err

    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM audit_log WHERE id = 4")
    assert await asyncio.to_thread(run_cli, ["audit", "verify"]) == 1
    assert "broken at entry 5: it does not follow" in capsys.readouterr().err
