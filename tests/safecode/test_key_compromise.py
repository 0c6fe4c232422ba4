"""A signing key leaks: `safecode keys revoke` as an operator runs it, and what the holder
of an old label, the enterprise and an offline verifier see afterwards."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from codesvc.codes import Code, parse_scan_path, scan_path
from codesvc.keyring import KeyRing, published_keys
from codesvc.signing import verify
from codesvc.storage import fetch_code
from safecode import apps
from safecode.demo import DEMO_PASSWORD, ensure_demo_registry
from safecode.demo_products import ensure_demo_products
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.conftest import client_for, run_cli_in_thread

VERIFIED = "已验证：扫码所得，签名真实"
WITHDRAWN = "签发此安全码的密钥已被撤销"
NOT_GENUINE_TITLE = "不是真实的安全码"


async def _demo(settings: Settings, urls: ServiceUrls, master_key: bytes) -> list[str]:
    """The demo products' scan paths, as printed on their labels."""
    await ensure_demo_registry(urls.database_url, master_key=master_key)
    demo = await ensure_demo_products(
        urls.database_url,
        master_key=master_key,
        public_base_url=settings.public_base_url,
        province=settings.province,
    )
    return [urlsplit(url).path for _, url in demo]


async def _scan_until(client: httpx.AsyncClient, path: str, text: str) -> httpx.Response:
    """Scan until the page shows `text` (the relay and the resolvers' key watch work in the
    background); the last answer either way."""
    deadline = time.monotonic() + 5
    while True:
        page = await client.get(path)
        if text in page.text or time.monotonic() > deadline:
            return page
        await asyncio.sleep(0.05)


def _forged(path: str) -> str:
    """The same code with one character of its signature changed."""
    at = len("/C/") + 30
    return path[:at] + ("A" if path[at] != "A" else "B") + path[at + 1 :]


async def test_old_labels_stop_claiming_genuine_at_once_and_keep_their_hazard_data(
    operator_settings: Settings,
    service_urls: ServiceUrls,
    master_key: bytes,
    pool: asyncpg.Pool,
) -> None:
    printed = await _demo(operator_settings, service_urls, master_key)
    async with client_for(apps.all_in_one_app(operator_settings, service_urls)) as client:
        before = await _scan_until(client, printed[0], VERIFIED)
        assert VERIFIED in before.text

        # The key is revoked; nothing has been re-signed yet.
        async with pool.acquire() as conn:
            await KeyRing(master_key).revoke(conn, "01", "left on a stolen laptop")
        page = await _scan_until(client, printed[0], WITHDRAWN)
        assert page.status_code == 200
        assert WITHDRAWN in page.text
        assert VERIFIED not in page.text
        assert "丙酮" in page.text
        assert "H225" in page.text
        english = await client.get(printed[0], params={"lang": "en", "view": "emergency"})
        assert "the key that signed this code was revoked" in english.text
        record = await client.get(printed[0], headers={"Accept": "application/json"})
        assert record.json()["signature"]["status"] == "withdrawn"
        assert record.json()["record"]["product_name"]["zh"] == "丙酮"
        assert record.headers["etag"] != before.headers["etag"]
        forged = await client.get(_forged(printed[0]))
        assert forged.status_code == 404
        assert NOT_GENUINE_TITLE in forged.text

        # Re-signed: the old label still shows its data under the warning, the new one is
        # genuine, and a forgery of either is not.
        assert await run_cli_in_thread(["keys", "resign"]) == 0
        async with pool.acquire() as conn:
            code = await fetch_code(conn, parse_scan_path(printed[0]).code_id)
        assert code is not None
        assert code.key_id == "02"
        reprinted = scan_path(Code(code.code_id, code.key_id, code.signature))
        assert VERIFIED in (await _scan_until(client, reprinted, VERIFIED)).text
        old = await _scan_until(client, printed[0], WITHDRAWN)
        assert old.status_code == 200
        assert WITHDRAWN in old.text
        assert "H225" in old.text
        assert (await client.get(_forged(printed[0]))).status_code == 404
        assert (await client.get(_forged(reprinted))).status_code == 404


