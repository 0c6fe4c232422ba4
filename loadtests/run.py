"""`make loadtest`: a bounded locust run against the scan path, with a written report.

By default it starts its own product on a database of its own (on the embedded or
configured servers), publishes codes there, and stops it afterwards. `--host URL
--codes-file FILE` points it at a running instance instead. Traffic goes to the given
host only, for a fixed time with a fixed number of users.

The report goes to `artifacts/loadtest/`: locust's CSV files and `summary.md` (requests
per second, percentiles and failures, by kind of request).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from loadtests.bench_scan import prepare_codes, resolver_process
from loadtests.product import exit_on_sigterm
from safecode.embedded import embedded_services
from safecode.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
REPORT_DIR = ROOT / "artifacts" / "loadtest"


def main() -> int:
    parser = argparse.ArgumentParser(description="bounded locust load test of the scan path")
    parser.add_argument("--host", help="a running resolver (default: start one here)")
    parser.add_argument("--codes-file", help="scan paths to use with --host, one a line")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=int, default=25)
    parser.add_argument("--run-time", default="30s")
    parser.add_argument("--codes", type=int, default=5000, help="codes to publish (own instance)")
    args = parser.parse_args()
    exit_on_sigterm()
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    if args.host:
        if not args.codes_file:
            parser.error("--host needs --codes-file: the scan paths to request")
        return _run_locust(args, args.host, Path(args.codes_file))

    settings = load_settings()
    # The embedded servers this starts are stopped when it ends, however it ends.
    with embedded_services(
        settings.data_dir, database_url=settings.database_url, redis_url=settings.redis_url
    ) as urls:
        return _run_own_instance(args, urls.database_url, urls.redis_url)


def _run_own_instance(args: argparse.Namespace, server_url: str, redis_url: str) -> int:
    """Publish codes into a database of its own, serve them, load them, drop the database."""
    database = f"safecode_loadtest_{uuid.uuid4().hex[:8]}"
    database_url = urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{database}"'))
    try:
        print(f"publishing {args.codes} codes for the load test ...", flush=True)
        texts = asyncio.run(prepare_codes(database_url, redis_url, args.codes))
        codes_file = REPORT_DIR / "codes.txt"
        codes_file.write_text("".join(f"/C/{text}\n" for text in texts))
        with resolver_process(database_url, redis_url) as base_url:
            return _run_locust(args, base_url, codes_file)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE "{database}" WITH (FORCE)'))


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _run_locust(args: argparse.Namespace, host: str, codes_file: Path) -> int:
    prefix = REPORT_DIR / "locust"
    status = subprocess.call(
        [
            sys.executable, "-m", "locust",
            "-f", str(LOCUSTFILE),
            "--headless", "--only-summary",
            "--host", host,
            "--users", str(args.users),
            "--spawn-rate", str(args.spawn_rate),
            "--run-time", args.run_time,
            "--stop-timeout", "5",
            "--csv", str(prefix),
        ],
        env=dict(os.environ, SC_CODES_FILE=str(codes_file)),
    )  # fmt: skip
    summary = write_summary(prefix, args)
    print(f"\nreport: {summary} (and {prefix}_*.csv)")
    return status


def write_summary(prefix: Path, args: argparse.Namespace) -> Path:
    with Path(f"{prefix}_stats.csv").open() as stats_file:
        rows = list(csv.DictReader(stats_file))
    with Path(f"{prefix}_failures.csv").open() as failures_file:
        failures = list(csv.DictReader(failures_file))
    lines = [
        "# Load test of the scan path",
        "",
        f"{args.users} users, spawn rate {args.spawn_rate}/s, {args.run_time}.",
        "",
        "| request | count | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} "
            f"| {float(row['Requests/s']):.0f} | {row['50%']} | {row['95%']} | {row['99%']} "
            f"| {float(row['Max Response Time']):.0f} |"
        )
    lines += ["", "## Failures by kind", ""]
    if failures:
        lines += ["| request | error | count |", "| --- | --- | ---: |"]
        lines += [f"| {f['Name']} | {f['Error']} | {f['Occurrences']} |" for f in failures]
    else:
        lines.append("None.")
    summary = REPORT_DIR / "summary.md"
    summary.write_text("\n".join(lines) + "\n")
    return summary


if __name__ == "__main__":
    sys.exit(main())
