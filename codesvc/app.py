"""The resolver: the public ASGI app that answers scans, lookups and the public keys."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
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
from codesvc.limits import Limit
from codesvc.metrics import CONTENT_TYPE, MetricsMiddleware, ResolverMetrics
from codesvc.requestlog import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY, RequestLogMiddleware
from codesvc.resolver import etag_matches, open_resolver_state
from codesvc.securityheaders import SecurityHeadersMiddleware, encoded, security_headers
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


# What the resolver's answers may make a browser do: its pages run no script and load
# nothing from elsewhere. Their one stylesheet is inlined (the README's weight budget) and
# allowed as inline style rather than by its hash: pages are rendered at publish time, and
# a hash would leave every page published with an older stylesheet unstyled until
# `safecode rerender`. Without script, and with images only from this site, inline style
# can neither run anything nor send anything elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "img-src 'self'",  # pictograms and the icon, from /static
        "style-src 'unsafe-inline'",
        "base-uri 'none'",
        "form-action 'self'",  # the code entry, GET /lookup
        "frame-ancestors 'none'",
    ]
)


def create_app(config: ServiceConfig, metrics: ResolverMetrics | None = None) -> Starlette:
    """The resolver. `metrics` is given when another app (all-in-one) runs its lifespan."""
    metrics = metrics or ResolverMetrics()
    headers = security_headers(
        CONTENT_SECURITY_POLICY, https=config.public_base_url.startswith("https://")
    )
    # Manual lookups only: a scan carries a signed code, a lookup anything a client types.
    lookups = Limit("lookup:address", config.lookup_limit_per_minute, 60, "lookups")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with (
            open_resources(config) as resources,
            open_resolver_state(config, resources, metrics) as state,
            metrics.publishing(resources),
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

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.render(request.state.resources), media_type=CONTENT_TYPE)

    scan_routes = [
        Route(f"/{c}/{{code}}{tail}", resolver.scan_methods, methods=["GET"])
        for c in ("C", "c")
        for tail in ("", "/{b}/{batch}", "/{b}/{batch}/{s}/{serial}")
    ]
    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            *scan_routes,
            Route("/lookup", functools.partial(resolver.lookup, limit=lookups), methods=["GET"]),
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
            Middleware(
                BodyLimitMiddleware,
                max_bytes=MAX_BODY_BYTES,
                too_large=functools.partial(_too_large, headers=dict(headers)),
            ),
            # Scans get the headers as bytes from the fast path, everything else from the
            # middleware after it; the two answers made outside both (413, 500) add them.
            Middleware(resolver.ScanFastPath, security_headers=encoded(headers)),
            Middleware(SecurityHeadersMiddleware, headers=headers),
        ],
        exception_handlers={
            HTTPException: _http_error_page,
            Exception: functools.partial(_server_error_page, headers=dict(headers)),
        },
        lifespan=lifespan,
    )


def _too_large(request: Request, headers: Mapping[str, str]) -> Response:
    page = render_error_page(413, resolver.request_lang(request))
    return HTMLResponse(page, status_code=413, headers=headers)


async def _http_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return HTMLResponse(
        render_error_page(exc.status_code, resolver.request_lang(request)),
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def _server_error_page(
    request: Request, _exc: Exception, headers: Mapping[str, str]
) -> Response:
    request_id = request.scope.get(REQUEST_ID_SCOPE_KEY, "-")
    page = render_error_page(
        500, resolver.request_lang(request), detail=f"Request id: {request_id}"
    )
    return HTMLResponse(page, status_code=500, headers={**headers, REQUEST_ID_HEADER: request_id})
