"""The resolver: the public ASGI app that answers scans, lookups and the public keys."""

from __future__ import annotations

import hashlib
import json

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from codesvc.keyring import published_keys
from codesvc.requestlog import RequestLogMiddleware, request_id_var
from codesvc.service import (
    BACKEND_ERRORS,
    Resources,
    ServiceConfig,
    health_routes,
    resources_lifespan,
)
from public_site.pages import Lang, negotiate_lang, render_error_page, render_home_page

KEYS_PATH = "/.well-known/safecode-keys.json"
# A scan is a GET; nothing the resolver accepts has a body worth more than this.
MAX_BODY_BYTES = 16 * 1024


# Keys change rarely (rotation); verifiers may keep them this long.
KEYS_MAX_AGE_SECONDS = 300


def create_app(config: ServiceConfig) -> Starlette:
    async def home(request: Request) -> Response:
        return HTMLResponse(render_home_page(_page_lang(request), api_url="/api/v1"))

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

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route(KEYS_PATH, public_keys, methods=["GET"]),
            *health_routes(config.pending_migrations),
        ],
        middleware=[Middleware(RequestLogMiddleware)],
        exception_handlers={HTTPException: _http_error_page, Exception: _server_error_page},
        lifespan=resources_lifespan(config),
        max_body_size=MAX_BODY_BYTES,
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def _page_lang(request: Request) -> Lang:
    return negotiate_lang(request.query_params.get("lang"), request.headers.get("accept-language"))


async def _http_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    lang = _page_lang(request)
    return HTMLResponse(
        render_error_page(exc.status_code, lang),
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def _server_error_page(request: Request, _exc: Exception) -> Response:
    lang = _page_lang(request)
    detail = f"Request id: {request_id_var.get()}"
    return HTMLResponse(render_error_page(500, lang, detail=detail), status_code=500)
