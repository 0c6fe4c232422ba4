"""A real resolver under uvicorn with published codes in every state, and the system's
Chromium driven by Playwright to load its pages.

Chromium is Debian's package (`/usr/bin/chromium`), never Playwright's own download. Without
it the browser tests skip, except in CI (`CI=true`), where they must run and so fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import redis
import redis.asyncio as aioredis
from playwright.sync_api import Browser, Playwright, sync_playwright

from codesvc.codes import new_code_id
from codesvc.issuance import CodeStatus, change_code_status, issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.relay import Relay
from safecode import apps
from safecode.demo import sample_record
from safecode.embedded import ServiceUrls
from safecode.settings import Settings, load_settings
from tests.conftest import ROOT, _admin_execute, database_url_for, free_port, serving

_T = TypeVar("_T")
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "artifacts" / "browser"
# Nothing listens on port 1: a resolver pointed there meets both backends down.
UNREACHABLE = ServiceUrls("postgresql://postgres@127.0.0.1:1/none", "redis://127.0.0.1:1/0")


@dataclass(frozen=True, slots=True)
class Site:
    """Where the pages are, and the code texts that show each state."""

    base_url: str  # the resolver, its backends up
    unavailable_url: str  # a resolver whose PostgreSQL and Redis are unreachable
    active: str
    suspended: str
    revoked: str
    forged: str  # the active code with one signature character changed
    unknown: str  # well formed, never issued


@pytest.fixture(scope="package")
def chromium() -> str:
    """The system Chromium's path; skips without one, and fails in CI."""
    found = shutil.which("chromium") or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if found is None:
        reason = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must run the browser tests; .ci/run installs it)")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(chromium: str, playwright: Playwright) -> Iterator[Browser]:
    """One Chromium for the whole package; each test opens its own context."""
    # A dead proxy for everything but 127.0.0.1: a request that would leave the machine
    # fails at once, and the tests name it, instead of waiting on the network.
    browser = playwright.chromium.launch(
        executable_path=chromium, proxy={"server": "http://127.0.0.1:1", "bypass": "127.0.0.1"}
    )
    yield browser
    browser.close()


@contextmanager
def database_of_its_own(server_urls: ServiceUrls, template_database: str) -> Iterator[ServiceUrls]:
    """The servers' URLs with a database cloned from the migrated template, dropped after."""
    database = f"safecode_t_{uuid.uuid4().hex[:12]}"
    _run(
        _admin_execute(
            server_urls.database_url, f'CREATE DATABASE "{database}" TEMPLATE "{template_database}"'
        )
    )
    try:
        yield ServiceUrls(
            database_url_for(server_urls.database_url, database), server_urls.redis_url
        )
    finally:
        _run(_admin_execute(server_urls.database_url, f'DROP DATABASE "{database}" WITH (FORCE)'))


@pytest.fixture(scope="package")
def site(
    chromium: str,
    server_urls: ServiceUrls,
    template_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """Both resolvers running, with an active, a suspended and a revoked code published."""
    with database_of_its_own(server_urls, template_database) as urls:
        client = redis.Redis.from_url(urls.redis_url)
        client.flushdb()
        client.close()
        port, unavailable_port = free_port(), free_port()
        base_url = f"http://127.0.0.1:{port}"
        active, suspended, revoked = _run(_publish_codes(urls, base_url))
        # The signature's 20th character from the end, as loadtests/bench_scan.py forges it.
        forged = f"{active[:-20]}{'A' if active[-20] != 'A' else 'B'}{active[-19:]}"
        unknown = new_code_id("14") + active[16:]
        data_dir = tmp_path_factory.mktemp("browser")
        with (
            serving(apps.resolver_app(_settings(data_dir, base_url), urls), port),
            serving(
                apps.resolver_app(
                    _settings(data_dir, f"http://127.0.0.1:{unavailable_port}"), UNREACHABLE
                ),
                unavailable_port,
            ),
        ):
            yield Site(
                base_url,
                f"http://127.0.0.1:{unavailable_port}",
                active,
                suspended,
                revoked,
                forged,
                unknown,
            )


@pytest.fixture(scope="package")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run `coroutine` to the end on a loop of its own, in a thread: Playwright's sync API
    keeps a loop running on this one."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def _settings(data_dir: Path, public_base_url: str) -> Settings:
    # Links the pages print must lead back to the server under test, never to :8000.
    return load_settings({"SAFECODE_DATA_DIR": str(data_dir), "PUBLIC_BASE_URL": public_base_url})


async def _publish_codes(urls: ServiceUrls, base_url: str) -> tuple[str, str, str]:
    """Three codes with the demo record, published through the relay as the registry does:
    one left active, one suspended, one revoked."""
    keyring = KeyRing(os.urandom(32))
    texts = []
    async with asyncpg.create_pool(urls.database_url, min_size=1, max_size=2) as pool:
        client = aioredis.Redis.from_url(urls.redis_url)
        try:
            async with pool.acquire() as conn:
                for subject in ("browser/active", "browser/suspended", "browser/revoked"):
                    issued = await issue_code(conn, subject, keyring=keyring, province="14")
                    await publish(
                        conn, issued.code.code_id, sample_record(), public_base_url=base_url
                    )
                    texts.append(issued.code.text)
                for text, status, reason in (
                    (texts[1], CodeStatus.SUSPENDED, "批次复核中 / batch under review"),
                    (texts[2], CodeStatus.REVOKED, "产品停产 / product discontinued"),
                ):
                    await change_code_status(
                        conn,
                        text[:16],
                        status,
                        reason=reason,
                        actor="test",
                        public_base_url=base_url,
                    )
            await Relay(urls.database_url, pool, client, redis_ttl=600).drain()
        finally:
            await client.aclose()
    return texts[0], texts[1], texts[2]
