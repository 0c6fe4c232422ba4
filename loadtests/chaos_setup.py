"""`make chaos`'s SafeCode: embedded PostgreSQL and Redis of its own (supervised), a fresh
database with the demo data and published codes, the units as processes of their own, and
the demo accounts signed in for the load (`loadtests.chaos_users`)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis

from codesvc.issuance import issue_codes
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from loadtests.product import free_port
from safecode.demo import DEMO_PASSWORD, ensure_demo_registry, sample_record
from safecode.demo_products import ensure_demo_products
from safecode.embedded import EmbeddedPostgres, EmbeddedRedis
from safecode.migrations import apply_migrations, discover
from safecode.supervision import Supervisor

ROOT = Path(__file__).resolve().parent.parent
ENTERPRISES = ("13700000001", "13700000002", "13700000003")
# The county admin decides info updates' first step, the province reviewer registrations'
# first step and info updates' second, the national admin every last step.
REGULATORS = ("13800000005", "13800000002", "13800000000")
START_SECONDS = 120.0
L1_TTL_SECONDS = 2  # short, so scans reach Redis and PostgreSQL, not only memory
_DATABASE_PREFIX = "safecode_chaos_"


class Unit:
    """One `safecode serve` process, in a session of its own."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "safecode", "serve", self.name],
                cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL, as the OOM killer would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # its workers, should one outlive it
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class ChaosRun:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    database_url: str
    redis_url: str
    resolver: Unit
    registry: Unit
    relay: Unit
    resolver_url: str
    registry_url: str
    probe_path: str  # a code published through the registry, scanned to see recovery
    codes_file: Path
    users: dict[str, Any]  # what `loadtests.chaos_users` reads, but the per-phase files
    report_dir: Path


def start_run(stack: ExitStack, data_dir: Path, args: argparse.Namespace) -> ChaosRun:
    print(f"starting PostgreSQL and Redis under {data_dir} ...", flush=True)
    postgres, store = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    stack.callback(postgres.stop)
    server_url = postgres.start()
    stack.callback(store.stop)
    redis_url = store.start()
    if not (postgres.started_here and store.started_here):
        raise SystemExit(
            f"chaos: the servers under {data_dir} were started by another process (another "
            "make chaos?); this run kills its servers, so it needs its own"
        )
    # Entered after the servers, so it is stopped before them.
    stack.enter_context(Supervisor([postgres, store]))
    client = redis.Redis.from_url(redis_url)
    client.flushall()  # its own server: rate limits of an earlier run must not count
    client.close()

    database = f"{_DATABASE_PREFIX}{uuid.uuid4().hex[:8]}"
    database_url = urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))
    asyncio.run(_prepare_server(server_url, database))
    stack.callback(_drop_database, server_url, database)
    master_key = os.urandom(32)
    resolver_port, registry_port = free_port(), free_port()
    resolver_url = f"http://127.0.0.1:{resolver_port}"
    registry_url = f"http://127.0.0.1:{registry_port}"
    print(f"loading the demo data and publishing {args.codes} codes ...", flush=True)
    probe_path, paths = asyncio.run(
        _prepare_database(database_url, master_key, resolver_url, args.codes)
    )
    codes_file = args.report_dir / "codes.txt"
    codes_file.write_text("".join(f"{path}\n" for path in paths))

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=database_url, REDIS_URL=redis_url, HOST="127.0.0.1",
        SAFECODE_MASTER_KEY=base64.b64encode(master_key).decode(),
        SAFECODE_DATA_DIR=str(data_dir), PUBLIC_BASE_URL=resolver_url,
        RESOLVER_PORT=str(resolver_port), REGISTRY_PORT=str(registry_port),
        RESOLVER_WORKERS="2", REGISTRY_WORKERS="1",
        L1_CACHE_TTL_SECONDS=str(L1_TTL_SECONDS), LOG_LEVEL="WARNING",
    )  # fmt: skip
    units = {name: Unit(name, env, args.report_dir / f"{name}.log") for name in
             ("relay", "resolver", "registry")}  # fmt: skip
    for unit in units.values():
        unit.log.unlink(missing_ok=True)
        stack.callback(unit.stop)
        unit.start()
    for url in (resolver_url, registry_url):
        wait_until_ready(url)
    # What `save 60 1` would have written a minute later: a Redis killed and restarted
    # comes back with the published records, as one that has run for a while would.
    wait_for_outbox(database_url)
    client = redis.Redis.from_url(redis_url)
    client.save()
    client.close()

    ledger = args.report_dir / "ledger.jsonl"
    ledger.unlink(missing_ok=True)
    users = _users(registry_url, database_url) | {"ledger": str(ledger)}
    return ChaosRun(
        postgres, store, database_url, redis_url, units["resolver"], units["registry"],
        units["relay"], resolver_url, registry_url, probe_path, codes_file, users,
        args.report_dir,
    )  # fmt: skip


