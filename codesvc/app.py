"""The resolver: the public ASGI app that answers scans, lookups and the public keys."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from codesvc.requestlog import RequestLogMiddleware, request_id_var
from codesvc.service import ServiceConfig, health_routes, resources_lifespan
from public_site.pages import Lang, negotiate_lang, render_error_page, render_home_page

# A scan is a GET; nothing the resolver accepts has a body worth more than this.
MAX_BODY_BYTES = 16 * 1024


def create_app(config: ServiceConfig) -> Starlette:
    async def home(request: Request) -> Response:
        return HTMLResponse(render_home_page(_page_lang(request), api_url="/api/v1"))

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            *health_routes(config.pending_migrations),
        ],
        middleware=[Middleware(RequestLogMiddleware)],
        exception_handlers={HTTPException: _http_error_page, Exception: _server_error_page},
        lifespan=resources_lifespan(config),
        max_body_size=MAX_BODY_BYTES,
    )


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
