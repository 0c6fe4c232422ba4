"""`make bench`: throughput of the product's endpoints, measured side by side in one run.

Each section drives a running `safecode run` (started here) with the same client, the
same concurrency and the same number of requests, and prints requests per second and
the ratio to the section's baseline: a plain endpoint of the same server. Ratios are
what to compare between machines and commits; absolute numbers depend on the machine
(the client shares its cores with the server).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import httpx

from loadtests.bench_codes import codes_section, print_rates
from loadtests.bench_console import console_section, print_console_table
from loadtests.bench_documents import documents_section
from loadtests.bench_lifecycle import lifecycle_section, print_lifecycle_table
from loadtests.bench_scan import print_scan_table, scan_section
from loadtests.product import exit_on_sigterm, running_product
from safecode.embedded import embedded_services
from safecode.settings import load_settings


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    requests: int
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


async def measure(
    client: httpx.AsyncClient, name: str, path: str, requests: int, concurrency: int
) -> Measurement:
    remaining = requests
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            response = await client.get(path)
            if response.status_code != 200:
                failures += 1

    for _ in range(min(50, requests)):  # warm up connections and caches
        await client.get(path)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Measurement(name, requests, time.perf_counter() - started, failures)


def print_table(title: str, rows: list[Measurement]) -> None:
    baseline = rows[0].per_second
    print(f"\n{title}")
    print(
        f"  {'endpoint':<34} {'requests':>9} {'req/s':>9} {'vs ' + rows[0].name:>18} {'failed':>7}"
    )
    for row in rows:
        ratio = row.per_second / baseline
        print(
            f"  {row.name:<34} {row.requests:>9} {row.per_second:>9.0f} {ratio:>17.2f}x"
            f" {row.failures:>7}"
        )


async def http_section(base_url: str, requests: int, concurrency: int) -> list[Measurement]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        return [
            await measure(client, "GET /healthz (baseline)", "/healthz", requests, concurrency),
            await measure(
                client, "GET /readyz (PostgreSQL + Redis)", "/readyz", requests, concurrency
            ),
            await measure(client, "GET / (rendered page)", "/", requests, concurrency),
        ]


SECTIONS = ("http", "codes", "documents", "scan", "console", "lifecycle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--section", choices=SECTIONS, action="append", help="default: all")
    parser.add_argument("--requests", type=int, default=3000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--codes", type=int, default=500, help="codes per issuing case")
    parser.add_argument("--documents", type=int, default=50, help="renders per document case")
    parser.add_argument("--scan-seconds", type=int, default=5, help="wrk time per scan case")
    parser.add_argument(
        "--scan-codes",
        type=int,
        default=60_000,
        help="codes published for scans (misses need many)",
    )
    parser.add_argument(
        "--console-requests", type=int, default=200, help="requests per console page"
    )
    parser.add_argument(
        "--lifecycle-items", type=int, default=1_000_000, help="serials issued at once"
    )
    parser.add_argument(
        "--lifecycle-ingest", type=int, default=100_000, help="events posted (shipping items)"
    )
    parser.add_argument(
        "--lifecycle-events",
        type=int,
        default=10_000_000,
        help="events stored before an item's timeline is timed",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    sections = args.section or list(SECTIONS)
    settings = load_settings()
    # The product's own servers: the ones it runs on, embedded or not; whatever this starts
    # is stopped when it ends, however it ends (the product stops its own on exit too).
    with (
        running_product() as base_url,
        embedded_services(
            settings.data_dir, database_url=settings.database_url, redis_url=settings.redis_url
        ) as urls,
    ):
        if "http" in sections:
            print(f"safecode run at {base_url}; {args.requests} requests each,", end=" ")
            print(f"{args.concurrency} in flight")
            rows = asyncio.run(http_section(base_url, args.requests, args.concurrency))
            print_table("http: the same server, side by side", rows)
        server_url, redis_url = urls.database_url, urls.redis_url
        if "codes" in sections:
            rates = asyncio.run(codes_section(server_url, args.codes))
            print_rates(
                "codes: issuing, verifying and rendering on this machine (one process, one core)",
                rates,
            )
        if "documents" in sections:
            print_rates(
                "documents: GHS derivation and rendering on this machine (one process, one core)",
                documents_section(args.documents),
            )
        if "scan" in sections:
            results = scan_section(server_url, redis_url, args.scan_seconds, args.scan_codes)
            print_scan_table(results, args.scan_codes)
        if "console" in sections:
            pages = console_section(settings, server_url, redis_url, args.console_requests)
            print_console_table(pages, args.console_requests)
        if "lifecycle" in sections:
            figures = lifecycle_section(
                settings,
                server_url,
                redis_url,
                items=args.lifecycle_items,
                ingest_events=args.lifecycle_ingest,
                stored_events=args.lifecycle_events,
                scan_seconds=args.scan_seconds,
            )
            print_lifecycle_table(figures)


if __name__ == "__main__":
    main()