async def test_revoking_re_signs_tells_the_enterprises_and_offline_verification_agrees(
    operator_settings: Settings,
    service_urls: ServiceUrls,
    master_key: bytes,
    pool: asyncpg.Pool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    printed = await _demo(operator_settings, service_urls, master_key)
    notices_file = tmp_path / "notices.csv"
    async with client_for(apps.all_in_one_app(operator_settings, service_urls)) as client:
        assert (
            await run_cli_in_thread(
                ["keys", "revoke", "01", "--reason", "leaked", "--notices", str(notices_file)]
            )
            == 0
        )
        said = capsys.readouterr().out
        assert "key 01 is revoked" in said
        assert "3 code(s) re-signed" in said
        assert "3 reprint notice(s) for 1 enterprise(s)" in said

        # The CSV names every product, each with a new QR URL that scans as genuine.
        rows = list(csv.reader(io.StringIO(notices_file.read_text(encoding="utf-8-sig"))))
        assert [row[3] for row in rows[1:]] == ["丙酮", "甲醇", "硫酸"]
        assert {row[0] for row in rows[1:]} == {"91350100M000100Y43"}
        assert {(row[5], row[6]) for row in rows[1:]} == {("01", "02")}
        for row, old in zip(rows[1:], printed, strict=True):
            new = urlsplit(row[7]).path
            assert new != old
            assert parse_scan_path(new).code_id == parse_scan_path(old).code_id
            assert VERIFIED in (await _scan_until(client, new, VERIFIED)).text
            assert WITHDRAWN in (await _scan_until(client, old, WITHDRAWN)).text

        # The enterprise finds the notices on its record; another enterprise does not.
        async def token(mobile: str) -> dict[str, str]:
            response = await client.post(
                "/api/v1/auth/login", json={"mobile": mobile, "password": DEMO_PASSWORD}
            )
            return {"Authorization": f"Bearer {response.json()['token']}"}

        owner = await token("13700000001")
        me = (await client.get("/api/v1/me", headers=owner)).json()
        notices_url = f"/api/v1/enterprises/{me['enterprise_id']}/reprint-notices"
        notices = (await client.get(notices_url, headers=owner)).json()["reprint_notices"]
        assert [n["product_name"] for n in notices] == ["丙酮", "甲醇", "硫酸"]
        assert [n["scan_url"] for n in notices] == [row[7] for row in rows[1:]]
        as_csv = await client.get(notices_url + ".csv", headers=owner)
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert as_csv.content == notices_file.read_bytes()
        stranger = await token("13700000002")
        assert (await client.get(notices_url, headers=stranger)).status_code == 404
        assert (await client.get(notices_url + ".csv", headers=stranger)).status_code == 404
        assert (await client.get(notices_url)).status_code == 401

    # Offline, against the published keys: the old code's key is revoked, the new is genuine.
    async with pool.acquire() as conn:
        keys = await published_keys(conn)
        audit = await conn.fetch(
            "SELECT action, subject_id, changes FROM audit_log"
            " WHERE action LIKE 'signing_key.%' ORDER BY id"
        )
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(keys))
    old_code = parse_scan_path(printed[0]).text
    assert await run_cli_in_thread(["verify", old_code, "--keys", str(keys_file)]) == 1
    assert "key 01 is revoked" in capsys.readouterr().out
    new_code = parse_scan_path(urlsplit(rows[1][7]).path).text
    assert verify(new_code, keys).genuine
    assert await run_cli_in_thread(["verify", new_code, "--keys", str(keys_file)]) == 0

    # Audited, in the chain; a second run has nothing left to do.
    assert [(a["action"], a["subject_id"]) for a in audit] == [
        ("signing_key.revoke", "01"),
        ("signing_key.resign_codes", "01"),
    ]
    assert json.loads(audit[1]["changes"])["codes"] == 3
    capsys.readouterr()
    assert await run_cli_in_thread(["audit", "verify"]) == 0
    assert await run_cli_in_thread(["keys", "resign"]) == 0
    assert "no code is signed by a revoked key" in capsys.readouterr().out
    assert await run_cli_in_thread(["keys", "revoke", "01", "--reason", "again"]) == 1
    assert "already revoked" in capsys.readouterr().err
