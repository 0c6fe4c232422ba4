"""`safecode run` restarts its embedded Redis and PostgreSQL when they die, and comes back
ready by itself: scans answer all along, writes answer 503 meanwhile, nothing outlives it."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from codesvc.scancache import INVALIDATION_CHANNEL
from safecode.demo import DEMO_PASSWORD
from safecode.embedded import EmbeddedPostgres, EmbeddedRedis
from safecode.supervision import Health, Supervisor
from tests.conftest import processes_using
from tests.safecode.test_cli_run import RunningProduct

pytestmark = pytest.mark.slow

RECOVERY_SECONDS = 30  # the supervisor looks every 0.5 s; PostgreSQL recovers in seconds


def _redis_pid(data_dir: Path) -> int:
    found = [line for line in processes_using(data_dir) if "redis-server" in line]
    assert len(found) == 1, found
    return int(found[0].split(":")[0])


def _postmaster_pid(data_dir: Path) -> int:  # postgres' own pid file names it
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def _readyz(client: httpx.Client) -> int:
    return client.get("/readyz", timeout=5).status_code


def _until_ready(client: httpx.Client, scan_url: str) -> list[int]:
    """The statuses of scans made until /readyz answers 200 again."""
    readiness: list[int] = []
    scans: list[int] = []
    deadline = time.monotonic() + RECOVERY_SECONDS
    while not readiness or readiness[-1] != 200:
        assert time.monotonic() < deadline, f"not ready again: {readiness[-5:]}"
        readiness.append(_readyz(client))
        scans.append(client.get(scan_url, timeout=5).status_code)
        time.sleep(0.05)
    return scans


def _until_following(client: httpx.Client, scan_url: str, data_dir: Path) -> None:
    """Until the resolver follows invalidations on the new Redis, then one scan: it drops
    its memory as it resubscribes, and the scan fills it again (from PostgreSQL: a Redis
    killed before its first snapshot comes back empty)."""
    store = redis.Redis(unix_socket_path=str(EmbeddedRedis(data_dir).socket))
    try:
        deadline = time.monotonic() + RECOVERY_SECONDS
        while store.pubsub_numsub(INVALIDATION_CHANNEL)[0][1] == 0:
            assert time.monotonic() < deadline, "the resolver did not resubscribe"
            time.sleep(0.1)
    finally:
        store.close()
    assert client.get(scan_url, timeout=5).status_code == 200


def _wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _sign_in(client: httpx.Client) -> int:
    return client.post(
        "/api/v1/auth/login",
        json={"mobile": "13800000005", "password": DEMO_PASSWORD},
        timeout=10,
    ).status_code


def test_run_restarts_crashed_servers_and_becomes_ready_by_itself(
    data_dir: Path, tmp_path: Path
) -> None:
    product = RunningProduct(data_dir, tmp_path / "run.log")
    try:
        banner = product.wait_until_serving()
        scan_url = next(line.split()[-1] for line in banner.splitlines() if "demo scan" in line)
        with httpx.Client(base_url=product.base_url) as client:
            assert _readyz(client) == 200

            # Redis: hung first (so readiness is seen failing: a restart takes milliseconds,
            # sooner than a probe could notice), then killed as the OOM killer would.
            redis_pid = _redis_pid(data_dir)
            os.kill(redis_pid, signal.SIGSTOP)
            assert _readyz(client) == 503  # the ping times out
            assert client.get(scan_url, timeout=10).status_code == 200
            os.kill(redis_pid, signal.SIGKILL)
            scans = _until_ready(client, scan_url)
            assert set(scans) == {200}, scans  # from memory or PostgreSQL meanwhile
            assert _redis_pid(data_dir) != redis_pid  # restarted, not reused
            _until_following(client, scan_url, data_dir)

            # PostgreSQL: the postmaster killed outright; recovery takes a second or two.
            postmaster = _postmaster_pid(data_dir)
            os.kill(postmaster, signal.SIGKILL)
            # Its backends may answer a query or two before they notice it is gone.
            _wait_for(lambda: _readyz(client) == 503)
            assert _sign_in(client) == 503  # a write is refused whole, never half-done
            scans = _until_ready(client, scan_url)
            assert set(scans) == {200}, scans  # from memory or Redis meanwhile
            assert _postmaster_pid(data_dir) != postmaster
            assert _sign_in(client) == 200  # the registry's pool reconnected by itself

            # Both again, back to back: nothing was left half-restarted.
            os.kill(_redis_pid(data_dir), signal.SIGKILL)
            os.kill(_postmaster_pid(data_dir), signal.SIGKILL)
            _until_ready(client, scan_url)

        # Each restart is named in the log, with how long the server was down.
        deadline = time.monotonic() + 10
        while (log := product.log.read_text()).count("restarted; it was down for at most") < 4:
            assert time.monotonic() < deadline, log[-3000:]
            time.sleep(0.1)
        assert log.count("embedded Redis restarted; it was down for at most") == 2
        assert log.count("embedded PostgreSQL restarted; it was down for at most") == 2
        assert product.stop(signal.SIGINT, whole_group=True) == 0
    finally:
        product.ensure_stopped()
    assert processes_using(data_dir) == []


def test_an_orderly_shutdown_is_not_fought(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    postgres, store = EmbeddedPostgres(tmp_path), EmbeddedRedis(tmp_path)
    try:
        postgres.start()
        store.start()
        with (
            caplog.at_level(logging.WARNING, "safecode.supervision"),
            Supervisor([postgres, store], every=0.1),
        ):
            # Someone shuts Redis down (SHUTDOWN), and PostgreSQL (SIGTERM: a smart shutdown).
            client = redis.Redis(unix_socket_path=str(store.socket))
            with contextlib.suppress(redis.ConnectionError):
                client.shutdown(nosave=True)
            client.close()
            os.kill(_postmaster_pid(tmp_path), signal.SIGTERM)
            _wait_for(lambda: "PostgreSQL was shut down in an orderly way" in caplog.text)
            _wait_for(lambda: "Redis was shut down in an orderly way" in caplog.text)
            time.sleep(0.5)  # five more looks: neither is started again
            assert store.health() is Health.SHUT_DOWN
            assert postgres.health() is Health.SHUT_DOWN
            assert "restarted" not in caplog.text
    finally:
        store.stop()
        postgres.stop()
    assert processes_using(tmp_path) == []


def test_a_server_another_process_started_is_not_restarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    owner, reuser = EmbeddedRedis(tmp_path), EmbeddedRedis(tmp_path)
    try:
        owner.start()
        reuser.start()  # finds it running: another process's
        assert not reuser.started_here
        with (
            caplog.at_level(logging.WARNING, "safecode.supervision"),
            Supervisor([reuser], every=0.1),
        ):
            assert "Redis was started by another process: not supervised here" in caplog.text
            assert owner.pid is not None
            os.kill(owner.pid, signal.SIGKILL)
            time.sleep(0.5)
            assert owner.health() is Health.CRASHED  # and nobody started it again
            assert "restart" not in caplog.text
    finally:
        owner.stop()
    assert processes_using(tmp_path) == []