async def _prepare_server(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:  # databases an interrupted run could not drop: this server is ours alone
        for (name,) in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{_DATABASE_PREFIX}%"
        ):
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def _drop_database(server_url: str, database: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(server_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        asyncio.run(drop())
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        print(f"chaos: could not drop {database} ({exc}); the next run drops it", flush=True)


async def _prepare_database(
    database_url: str, master_key: bytes, public_base_url: str, codes: int
) -> tuple[str, list[str]]:
    """Migrations, the demo data, and `codes` published codes (copies of one record, as
    the scan bench makes them, queued for the relay); the demo's first scan path and all."""
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, discover())
    finally:
        await conn.close()
    await ensure_demo_registry(database_url, master_key=master_key)
    demo = await ensure_demo_products(
        database_url, master_key=master_key, public_base_url=public_base_url, province="14"
    )
    conn = await asyncpg.connect(database_url)
    try:
        issued = await issue_codes(
            conn, [f"chaos/{i}" for i in range(codes)], keyring=KeyRing(master_key),
            province="14",
        )  # fmt: skip
        texts = [item.code.text for item in issued.values()]
        await publish(conn, texts[0][:16], sample_record(), public_base_url=public_base_url)
        await conn.execute(
            """
            INSERT INTO published_variants (code_id, name, version, body, etag)
            SELECT c.code_id, v.name, v.version, v.body, v.etag
            FROM codes c CROSS JOIN published_variants v
            WHERE v.code_id = $1 AND c.code_id = ANY($2::text[])
            """,
            texts[0][:16],
            [text[:16] for text in texts[1:]],
        )
        await conn.executemany(
            "INSERT INTO cache_outbox (code_id, version) VALUES ($1, 1)",
            [(text[:16],) for text in texts[1:]],
        )
    finally:
        await conn.close()
    paths = [urlsplit(url).path for _, url in demo] + [f"/C/{text}" for text in texts]
    return paths[0], paths


def wait_until_ready(base_url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while status(f"{base_url}/readyz") != 200:
        if time.monotonic() > deadline:
            raise SystemExit(f"chaos: {base_url} was not ready within {START_SECONDS:.0f} s")
        time.sleep(0.2)


def status(url: str, client: httpx.Client | None = None) -> int:
    """The answer's status; 0 when none came."""
    try:
        response = (client or httpx).get(url, timeout=2)
    except httpx.TransportError:
        return 0
    return response.status_code


def wait_for_outbox(database_url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not asyncio.run(outbox_empty(database_url)):
        if time.monotonic() > deadline:
            raise SystemExit(f"chaos: the relay did not empty the outbox in {seconds:.0f} s")
        time.sleep(0.2)


async def outbox_empty(database_url: str) -> bool:
    try:
        conn = await asyncpg.connect(database_url, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    try:
        return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM cache_outbox)")
    finally:
        await conn.close()


def _users(registry_url: str, database_url: str) -> dict[str, Any]:
    """The accounts' tokens, and products and revisions to file, taken from the demo's."""
    tokens, enterprise_ids = {}, {}
    with httpx.Client(base_url=f"{registry_url}/api/v1", timeout=30) as client:
        for mobile in ENTERPRISES + REGULATORS:
            response = client.post(
                "/auth/login", json={"mobile": mobile, "password": DEMO_PASSWORD}
            )
            response.raise_for_status()
            tokens[mobile] = response.json()["token"]
            enterprise_ids[mobile] = response.json()["account"]["enterprise_id"]
        owner = {"Authorization": f"Bearer {tokens[ENTERPRISES[0]]}"}
        products = client.get(
            f"/enterprises/{enterprise_ids[ENTERPRISES[0]]}/products", headers=owner
        )
        product = products.raise_for_status().json()["products"][0]
        revision = client.get(f"/revisions/{product['current_revision']['id']}", headers=owner)
        filed = revision.raise_for_status().json()
    registered = asyncio.run(_registered(database_url))
    return {
        "registry": registry_url,
        "run": uuid.uuid4().hex[:6],
        "enterprises": [
            {
                "id": enterprise_ids[m],
                "token": tokens[m],
                "registered": enterprise_ids[m] in registered,
            }
            for m in ENTERPRISES
        ],
        "regulators": [{"mobile": m, "token": tokens[m]} for m in REGULATORS],
        "product": {
            "name_zh": product["name"]["zh"],
            "name_en": product["name"]["en"],
            "cas_numbers": product["cas_numbers"],
            "components": product["components"],
            "un_number": product["un_number"],
            "catalogue_number": product["catalogue_number"],
            "highly_toxic": product["highly_toxic"],
            "physical_form": product["physical_form"],
        },
        "revision": {
            key: filed[key] for key in ("classification", "label", "sds") if filed[key] is not None
        },
    }


async def _registered(database_url: str) -> set[int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT enterprise_id FROM certificates WHERE status = 'valid'")
        return {row["enterprise_id"] for row in rows}
    finally:
        await conn.close()
