"""`make bench` section "scan": the resolver under uvicorn (2 workers) driven by wrk.

One run measures, side by side on the same machine: `/healthz` (the baseline), a scan
answered from L1, from Redis (L1 off), from PostgreSQL (a miss: codes not yet in Redis,
L1 off), a forged code, and junk. Each case runs for a fixed time; the table gives
requests per second, p50 and p99 latency, and the ratio of each to the baseline.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis.asyncio as aioredis

from codesvc.issuance import issue_codes
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.relay import Relay
from codesvc.scancache import REDIS_KEY_PREFIX
from loadtests.product import free_port
from safecode.demo import sample_record
from safecode.migrations import apply_migrations, discover

BASE_URL = "http://127.0.0.1"
# Targets from the issue: the fraction of the baseline's throughput each case must reach.
TARGETS = {"scan, L1 hit": 0.8, "scan, Redis hit (L1 off)": 0.4, "scan, miss (PostgreSQL)": 0.25,
           "forged code": 0.8, "junk": 0.8}  # fmt: skip

WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("SC_PATHS")) do paths[#paths + 1] = line end
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
local i = nil
function request()
  if i == nil then i = math.floor(offset * #paths / 8) end
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  io.write(string.format('SC_RESULT {"requests":%d,"seconds":%f,"p50":%f,"p99":%f,'
    .. '"non2xx":%d,"errors":%d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class WrkResult:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (Debian package) ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True
            )
        found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            "the scan bench needs wrk: install it (Debian/Ubuntu: `sudo apt-get install wrk`, "
            "macOS: `brew install wrk`) and run make bench again"
        )
    return found


def run_wrk(
    wrk: str, name: str, base_url: str, paths: list[str], seconds: int, tmp: Path
) -> WrkResult:
    paths_file = tmp / f"{uuid.uuid4().hex}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    script = tmp / "scan.lua"
    script.write_text(WRK_SCRIPT)
    completed = subprocess.run(
        [wrk, "-t", "2", "-c", "32", "-d", f"{seconds}s", "-s", str(script), base_url],
        env=dict(os.environ, SC_PATHS=str(paths_file)),
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    line = next(x for x in completed.stdout.splitlines() if x.startswith("SC_RESULT "))
    data = json.loads(line.removeprefix("SC_RESULT "))
    return WrkResult(
        name,
        data["requests"],
        data["seconds"],
        data["p50"],
        data["p99"],
        data["non2xx"],
        data["errors"],
    )


@contextmanager
def unit_process(unit: str, env: dict[str, str], port: int) -> Iterator[str]:
    """`safecode serve {unit}` started with `env`, listening on `port`: its base URL once its
    /readyz answers 200 (the bench stops if it exits or is not ready within a minute); it
    is terminated on the way out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "safecode", "serve", unit], env=env, stdout=subprocess.DEVNULL
    )
    base = f"{BASE_URL}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the {unit} unit did not become ready for the bench")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def resolver_process(database_url: str, redis_url: str, **env: str) -> Iterator[str]:
    port = free_port()
    with unit_process(
        "resolver",
        dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            RESOLVER_PORT=str(port),
            RESOLVER_WORKERS="2",
            LOG_LEVEL="WARNING",
            **env,
        ),
        port,
    ) as base:
        yield base


