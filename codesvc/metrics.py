"""The resolver's metrics for `GET /metrics`: requests by route and status, latency, and
which cache layer answered each scan. Kept per process (each uvicorn worker answers
with its own counts; scrape each process, or sum them)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FIXED_ROUTES = {
    "/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/lookup",
    "/.well-known/safecode-keys.json",
}


def route_label(path: str) -> str:
    """The route a path belongs to, never the path itself (codes would explode the labels)."""
    if path.startswith(("/C/", "/c/")):
        return "/C/{code}"
    if path.startswith("/static/"):
        return "/static"
    return path if path in _FIXED_ROUTES else "other"


class ResolverMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "safecode_http_requests", "HTTP requests answered", ["route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "safecode_http_request_duration_seconds", "Time to answer a request", ["route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )  # fmt: skip
        self.cache = Counter(
            "safecode_scan_lookups", "Scan lookups by the layer that answered", ["layer"],
            registry=self.registry,
        )  # fmt: skip

        # labels() looks its child up on every call; the scan path keeps them instead.
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._layer_children: dict[str, Any] = {}

    def observe_layer(self, layer: str) -> None:
        child = self._layer_children.get(layer)
        if child is None:
            child = self._layer_children[layer] = self.cache.labels(layer)
        child.inc()

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        children = self._request_children.get((route, status))
        if children is None:
            children = (self.requests.labels(route, str(status)), self.latency.labels(route))
            self._request_children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


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
