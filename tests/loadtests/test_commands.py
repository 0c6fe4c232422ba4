"""`make loadtest`, `make bench` and `make chaos` leave nothing running: the embedded
PostgreSQL and Redis they start (and the product, units and load they start on them) stop
when they end, however they end. Each runs here, bounded to seconds, on a data directory
of its own. `make chaos` also reports, from a real run, that nothing acknowledged was lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
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


def test_the_lifecycle_bench_measures_each_case_on_a_small_scale(data_dir: Path) -> None:
    status, output = _finish(
        _command(
            data_dir, "loadtests.bench", "--section", "lifecycle", "--lifecycle-items", "3000",
            "--lifecycle-ingest", "2000", "--lifecycle-events", "20000", "--scan-seconds", "1",
        )
    )  # fmt: skip
    assert status == 0, output[-3000:]
    table = output[output.index("\nlifecycle:") :]
    for case in (
        "3,000 serials generated and stored",
        "2,000 events ingested",
        "item scan (L1 hit) vs /healthz",
        "timeline of 50 events, 20,000 stored",
    ):
        assert case in table, table
    # Every document recorded whole, every scan and timeline answered 200.
    assert "not recorded whole" not in table, table
    assert "not answered 200" not in table, table
    assert processes_using(data_dir) == []


CHAOS = ("loadtests.chaos", "--seconds-per-phase", "2", "--codes", "50", "--users", "3")


def _started_under(*directories: Path) -> list[str]:
    """Processes whose command line or environment names one of `directories`: what a
    command started with them (its units and locust get them in their environment)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "environ"]):
        if process.pid == os.getpid():
            continue
        words = [*(process.info["cmdline"] or []), *(process.info["environ"] or {}).values()]
        if any(str(directory) in word for word in words for directory in directories):
            found.append(f"{process.pid}: {' '.join(process.info['cmdline'] or [])}")
    return found


def test_chaos_loses_no_acknowledged_write_and_stops_everything(
    data_dir: Path, tmp_path: Path
) -> None:
    report_dir = tmp_path / "chaos"
    status, output = _finish(_command(data_dir, *CHAOS, "--report-dir", str(report_dir)))
    assert status == 0, output[-5000:]
    report = json.loads((report_dir / "report.json").read_text())
    assert [row["phase"] for row in report["phases"]] == [
        "baseline", "redis", "postgres", "relay", "worker",
    ]  # fmt: skip
    writes = report["writes"]
    assert writes["acknowledged"] > 0
    assert writes["stored"] == writes["acknowledged"]
    assert writes["lost"] == 0
    assert set(writes["half_done"].values()) == {0}
    events = report["events"]  # posted throughout, retried with the same eventIDs
    assert events["acknowledged"] > 0
    assert events["stored"] == events["rows_stored"] == events["acknowledged"]
    assert events["items_shipped"] == events["acknowledged"]
    for row in report["phases"][1:]:  # every part killed came back by itself
        assert row["recovery_seconds"] is not None, row
    restarts = [entry["service"] for entry in report["supervisor"] if "down_seconds" in entry]
    assert restarts == ["Redis", "PostgreSQL"]
    assert report["verdict"] == {"ok": True, "problems": []}
    assert "verdict: OK" in output
    assert _started_under(data_dir, report_dir) == []
    assert processes_using(data_dir) == []


def test_chaos_stops_everything_when_terminated(data_dir: Path, tmp_path: Path) -> None:
    report_dir = tmp_path / "chaos"
    process = _command(data_dir, *CHAOS[:2], "60", *CHAOS[3:], "--report-dir", str(report_dir))
    deadline = time.monotonic() + FINISH_SECONDS
    while not (report_dir / "baseline-started.json").exists():  # the load is running
        assert process.poll() is None, _finish(process)[1][-3000:]
        assert time.monotonic() < deadline, "the load never started"
        time.sleep(0.5)
    assert len(_started_under(data_dir, report_dir)) > 3  # servers, units, locust
    process.send_signal(signal.SIGTERM)
    status, output = _finish(process)
    assert status == 128 + signal.SIGTERM, output[-3000:]
    assert _started_under(data_dir, report_dir) == []
    assert processes_using(data_dir) == []
