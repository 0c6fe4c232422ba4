"""`safecode migrate`, `serve` and `rerender` as an operator runs them."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from safecode import cli
from safecode.demo import sample_record
from safecode.embedded import ServiceUrls
from safecode.migrations import discover
from tests.conftest import free_port, run_cli


@pytest.fixture
def project_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SAFECODE_DATA_DIR", str(tmp_path / "var"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_migrate_applies_then_reports_up_to_date_then_refuses_an_edited_file(
    project_env: pytest.MonkeyPatch,
    fresh_database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("CREATE TABLE first (id int);")
    project_env.setenv("DATABASE_URL", fresh_database_url)
    project_env.setattr(cli, "discover", functools.partial(discover, [("pkg", folder)]))

    assert run_cli(["migrate"]) == 0
    assert "applied migration pkg/0001_first.sql" in capsys.readouterr().out
    assert run_cli(["migrate"]) == 0
    assert capsys.readouterr().out.strip() == "migrations are up to date"

    (folder / "0001_first.sql").write_text("CREATE TABLE first (id bigint);")
    assert run_cli(["migrate"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "pkg/0001_first.sql was edited after it was applied" in err[0]


def test_migrate_names_an_unreachable_database(
    project_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project_env.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert run_cli(["migrate"]) == 1
    assert capsys.readouterr().err.startswith("safecode: cannot reach PostgreSQL to migrate: ")


def test_serve_without_urls_says_what_it_needs(
    project_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["serve", "resolver"]) == 1
    err = capsys.readouterr().err
    assert "serve needs DATABASE_URL and REDIS_URL" in err
    assert "safecode services" in err


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["resolver", "registry"])
async def test_serve_runs_one_unit_with_its_workers_and_stops_on_sigterm(
    unit: str, service_urls: ServiceUrls, tmp_path: Path, pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    async with pool.acquire() as conn:
        code = (await issue_code(conn, "e/p", keyring=keyring, province="14")).code.text
    await asyncio.to_thread(_serve_and_check, unit, service_urls, tmp_path, code)


def _serve_and_check(unit: str, service_urls: ServiceUrls, tmp_path: Path, code: str) -> None:
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=service_urls.database_url,
        REDIS_URL=service_urls.redis_url,
        SAFECODE_DATA_DIR=str(tmp_path),
        **{f"{unit.upper()}_PORT": str(port), f"{unit.upper()}_WORKERS": "2"},
    )
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "safecode", "serve", unit], env=env, stderr=log
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the unit did not answer within 60 s"
                time.sleep(0.2)
        assert response.status_code == 200, response.text
        home = httpx.get(f"http://127.0.0.1:{port}/" + ("api/v1" if unit == "registry" else ""))
        assert home.status_code == 200
        if unit == "resolver":
            # A verifier given only a scan URL fetches the keys from that URL's host.
            url = f"HTTP://127.0.0.1:{port}/C/{code}"
            verified = subprocess.run(
                [sys.executable, "-m", "safecode", "verify", url],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert verified.returncode == 0, verified.stdout + verified.stderr
            assert verified.stdout.startswith("genuine: code 14")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_rerender_renders_every_published_page_again_for_the_relay(
    project_env: pytest.MonkeyPatch,
    service_urls: ServiceUrls,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with pool.acquire() as conn:
        for subject in ("a", "b", "c"):
            issued = await issue_code(conn, subject, keyring=keyring, province="14")
            await publish(conn, issued.code.code_id, sample_record(), public_base_url="http://x")
        await issue_code(conn, "never published", keyring=keyring, province="14")
        await conn.execute("DELETE FROM cache_outbox")
    project_env.setenv("DATABASE_URL", service_urls.database_url)
    project_env.setenv("PUBLIC_BASE_URL", "https://safecode.example.cn")

    assert await asyncio.to_thread(run_cli, ["rerender"]) == 0
    assert "the pages of 3 code(s)" in capsys.readouterr().out
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cache_outbox") == 3
        linkset = await conn.fetchval(
            "SELECT body FROM published_variants WHERE name = 'linkset' LIMIT 1"
        )
    assert b"https://safecode.example.cn/C/" in linkset  # rendered with the new base URL
