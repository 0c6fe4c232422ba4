"""`make chaos`: SafeCode under load while its parts are killed, one at a time, and what it
promises checked afterwards.

It starts a SafeCode of its own: an embedded PostgreSQL and Redis under
`SAFECODE_DATA_DIR/chaos`, supervised as `safecode run` supervises them
(`safecode.supervision`); a fresh database with the demo data and `--codes` published
codes; and the units as separate processes, so each can be killed: the resolver
(`safecode serve resolver`, two uvicorn workers), the registry and the relay. Then, phase
after phase, a bounded locust load (`loadtests.chaos_users`: scans, and registry writes
by the demo enterprises and regulators) runs for `--seconds-per-phase`, and a third of
the way in one part is killed with SIGKILL:

| phase                  | killed                        | brought back by                    |
| ---------------------- | ----------------------------- | ---------------------------------- |
| baseline               | nothing                       |                                    |
| Redis                  | redis-server                  | the supervisor                     |
| PostgreSQL             | the postmaster                | the supervisor                     |
| relay                  | `safecode serve relay`        | this command, at once (as systemd) |
| resolver worker        | one of the resolver's workers | uvicorn                            |

The report, printed and written to `artifacts/chaos/` (`report.json`, `report.txt`;
`loadtests.chaos_report`): answers and 5xx per phase, the cache layer that served the
scans, the time from each kill until both units' /readyz answer 200 and a scan succeeds
(for the relay: until it moves the outbox again; for a worker: until uvicorn has
replaced it), and every write the registry acknowledged, looked up in the database.
Exit status 1 if an acknowledged write is missing, anything answered 500, a scan found
no layer to answer it, or a part did not come back.

Throughout, an integrator posts EPCIS event documents to the registry and posts each one
the registry did not acknowledge again with the same eventIDs (`loadtests.chaos_events`);
every event acknowledged must be stored, once, or the run fails.

Traffic goes to 127.0.0.1 only, for a bounded time. Whatever this starts is stopped when
it ends, however it ends (done, Ctrl-C, SIGTERM, an exception), and its database dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
import redis

from codesvc.metrics import PUBLISH_SECONDS
from codesvc.scancache import INVALIDATION_CHANNEL
from loadtests.chaos_events import check_events, start_event_ingest
from loadtests.chaos_report import (
    PhaseResult,
    Recovery,
    build_report,
    check_writes,
    render_text,
    scrape_layers,
    supervisor_log,
    with_events,
)
from loadtests.chaos_setup import (
    ENTERPRISES,
    REGULATORS,
    ROOT,
    START_SECONDS,
    ChaosRun,
    outbox_empty,
    start_run,
    status,
    wait_for_outbox,
)
from loadtests.product import exit_on_sigterm
from safecode.logs import configure_logging
from safecode.settings import load_settings

USERS_FILE = Path(__file__).with_name("chaos_users.py")
RECOVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Phase:
    name: str
    title: str
    # Kills something; returns what must hold, besides readiness and a scan, to call it back.
    fault: Callable[[ChaosRun], Callable[[], bool]] | None


def main() -> int:
    parser = argparse.ArgumentParser(description="SafeCode under load while its parts die")
    parser.add_argument("--seconds-per-phase", type=int, default=8)
    parser.add_argument("--users", type=int, default=8, help="scanning users")
    parser.add_argument("--codes", type=int, default=1000, help="published codes scanned")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "artifacts" / "chaos")
    args = parser.parse_args()
    exit_on_sigterm()
    configure_logging("WARNING")
    try:
        return _chaos(args)
    except KeyboardInterrupt:  # what it started is stopped by now: the `with`s unwound
        print("chaos: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


def _chaos(args: argparse.Namespace) -> int:
    settings = load_settings()
    args.report_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    with supervisor_log() as restarts, ExitStack() as stack:
        run = start_run(stack, settings.data_dir / "chaos", args)
        ingest = start_event_ingest(stack, run)
        phases = [_run_phase(run, phase, args) for phase in PHASES]
        ingest.finish()
        events = asyncio.run(check_events(run.database_url, ingest))
        wait_for_outbox(run.database_url)  # the last approvals reach Redis
        ledger = Path(run.users["ledger"]).read_text().splitlines()
        writes, published = asyncio.run(
            check_writes(
                run.database_url, [json.loads(line) for line in ledger if line],
                run.users["run"], run.resolver_url,
            )
        )  # fmt: skip
        report = build_report(started_at, args, phases, writes, published, restarts, run.report_dir)
        report = with_events(report, events)
    text = render_text(report)
    (args.report_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (args.report_dir / "report.txt").write_text(text)
    print(text)
    print(f"report: {args.report_dir / 'report.txt'} and report.json")
    return 0 if report["verdict"]["ok"] else 1


def _run_phase(run: ChaosRun, phase: Phase, args: argparse.Namespace) -> PhaseResult:
    print(f"phase {phase.name}: {phase.title} ...", flush=True)
    before = scrape_layers(run.resolver_url)
    files = {key: run.report_dir / f"{phase.name}-{key}.json" for key in
             ("config", "counts", "started")}  # fmt: skip
    for path in files.values():
        path.unlink(missing_ok=True)
    files["config"].write_text(
        json.dumps(run.users | {"counts": str(files["counts"]), "started": str(files["started"])})
    )
    users = args.users + len(ENTERPRISES) + len(REGULATORS)
    with (run.report_dir / f"{phase.name}-locust.log").open("wb") as log:
        load = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(USERS_FILE), "--headless",
             "--only-summary", "--host", run.resolver_url, "--users", str(users),
             "--spawn-rate", str(users), "--run-time", f"{args.seconds_per_phase}s",
             "--stop-timeout", "3", "--loglevel", "WARNING"],
            cwd=ROOT, stdout=log, stderr=log, start_new_session=True,
            env=dict(os.environ, SC_CODES_FILE=str(run.codes_file),
                     SC_CHAOS_CONFIG=str(files["config"])),
        )  # fmt: skip
    recovery = None
    try:
        deadline = time.monotonic() + START_SECONDS
        while not files["started"].exists():
            if load.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"chaos: locust did not start (see {log.name})")
            time.sleep(0.1)
        time.sleep(args.seconds_per_phase / 3)
        if phase.fault is not None:
            killed_at = time.monotonic()
            recovery = _recovery(run, killed_at, phase.fault(run))
        load.wait(args.seconds_per_phase + START_SECONDS)
    finally:
        if load.poll() is None:  # interrupted: locust stops on SIGTERM
            load.terminate()
            try:
                load.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(load.pid, signal.SIGKILL)
                load.wait()
    answers = json.loads(files["counts"].read_text())
    time.sleep(PUBLISH_SECONDS + 0.5)  # every worker's counts reach the scrape
    after = scrape_layers(run.resolver_url)
    return PhaseResult(phase.name, phase.title, answers, before, after, recovery)


def _recovery(run: ChaosRun, killed_at: float, back: Callable[[], bool]) -> Recovery:
    """Polls until both units are ready, a scan answers 200 and `back()` holds."""
    unready = False
    with httpx.Client(timeout=2) as client:
        while time.monotonic() - killed_at < RECOVERY_SECONDS:
            ready = [status(f"{url}/readyz", client) == 200
                     for url in (run.resolver_url, run.registry_url)]  # fmt: skip
            unready = unready or not all(ready)
            scanned = status(f"{run.resolver_url}{run.probe_path}", client) == 200
            if all(ready) and scanned and back():
                return Recovery(round(time.monotonic() - killed_at, 2), unready)
            time.sleep(0.1)
    return Recovery(None, unready)


def _kill_redis(run: ChaosRun) -> Callable[[], bool]:
    assert run.redis.pid is not None
    os.kill(run.redis.pid, signal.SIGKILL)
    return lambda: True


def _kill_postgres(run: ChaosRun) -> Callable[[], bool]:
    postmaster = int((run.postgres.pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    return lambda: True


def _kill_relay(run: ChaosRun) -> Callable[[], bool]:
    """Killed and started again at once; back when it moves a row of the outbox again."""
    run.relay.kill()
    run.relay.start()
    asyncio.run(_queue_republish(run.database_url, run.probe_path.split("/")[2][:16]))
    return lambda: asyncio.run(outbox_empty(run.database_url))


async def _queue_republish(database_url: str, code_id: str) -> None:
    """An outbox row for a code already published: copying it again changes nothing."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO cache_outbox (code_id, version) SELECT code_id, max(version) "
            "FROM published_variants WHERE code_id = $1 GROUP BY code_id",
            code_id,
        )
    finally:
        await conn.close()


