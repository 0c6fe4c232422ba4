"""The resolver: the public ASGI app that answers scans, lookups and the public keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from codesvc import documents, resolver
from codesvc.bodylimit import BodyLimitMiddleware
from codesvc.keyring import published_keys
from codesvc.metrics import CONTENT_TYPE, MetricsMiddleware, ResolverMetrics
from codesvc.requestlog import RequestLogMiddleware, request_id_var
from codesvc.resolver import etag_matches, open_resolver_state
from codesvc.service import (
    BACKEND_ERRORS,
    Resources,
    ServiceConfig,
    health_routes,
    open_resources,
)
from public_site.pages import STATIC_DIR, render_error_page, render_home_page

KEYS_PATH = "/.well-known/safecode-keys.json"
# A scan is a GET; nothing the resolver accepts has a body worth more than this.
MAX_BODY_BYTES = 16 * 1024
# Keys change rarely (rotation); verifiers may keep them this long.
KEYS_MAX_AGE_SECONDS = 300


def create_app(config: ServiceConfig, metrics: ResolverMetrics | None = None) -> Starlette:
    """The resolver. `metrics` is given when another app (all-in-one) runs its lifespan."""
    metrics = metrics or ResolverMetrics()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with (
            open_resources(config) as resources,
            open_resolver_state(config, resources, metrics) as state,
        ):
            yield {"resources": resources, "resolver": state}

    async def home(request: Request) -> Response:
        page = render_home_page(
            resolver.request_lang(request),
            api_url="/api/v1",
            scan_url_prefix=f"{config.public_base_url}/C/",
        )
        return HTMLResponse(page)

    async def public_keys(request: Request) -> Response:
        resources: Resources = request.state.resources
        try:
            async with resources.pool.acquire() as conn:
                document = await published_keys(conn)
        except BACKEND_ERRORS as exc:
            raise HTTPException(503) from exc
        body = json.dumps(document, separators=(",", ":")).encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {
            "ETag": etag,
            "Cache-Control": f"public, max-age={KEYS_MAX_AGE_SECONDS}",
            # Anyone may verify a code, from any page.
            "Access-Control-Allow-Origin": "*",
        }
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/jwk-set+json", headers=headers)

    async def metrics_page(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    scan_routes = [
        Route(f"/{c}/{{code}}{tail}", resolver.scan_methods, methods=["GET"])
        for c in ("C", "c")
        for tail in ("", "/{b}/{batch}", "/{b}/{batch}/{s}/{serial}")
    ]
    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            *scan_routes,
            Route("/lookup", resolver.lookup, methods=["GET"]),
            Route("/documents/{code_id}/sds.pdf", documents.sds_pdf, methods=["GET"]),
            Route("/documents/{code_id}/label.pdf", documents.label_pdf, methods=["GET"]),
            Route("/documents/{code_id}/label.svg", documents.label_svg, methods=["GET"]),
            Route(KEYS_PATH, public_keys, methods=["GET"]),
            Route("/metrics", metrics_page, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
            *health_routes(config.pending_migrations),
        ],
        middleware=[
            Middleware(RequestLogMiddleware),
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES, too_large=_too_large),
            Middleware(resolver.ScanFastPath),
        ],
        exception_handlers={HTTPException: _http_error_page, Exception: _server_error_page},
        lifespan=lifespan,
    )


def _too_large(request: Request) -> Response:
    return HTMLResponse(render_error_page(413, resolver.request_lang(request)), status_code=413)


async def _http_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return HTMLResponse(
        render_error_page(exc.status_code, resolver.request_lang(request)),
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def _server_error_page(request: Request, _exc: Exception) -> Response:
    detail = f"Request id: {request_id_var.get()}"
    return HTMLResponse(
        render_error_page(500, resolver.request_lang(request), detail=detail), status_code=500
    )
