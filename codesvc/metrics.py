"""The resolver's metrics for `GET /metrics`: requests by route and status, latency, which
cache layer answered each scan, and gauges of the process and its connection pools.

`/metrics` answers for the whole unit. With several uvicorn workers (`safecode serve`),
prometheus-client runs in its multiprocess mode: the CLI gives the workers a fresh
directory (`PROMETHEUS_MULTIPROC_DIR`), each keeps its values in files there, and whichever
worker answers the scrape adds them all up. Alone in its process (`safecode run`, tests),
the metrics are in memory as usual.

Writing those files on every request would double what a scan spends on metrics (2.1 µs
a request in memory, 4.4 µs in files, measured), so requests are counted in plain ints
(0.4 µs) and moved into prometheus-client's metrics every `PUBLISH_SECONDS` and before
each scrape: a scrape sees the other workers' counts as they were up to that long ago.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codesvc.service import Resources

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# How stale another worker's counts and gauges may be in a scrape (multiprocess mode only).
PUBLISH_SECONDS = 1.0
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_BOUNDS = (*LATENCY_BUCKETS, float("inf"))
# prometheus-client chose its storage when imported: files when PROMETHEUS_MULTIPROC_DIR
# was set (the CLI sets it for its workers), memory otherwise.
SHARED_BY_WORKERS: bool = values.ValueClass is not values.MutexValue
_FIXED_ROUTES = {
    "/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/lookup",
    "/.well-known/safecode-keys.json",
}
# ProcessCollector's samples, and the gauge each is published as.
_PROCESS_GAUGES = {
    "process_resident_memory_bytes": ("resident_memory_bytes", "Resident memory"),
    "process_cpu_seconds_total": ("cpu_seconds", "User and system CPU time used"),
    "process_open_fds": ("open_fds", "Open file descriptors"),
    "process_max_fds": ("max_fds", "Most file descriptors the process may open"),
    "process_start_time_seconds": ("start_time_seconds", "Start time, seconds since the epoch"),
}


def route_label(path: str) -> str:
    """The route a path belongs to, never the path itself (codes would explode the labels)."""
    if path.startswith(("/C/", "/c/")):
        return "/C/{code}"
    if path.startswith("/static/"):
        return "/static"
    return path if path in _FIXED_ROUTES else "other"


class _LatencyTally:
    __slots__ = ("counts", "seconds")

    def __init__(self) -> None:
        self.counts = [0] * len(_BOUNDS)  # per bucket, not cumulative
        self.seconds = 0.0


class ResolverMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "safecode_http_requests", "HTTP requests answered", ["route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "safecode_http_request_duration_seconds", "Time to answer a request", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.cache = Counter(
            "safecode_scan_lookups", "Scan lookups by the layer that answered", ["layer"],
            registry=self.registry,
        )  # fmt: skip
        # Gauges are per worker: in multiprocess mode, labelled with its pid while it lives.
        self.process = {
            sample: self._gauge(f"safecode_process_{name}", text)
            for sample, (name, text) in _PROCESS_GAUGES.items()
        }
        self.postgres_connections = self._gauge(
            "safecode_postgres_pool_connections", "PostgreSQL connections open", ["state"]
        )
        self.postgres_max = self._gauge(
            "safecode_postgres_pool_max_connections", "Most PostgreSQL connections the pool opens"
        )
        self.redis_connections = self._gauge(
            "safecode_redis_pool_connections", "Redis connections open", ["state"]
        )
        self.redis_max = self._gauge(
            "safecode_redis_pool_max_connections", "Most Redis connections the client opens"
        )
        self._process_collector = ProcessCollector(registry=None)

        # Counted per request, moved into the metrics above by `publish`.
        self._requests: dict[tuple[str, int], int] = {}
        self._latency: dict[str, _LatencyTally] = {}
        self._layers: dict[str, int] = {}

    def _gauge(self, name: str, text: str, labels: Iterable[str] = ()) -> Gauge:
        return Gauge(name, text, labels, registry=self.registry, multiprocess_mode="liveall")

    def observe_layer(self, layer: str) -> None:
        self._layers[layer] = self._layers.get(layer, 0) + 1

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        tally = self._latency.get(route)
        if tally is None:
            tally = self._latency[route] = _LatencyTally()
        # The first bucket whose bound is not below `seconds`, as Histogram.observe picks.
        tally.counts[bisect.bisect_left(_BOUNDS, seconds)] += 1
        tally.seconds += seconds

    def publish(self, resources: Resources | None = None) -> None:
        """Move the requests counted since the last call into the metrics, and sample the
        gauges (the pools only when `resources` is given)."""
        requests, self._requests = self._requests, {}
        latency, self._latency = self._latency, {}
        layers, self._layers = self._layers, {}
        for (route, status), count in requests.items():
            self.requests.labels(route, str(status)).inc(count)
        for route, tally in latency.items():
            _add_observations(self.latency.labels(route), tally)
        for layer, count in layers.items():
            self.cache.labels(layer).inc(count)
        self._sample_process()
        if resources is not None:
            self._sample_pools(resources)

    def _sample_process(self) -> None:
        for family in self._process_collector.collect():  # empty where there is no /proc
            for sample in family.samples:
                gauge = self.process.get(sample.name)
                if gauge is not None:
                    gauge.set(sample.value)

    def _sample_pools(self, resources: Resources) -> None:
        pool = resources.pool
        idle = pool.get_idle_size()
        self.postgres_connections.labels("idle").set(idle)
        self.postgres_connections.labels("used").set(pool.get_size() - idle)
        self.postgres_max.set(pool.get_max_size())
        redis_pool = resources.redis.connection_pool
        self.redis_max.set(redis_pool.max_connections)
        # get_connection_count: public in redis-py 8.1; not every older asyncio pool has it.
        counts = getattr(redis_pool, "get_connection_count", None)
        if counts is not None:
            for count, attributes in counts():
                state = attributes.get("db.client.connection.state")
                if state in ("idle", "used"):
                    self.redis_connections.labels(state).set(count)

    def render(self, resources: Resources | None = None) -> bytes:
        """The unit's metrics in the Prometheus text format: this process's, fresh, and in
        multiprocess mode every other worker's as last published."""
        self.publish(resources)
        if not SHARED_BY_WORKERS:
            return generate_latest(self.registry)
        merged = MultiProcessCollector(None)  # type: ignore[no-untyped-call]
        registry = CollectorRegistry()
        registry.register(_LiveWorkerGauges(merged))
        return generate_latest(registry)

    @asynccontextmanager
    async def publishing(self, resources: Resources) -> AsyncIterator[None]:
        """In multiprocess mode, publish every `PUBLISH_SECONDS` while the app runs, so that
        the worker answering a scrape sees this one's counts; on exit, publish the last of
        them and drop this worker's gauges (its counts stay in the unit's totals)."""
        if not SHARED_BY_WORKERS:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(self._publish_every(resources, stop))
        try:
            yield
        finally:
            stop.set()
            await task
            self.publish()
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    async def _publish_every(self, resources: Resources, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.publish(resources)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PUBLISH_SECONDS)


def _add_observations(child: Histogram, tally: _LatencyTally) -> None:
    # prometheus-client has no call that adds many observations at once: add to the values
    # Histogram.observe adds to (the sum, and one bucket each), each bucket's count at once.
    child._sum.inc(tally.seconds)
    for bucket, count in zip(child._buckets, tally.counts, strict=True):
        if count:
            bucket.inc(count)


class _LiveWorkerGauges(Collector):
    """The merged metrics without the gauges of workers that died without saying so
    (killed: uvicorn replaces them); a worker that stops cleanly removes its own."""

    def __init__(self, merged: MultiProcessCollector) -> None:
        self.merged = merged

    def collect(self) -> Iterable[Metric]:
        alive: dict[str, bool] = {}
        for metric in self.merged.collect():  # type: ignore[no-untyped-call]
            if metric.type == "gauge":
                for pid in {s.labels["pid"] for s in metric.samples} - alive.keys():
                    alive[pid] = _is_alive(int(pid))
                metric.samples = [s for s in metric.samples if alive[s.labels["pid"]]]
            yield metric


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, under another user
        return True
    return True


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ResolverMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(route_label(scope["path"]), status, elapsed)
