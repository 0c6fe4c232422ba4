"""`safecode keys ...` and `safecode verify` as an operator and a verifier use them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing, published_keys
from tests.conftest import run_cli_in_thread


async def _issue(pool: asyncpg.Pool, keyring: KeyRing, subject: str) -> str:
    async with pool.acquire() as conn:
        return (await issue_code(conn, subject, keyring=keyring, province="14")).code.text


async def _write_keys(pool: asyncpg.Pool, path: Path) -> str:
    async with pool.acquire() as conn:
        document = json.dumps(await published_keys(conn))
    await asyncio.to_thread(path.write_text, document)
    return str(path)


@pytest.mark.usefixtures("operator_settings")
async def test_keys_list_rotate_retire_revoke(
    pool: asyncpg.Pool, keyring: KeyRing, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli_in_thread(["keys", "list"]) == 0
    assert "no signing keys yet" in capsys.readouterr().out
    await _issue(pool, keyring, "e/p")

    assert await run_cli_in_thread(["keys", "rotate"]) == 0
    assert "key 02 is now active" in capsys.readouterr().out
    assert await run_cli_in_thread(["keys", "retire", "02"]) == 0
    assert "key 02 is retired; key 03 is now active" in capsys.readouterr().out
    assert await run_cli_in_thread(["keys", "retire", "01"]) == 1
    assert "key 01 is retired, not active" in capsys.readouterr().err
    assert await run_cli_in_thread(["keys", "revoke", "01", "--reason", "laptop stolen"]) == 0
    revoked = capsys.readouterr().out
    assert "scans of the 1 code(s) it signed no longer say genuine" in revoked
    assert "1 code(s) re-signed" in revoked
    assert "0 reprint notice(s)" in revoked  # "e/p" is no product of the registry
    assert await run_cli_in_thread(["keys", "revoke", "ZZ", "--reason", "x"]) == 1
    assert "no signing key 'ZZ'" in capsys.readouterr().err

    assert await run_cli_in_thread(["keys", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listing[1:]] == [
        ["01", "revoked"],
        ["02", "retired"],
        ["03", "active"],
    ]
    assert "laptop stolen" in listing[1]


@pytest.mark.usefixtures("operator_settings")
async def test_verify_offline_against_a_key_file(
    pool: asyncpg.Pool, keyring: KeyRing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await _issue(pool, keyring, "e/p")
    keys = await _write_keys(pool, tmp_path / "keys.json")

    assert await run_cli_in_thread(["verify", code, "--keys", keys]) == 0
    assert capsys.readouterr().out.startswith("genuine: code 14")
    url = f"https://sc.example.cn/C/{code}/B/LOT-9".lower()
    assert await run_cli_in_thread(["verify", url, "--keys", keys]) == 0
    capsys.readouterr()

    forged = code[:40] + ("A" if code[40] != "A" else "B") + code[41:]
    assert await run_cli_in_thread(["verify", forged, "--keys", keys]) == 1
    assert capsys.readouterr().out.strip() == "NOT genuine: signature does not match"
    assert await run_cli_in_thread(["verify", "hello", "--keys", keys]) == 1
    assert capsys.readouterr().out.startswith("NOT genuine: not a code: code: must be 121")

    async with pool.acquire() as conn:
        await keyring.revoke(conn, "01", "leaked")
    revoked = await _write_keys(pool, tmp_path / "after.json")
    assert await run_cli_in_thread(["verify", code, "--keys", revoked]) == 1
    assert "key 01 is revoked" in capsys.readouterr().out

    assert await run_cli_in_thread(["verify", code, "--keys", str(tmp_path / "missing.json")]) == 1
    assert "cannot read the public keys" in capsys.readouterr().err


@pytest.mark.usefixtures("operator_settings")
async def test_revoking_says_where_the_notices_are_when_the_file_cannot_be_written(
    pool: asyncpg.Pool, keyring: KeyRing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _issue(pool, keyring, "e/p")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    argv = ["keys", "revoke", "01", "--reason", "leaked", "--notices", str(blocked / "n.csv")]
    assert await run_cli_in_thread(argv) == 1
    said = capsys.readouterr()
    assert "1 code(s) re-signed" in said.out  # the revocation itself went through
    assert f"cannot write the reprint notices to {blocked / 'n.csv'}" in said.err
    assert "enterprises' records" in said.err
    async with pool.acquire() as conn:
        assert (await conn.fetchval("SELECT status FROM signing_keys WHERE key_id = '01'")) == (
            "revoked"
        )
