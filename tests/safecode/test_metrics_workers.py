"""`/metrics` of `safecode serve resolver` with 2 uvicorn workers: one answer for the unit,
whichever worker gives it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from safecode.demo import sample_record
from safecode.embedded import ServiceUrls
from tests.conftest import free_port

SCANS = "safecode_http_requests_total"
# Another worker's counts reach a scrape within a publish interval (1 s); allow for a
# machine busy with other tests.
WAIT_SECONDS = 15.0

pytestmark = pytest.mark.slow


async def test_every_worker_answers_metrics_for_the_whole_unit(
    service_urls: ServiceUrls, pool: asyncpg.Pool, keyring: KeyRing, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        issued = await issue_code(conn, "e/p", keyring=keyring, province="14")
        await publish(conn, issued.code.code_id, sample_record(), public_base_url="http://x")
    await asyncio.to_thread(_check_unit, service_urls, tmp_path, issued.code.text)


def _check_unit(service_urls: ServiceUrls, tmp_path: Path, code: str) -> None:
    with _resolver_with_two_workers(service_urls, tmp_path) as (port, parent):
        workers = _workers(parent)
        assert len(workers) == 2
        metrics_dir = Path(psutil.Process(min(workers)).environ()["PROMETHEUS_MULTIPROC_DIR"])
        assert metrics_dir.is_dir()
        assert metrics_dir.parent == tmp_path

        # A kept-alive connection stays with the worker that accepted it: one per worker.
        by_worker = _one_connection_per_worker(port, workers)
        total = 0  # 7 scans answered by one worker, 4 by the other: neither alone has 11
        for pid, times in zip(sorted(workers), (7, 4), strict=True):
            for _ in range(times):
                assert _get(by_worker[pid], f"/C/{code}")[0] == 200
            total += times

        # Each worker's scrape has the other's counts, once published.
        for pid, connection in sorted(by_worker.items()):
            _until(
                functools.partial(_counts_scans, connection, total),
                f"worker {pid}'s /metrics counts the {total} scans of both workers",
            )
        for _ in range(3):
            for pid in sorted(workers):
                text = _scrape(by_worker[pid])
                assert _scan_count(text) == total
                assert _sum(text, "safecode_scan_lookups_total") == total
                assert _sum(text, "safecode_http_request_duration_seconds_count", "/C/{code}") == (
                    total
                )
                assert _gauge_pids(text, "safecode_process_resident_memory_bytes") == workers

        text = _scrape(by_worker[min(workers)])
        for pid in workers:
            labels = {"pid": str(pid)}
            assert _value(text, "safecode_process_resident_memory_bytes", labels) > 0
            assert _value(text, "safecode_process_open_fds", labels) > 0
            assert _value(text, "safecode_postgres_pool_max_connections", labels) == 4
            # Every worker follows invalidations on a Redis connection of its own.
            assert _value(text, "safecode_redis_pool_connections", {**labels, "state": "used"}) >= 1
        # A worker that is killed loses its gauges (uvicorn starts another); its counts stay.
        killed = max(workers)
        for connection in by_worker.values():
            connection.close()
        os.kill(killed, signal.SIGKILL)
        _until(
            lambda: killed not in _gauge_pids(_scrape_new(port), "safecode_process_open_fds"),
            f"the gauges of killed worker {killed} are gone",
        )
        assert _scan_count(_scrape_new(port)) == total

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(30) == 0
    assert not metrics_dir.exists()  # removed with the unit


@contextmanager
def _resolver_with_two_workers(
    service_urls: ServiceUrls, tmp_path: Path
) -> Iterator[tuple[int, psutil.Popen]]:
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=service_urls.database_url,
        REDIS_URL=service_urls.redis_url,
        SAFECODE_DATA_DIR=str(tmp_path),
        RESOLVER_PORT=str(port),
        RESOLVER_WORKERS="2",
        DATABASE_POOL_SIZE="4",
        LOG_LEVEL="WARNING",
        TMPDIR=str(tmp_path),  # where the unit makes its metrics directory, should it be killed
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        parent = psutil.Popen(
            [sys.executable, "-m", "safecode", "serve", "resolver"],
            env=env,
            stderr=out,
            start_new_session=True,  # its own process group: killed whole if the test fails
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert parent.poll() is None, log.read_text()[-2000:]
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                if _get(probe, "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            finally:
                probe.close()
            assert time.monotonic() < deadline, "the resolver did not answer within 60 s"
            time.sleep(0.2)
        _until(lambda: len(_workers(parent)) == 2, "uvicorn started 2 workers")
        yield port, parent
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
        # Whatever the unit started is in its process group: gone with it, or killed here.
        _, left = psutil.wait_procs(_process_group(parent.pid), timeout=10)
        for process in left:
            process.kill()
        assert left == [], f"outlived the unit: {left}"


def _process_group(pgid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
            if os.getpgid(process.pid) == pgid:
                found.append(process)
    return found


def _workers(parent: psutil.Process) -> set[int]:
    """uvicorn's worker processes (multiprocessing also starts a resource tracker)."""
    return {child.pid for child in parent.children() if "spawn_main" in " ".join(child.cmdline())}


def _one_connection_per_worker(
    port: int, workers: set[int]
) -> dict[int, http.client.HTTPConnection]:
    """Connections until each worker has accepted one (the kernel picks who accepts)."""
    found: dict[int, http.client.HTTPConnection] = {}
    for _ in range(200):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert _get(connection, "/healthz")[0] == 200
        assert connection.sock is not None
        local_port = connection.sock.getsockname()[1]
        owner = _owner(port, local_port, workers)
        if owner in found:
            connection.close()
        else:
            found[owner] = connection
        if found.keys() == workers:
            return found
    raise AssertionError(f"200 connections all went to worker(s) {sorted(found)}")


def _owner(port: int, client_port: int, workers: set[int]) -> int:
    """The worker holding the server's end of the connection from `client_port`."""
    for pid in workers:
        for conn in psutil.Process(pid).net_connections("tcp"):
            if conn.laddr.port == port and conn.raddr and conn.raddr.port == client_port:
                return pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def _get(connection: http.client.HTTPConnection, path: str) -> tuple[int, str]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode()


def _scrape(connection: http.client.HTTPConnection) -> str:
    status, text = _get(connection, "/metrics")
    assert status == 200
    return text


def _scrape_new(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        return _scrape(connection)
    finally:
        connection.close()


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def _counts_scans(connection: http.client.HTTPConnection, total: int) -> bool:
    return _scan_count(_scrape(connection)) == total


def _scan_count(text: str) -> float:
    return sum(
        value
        for labels, value in _samples(text, SCANS)
        if labels["route"] == "/C/{code}" and labels["status"] == "200"
    )


def _sum(text: str, name: str, route: str | None = None) -> float:
    return sum(
        value for labels, value in _samples(text, name) if route in (None, labels.get("route"))
    )


def _value(text: str, name: str, labels: dict[str, str]) -> float:
    found = [value for sample_labels, value in _samples(text, name) if sample_labels == labels]
    assert len(found) == 1, (name, labels, _samples(text, name))
    return found[0]


def _gauge_pids(text: str, name: str) -> set[int]:
    return {int(labels["pid"]) for labels, _ in _samples(text, name)}


def _until(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)
