"""`make loadtest` and `make bench` leave nothing running: the embedded PostgreSQL and Redis
they start (and the product and resolver they start on them) stop when they end, however
they end. Each runs here, bounded to seconds, on a data directory of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, processes_using

pytestmark = pytest.mark.slow

FINISH_SECONDS = 300  # the first start of the embedded PostgreSQL runs initdb


def _command(data_dir: Path, *argv: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["SAFECODE_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=FINISH_SECONDS)
    return process.returncode, output.decode(errors="replace")


LOADTEST = ("loadtests.run", "--codes", "20", "--users", "2", "--spawn-rate", "2",
            "--run-time", "2s")  # fmt: skip


def test_the_load_test_stops_the_servers_it_started(data_dir: Path) -> None:
    status, output = _finish(_command(data_dir, *LOADTEST))
    assert status == 0, output[-3000:]
    assert "publishing 20 codes" in output
    assert processes_using(data_dir) == []


def test_the_load_test_stops_them_when_it_is_terminated(data_dir: Path) -> None:
    process = _command(data_dir, *LOADTEST[:-1], "60s")
    deadline = time.monotonic() + FINISH_SECONDS
    while not processes_using(data_dir) or "locust" not in " ".join(processes_using(ROOT)):
        assert process.poll() is None, _finish(process)[1][-3000:]
        assert time.monotonic() < deadline, "the load never started"
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)  # what a supervisor or `kill` sends
    status, output = _finish(process)
    assert status == 128 + signal.SIGTERM, output[-3000:]
    assert processes_using(data_dir) == []


def test_the_bench_stops_the_servers_it_started(data_dir: Path) -> None:
    status, output = _finish(
        _command(data_dir, "loadtests.bench", "--section", "documents", "--documents", "1")
    )
    assert status == 0, output[-3000:]
    assert "documents:" in output
    assert processes_using(data_dir) == []