async def prepare_codes(database_url: str, redis_url: str, codes: int) -> list[str]:
    """`codes` published codes; the first 100 copied to Redis as the relay would.

    One code is published for real; the others get copies of its variants in SQL, which
    takes seconds instead of minutes. Their pages name the first code, which changes
    nothing the resolver does per request.
    """
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, discover())
        keyring = KeyRing(os.urandom(32))
        texts = []
        for start in range(0, codes, 10_000):
            subjects = [f"bench/{i}" for i in range(start, min(codes, start + 10_000))]
            issued = await issue_codes(conn, subjects, keyring=keyring, province="14")
            texts += [item.code.text for item in issued.values()]
        await publish(conn, texts[0][:16], sample_record(), public_base_url=BASE_URL)
        await conn.execute(
            """
            INSERT INTO published_variants (code_id, name, version, body, etag)
            SELECT c.code_id, v.name, v.version, v.body, v.etag
            FROM codes c CROSS JOIN published_variants v
            WHERE v.code_id = $1 AND c.code_id <> $1
            """,
            texts[0][:16],
        )
        await conn.execute("DELETE FROM cache_outbox")
        await conn.executemany(
            "INSERT INTO cache_outbox (code_id, version) VALUES ($1, 1)",
            [(text[:16],) for text in texts[:100]],
        )
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(redis_url)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await _forget(redis_url, texts)
        await Relay(database_url, pool, client, redis_ttl=3600).drain()
    finally:
        await pool.close()
        await client.aclose()
    return texts


async def _forget(redis_url: str, texts: list[str]) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        for start in range(0, len(texts), 1000):
            await client.delete(*(REDIS_KEY_PREFIX + t[:16] for t in texts[start : start + 1000]))
    finally:
        await client.aclose()


def scan_section(server_url: str, redis_url: str, seconds: int, codes: int) -> list[WrkResult]:
    wrk = ensure_wrk()
    database = f"safecode_bench_{uuid.uuid4().hex[:8]}"
    database_url = urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    try:
        print(f"publishing {codes} codes for the scan bench ...", flush=True)
        texts = asyncio.run(prepare_codes(database_url, redis_url, codes))
        hot = [f"/C/{t}" for t in texts[:100]]
        # One signature character changed in the middle: well formed, not what was issued.
        forged = [f"/C/{t[:-20]}{'A' if t[-20] != 'A' else 'B'}{t[-19:]}" for t in texts[:100]]
        junk = ["/C/not-a-code", "/C/" + "U" * 121, "/C/14ABC/B/x_y", "/c/%FF"]
        results = []
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            with resolver_process(database_url, redis_url) as base:
                results.append(
                    run_wrk(wrk, "/healthz (baseline)", base, ["/healthz"], seconds, tmp)
                )
                results.append(run_wrk(wrk, "scan, L1 hit", base, hot, seconds, tmp))
                results.append(run_wrk(wrk, "forged code", base, forged, seconds, tmp))
                results.append(run_wrk(wrk, "junk", base, junk, seconds, tmp))
            with resolver_process(database_url, redis_url, L1_CACHE_SIZE="0") as base:
                run_wrk(wrk, "warm-up", base, ["/healthz", *hot], 2, tmp)
                results.append(run_wrk(wrk, "scan, Redis hit (L1 off)", base, hot, seconds, tmp))
                cold = [f"/C/{t}" for t in texts[100:]]
                asyncio.run(_forget(redis_url, texts[100:]))
                results.append(run_wrk(wrk, "scan, miss (PostgreSQL)", base, cold, seconds, tmp))
        asyncio.run(_forget(redis_url, texts))
        return results
    finally:
        asyncio.run(admin(f'DROP DATABASE "{database}" WITH (FORCE)'))


def print_scan_table(results: list[WrkResult], codes: int) -> None:
    baseline = results[0].rps
    print("\nscan: resolver under uvicorn, 2 workers; wrk -t2 -c32, the same time per case")
    print(
        f"  {'case':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs baseline':>12}"
        f" {'target':>11} {'non-2xx':>8} {'errors':>7}"
    )
    for r in results:
        ratio = r.rps / baseline
        target = TARGETS.get(r.name)
        mark = (
            "" if target is None else (f">={target:.2f}" + (" ok" if ratio >= target else " MISS"))
        )
        print(
            f"  {r.name:<28} {r.rps:>8.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {ratio:>11.2f}x"
            f" {mark:>11} {r.non_2xx:>8} {r.errors:>7}"
        )
    miss = next(r for r in results if r.name.startswith("scan, miss"))
    if miss.requests > codes - 100:
        print(f"  (the miss case cycled past its {codes - 100} cold codes: part were Redis hits)")