def _kill_resolver_worker(run: ChaosRun) -> Callable[[], bool]:
    """One of the two workers killed; back when uvicorn's replacement has run its
    lifespan: it follows invalidations in Redis again, as each worker does."""
    following = _followers(run.redis_url)
    victim = _workers(run.resolver.pid)[0]
    os.kill(victim, signal.SIGKILL)
    return lambda: (
        victim not in _workers(run.resolver.pid) and (_followers(run.redis_url) >= following)
    )


def _followers(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.pubsub_numsub(INVALIDATION_CHANNEL)[0][1])
    except redis.RedisError:
        return 0
    finally:
        client.close()


def _workers(parent: int) -> list[int]:
    workers = []
    for child in psutil.Process(parent).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                workers.append(child.pid)
        except psutil.Error:
            continue
    return workers


PHASES = (
    Phase("baseline", "no fault", None),
    Phase("redis", "redis-server killed (SIGKILL); the supervisor restarts it", _kill_redis),
    Phase("postgres", "the postmaster killed (SIGKILL); the supervisor restarts it",
          _kill_postgres),
    Phase("relay", "the relay killed (SIGKILL) and started again", _kill_relay),
    Phase("worker", "one of the two resolver workers killed (SIGKILL); uvicorn replaces it",
          _kill_resolver_worker),
)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
