"""`safecode run` as a newcomer runs it: embedded servers, then Ctrl-C leaves nothing behind."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis

from safecode.embedded import ServiceUrls
from tests.conftest import free_port, processes_using

pytestmark = pytest.mark.slow

START_SECONDS = 120  # generous: the first start runs initdb
STOP_SECONDS = 60


class RunningProduct:
    def __init__(self, data_dir: Path, log: Path, **urls: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(SAFECODE_DATA_DIR=str(data_dir), PORT=str(self.port), **urls)
        self.log = log
        with log.open("ab") as log_file:
            # A session of its own, so a signal to its group is what Ctrl-C in a terminal sends.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "safecode", "run"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=log_file,
                start_new_session=True,
            )

    def wait_until_serving(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"safecode run exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    assert isinstance(self.process.stdout, io.BufferedReader)
                    banner = b""
                    while b"Press Ctrl-C to stop." not in banner:
                        banner += self.process.stdout.read1(65536)
                    return banner.decode()
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"safecode run did not answer in {START_SECONDS} s")

    def stop(self, how: signal.Signals, *, whole_group: bool) -> int:
        if whole_group:
            os.killpg(self.process.pid, how)
        else:
            self.process.send_signal(how)
        return self.process.wait(STOP_SECONDS)

    def ensure_stopped(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _embedded_database_url(data_dir: Path) -> str:
    return f"postgresql://postgres@/postgres?host={data_dir / 'postgres'}"


def _embedded_redis(data_dir: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"))


async def _create_marker(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('kept')")
    finally:
        await conn.close()


async def _read_marker(database_url: str) -> str | None:
    conn = await asyncpg.connect(database_url)
    try:
        note: str | None = await conn.fetchval("SELECT note FROM marker")
        return note
    finally:
        await conn.close()


def test_run_serves_keeps_its_data_and_leaves_nothing_behind(
    data_dir: Path, tmp_path: Path
) -> None:
    first = RunningProduct(data_dir, tmp_path / "first.log")
    try:
        banner = first.wait_until_serving()
        assert f"http://127.0.0.1:{first.port}/" in banner
        # On its embedded database it shows a demo code, ready to scan.
        demo_url = next(line.split()[-1] for line in banner.splitlines() if "demo scan" in line)
        assert demo_url.startswith(first.base_url.upper())  # PUBLIC_BASE_URL follows PORT
        demo = httpx.get(demo_url, timeout=5)
        assert demo.status_code == 200
        assert "丙酮" in demo.text
        ready = httpx.get(f"{first.base_url}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"{first.base_url}/api/v1", timeout=5).status_code == 200
        # The console, where the banner says, and the demo logins beside it.
        console_url = next(
            line.split()[-1] for line in banner.splitlines() if line.strip().startswith("console")
        )
        assert console_url == f"{first.base_url}/console/"
        assert "安全码管理控制台" in httpx.get(console_url, timeout=5).text
        assert "13700000001" in banner
        asyncio.run(_create_marker(_embedded_database_url(data_dir)))
        client = _embedded_redis(data_dir)
        client.set("marker", "kept")
        client.close()
        assert processes_using(data_dir) != []  # the embedded servers are running

        # Ctrl-C in a terminal: SIGINT to the whole foreground group.
        assert first.stop(signal.SIGINT, whole_group=True) == 0
    finally:
        first.ensure_stopped()
    assert processes_using(data_dir) == []

    second = RunningProduct(data_dir, tmp_path / "second.log")
    try:
        second.wait_until_serving()
        assert httpx.get(f"{second.base_url}/readyz", timeout=5).status_code == 200
        assert asyncio.run(_read_marker(_embedded_database_url(data_dir))) == "kept"
        client = _embedded_redis(data_dir)
        assert client.get("marker") == b"kept"
        client.close()

        # A supervisor's SIGTERM, to the process alone.
        assert second.stop(signal.SIGTERM, whole_group=False) == 0
    finally:
        second.ensure_stopped()
    assert processes_using(data_dir) == []


def test_run_with_urls_set_starts_no_server_of_its_own(
    data_dir: Path, tmp_path: Path, service_urls: ServiceUrls
) -> None:
    product = RunningProduct(
        data_dir,
        tmp_path / "run.log",
        DATABASE_URL=service_urls.database_url,
        REDIS_URL=service_urls.redis_url,
    )
    try:
        product.wait_until_serving()
        assert httpx.get(f"{product.base_url}/readyz", timeout=5).status_code == 200
        assert not (data_dir / "postgres").exists()
        assert not (data_dir / "redis").exists()
        assert processes_using(data_dir) == []
        assert product.stop(signal.SIGINT, whole_group=True) == 0
    finally:
        product.ensure_stopped()
