"""Real PostgreSQL and Redis for every test: TEST_DATABASE_URL / TEST_REDIS_URL when set,
otherwise embedded servers under ./var/test that live for the session.

Each test that asks for `service_urls` gets a database of its own, cloned from a template
that has every migration applied, and an emptied Redis database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil
import pypdfium2
import pytest
import redis
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

import codesvc.app
from codesvc.keyring import KeyRing
from safecode import apps
from safecode.embedded import ServiceUrls, embedded_services
from safecode.migrations import apply_migrations, discover
from safecode.settings import Settings, load_settings, load_test_targets

ROOT = Path(__file__).resolve().parent.parent


def database_url_for(base_url: str, database: str) -> str:
    """The same server as `base_url`, another database on it."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def _admin_execute(base_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(base_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server_urls() -> Iterator[ServiceUrls]:
    """The PostgreSQL server and Redis database the session runs against."""
    targets = load_test_targets()
    with embedded_services(
        ROOT / "var" / "test", database_url=targets.database_url, redis_url=targets.redis_url
    ) as urls:
        yield urls


@pytest.fixture(scope="session")
def template_database(server_urls: ServiceUrls) -> Iterator[str]:
    """Name of a database with every migration applied, cloned for each test."""
    name = f"safecode_tpl_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        await _admin_execute(server_urls.database_url, f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(database_url_for(server_urls.database_url, name))
        try:
            await apply_migrations(conn, discover())
        finally:
            await conn.close()

    asyncio.run(create())
    yield name
    asyncio.run(_admin_execute(server_urls.database_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
async def fresh_database_url(server_urls: ServiceUrls) -> AsyncIterator[str]:
    """An empty database of this test's own (no migrations applied)."""
    name = f"safecode_t_{uuid.uuid4().hex[:12]}"
    await _admin_execute(server_urls.database_url, f'CREATE DATABASE "{name}"')
    yield database_url_for(server_urls.database_url, name)
    await _admin_execute(server_urls.database_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def service_urls(
    server_urls: ServiceUrls, template_database: str
) -> AsyncIterator[ServiceUrls]:
    """A migrated database of this test's own and an emptied Redis database."""
    name = f"safecode_t_{uuid.uuid4().hex[:12]}"
    await _admin_execute(
        server_urls.database_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
    )
    client = redis.Redis.from_url(server_urls.redis_url)
    client.flushdb()
    client.close()
    yield ServiceUrls(
        database_url=database_url_for(server_urls.database_url, name),
        redis_url=server_urls.redis_url,
    )
    await _admin_execute(server_urls.database_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def pool(service_urls: ServiceUrls) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this test's database, large enough for concurrency tests."""
    async with asyncpg.create_pool(service_urls.database_url, min_size=1, max_size=25) as p:
        yield p


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def keyring(master_key: bytes) -> KeyRing:
    return KeyRing(master_key)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"SAFECODE_DATA_DIR": str(tmp_path)})


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF, as a reader's search finds it (pypdfium2)."""
    document = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def resolver_with(
    settings: Settings, urls: ServiceUrls, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a resolver of its own, its config changed by `overrides` (cache sizes...)."""
    config = dataclasses.replace(apps.service_config(settings, urls), **overrides)  # type: ignore[arg-type]
    async with client_for(codesvc.app.create_app(config)) as client:
        yield client


@asynccontextmanager
async def client_for(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` in this process, its lifespan run around it."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        yield client


@contextmanager
def serving(app: ASGIApp, port: int) -> Iterator[None]:
    """`app` under uvicorn on 127.0.0.1:`port` in a thread, its lifespan run, until exit:
    for clients that speak real HTTP (a browser, schemathesis)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the app on port {port} did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def processes_using(directory: Path) -> list[str]:
    """Processes whose command line names `directory`: the embedded servers under it."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(directory) in cmdline:
            found.append(f"{process.info['pid']}: {cmdline}")
    return found


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory for a command's embedded servers; any left running is killed."""
    directory = tmp_path / "var"
    yield directory
    for line in processes_using(directory):  # never leave a server behind a failed test
        os.kill(int(line.split(":")[0]), signal.SIGKILL)


@pytest.fixture
async def resolver_client(
    settings: Settings, service_urls: ServiceUrls
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(apps.resolver_app(settings, service_urls)) as client:
        yield client


@pytest.fixture
async def registry_client(
    settings: Settings, service_urls: ServiceUrls
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(apps.registry_app(settings, service_urls)) as client:
        yield client


@pytest.fixture
async def all_in_one_client(
    settings: Settings, service_urls: ServiceUrls
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(apps.all_in_one_app(settings, service_urls)) as client:
        yield client


def run_cli(argv: list[str]) -> int:
    """A `safecode` command as the shell runs it, minus the process-wide set-up `main` does
    (logging handlers, signal handlers), which would outlive the test."""
    from safecode import cli

    return cli.execute(cli.build_parser().parse_args(argv), load_settings())


async def run_cli_in_thread(argv: list[str]) -> int:
    """`run_cli` from an async test: the command runs its own event loop, as it does from
    a shell, so off the test's."""
    return await asyncio.to_thread(run_cli, argv)
