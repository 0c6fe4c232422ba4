"""The registry: the JSON API under /api/v1, for enterprises and regulators."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codesvc.bodylimit import BodyLimitMiddleware
from codesvc.keyring import KeyRing
from codesvc.requestlog import RequestLogMiddleware, request_id_var
from codesvc.securityheaders import SecurityHeadersMiddleware, security_headers
from codesvc.service import UNREACHABLE_ERRORS, ServiceConfig, health_routes, resources_lifespan
from registry_api import endpoints
from registry_api.accounts.rules import PersonalDataCipher
from registry_api.errors import RegistryError, RetryLater, Unauthenticated
from registry_api.lifecycle.forms import MAX_EVENTS_BODY_BYTES
from registry_api.openapi import openapi
from registry_api.products.codes import CodeDesk
from registry_api.requests import PREFIX

_log = logging.getLogger(__name__)
# Filings carry SDS text; a whole SDS is far below this.
MAX_BODY_BYTES = 2 * 1024 * 1024
# JSON, CSV, PDF and QR images: nothing the answers hold may run, load or be framed.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def create_app(config: ServiceConfig) -> Starlette:
    if config.master_key is None:
        raise ValueError("the registry needs the master key: it seals personal data")
    cipher = PersonalDataCipher(config.master_key)

    async def index(_request: Request) -> Response:
        return JSONResponse({"service": "safecode registry", "api": "v1"})

    app = Starlette(
        routes=[
            *health_routes(config.pending_migrations),
            Route(PREFIX, index, methods=["GET"]),
            *endpoints.routes(),
            Route(f"{PREFIX}/openapi.json", openapi_document, methods=["GET"]),
        ],
        middleware=[
            Middleware(
                SecurityHeadersMiddleware,
                headers=security_headers(
                    API_CONTENT_SECURITY_POLICY,
                    https=config.public_base_url.startswith("https://"),
                ),
            ),
            Middleware(RequestLogMiddleware),
            Middleware(InternalErrorMiddleware),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=MAX_BODY_BYTES,
                too_large=_too_large,
                path_limits={f"{PREFIX}/events": MAX_EVENTS_BODY_BYTES},
            ),
        ],
        exception_handlers={
            RegistryError: _registry_error,
            HTTPException: _http_error,
            **dict.fromkeys(UNREACHABLE_ERRORS, _unavailable),
            Exception: _server_error,
        },
        lifespan=resources_lifespan(config),
    )
    app.state.cipher = cipher
    app.state.code_desk = CodeDesk(
        KeyRing(config.master_key), config.public_base_url, config.province
    )
    return app


async def openapi_document(_request: Request) -> Response:
    return JSONResponse(openapi())


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


async def _registry_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    headers = {}
    if isinstance(exc, RetryLater):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="safecode"'
    return JSONResponse(
        error_body(exc.code, exc.message, exc.fields), status_code=exc.status, headers=headers
    )


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _status_error(exc.status_code, exc.detail, dict(exc.headers or {}))


def _status_error(
    status: int, detail: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    phrase = HTTPStatus(status).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = detail if detail and detail != phrase else _HTTP_MESSAGES.get(status, phrase)
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


_HTTP_MESSAGES = {
    404: "no such route; the API lives under /api/v1",
    405: "this route does not accept that method (see the Allow header)",
}


def _too_large(request: Request) -> Response:
    limit = MAX_EVENTS_BODY_BYTES if request.url.path == f"{PREFIX}/events" else MAX_BODY_BYTES
    return _status_error(413, f"request body is larger than {limit} bytes")


async def _unavailable(_request: Request, exc: Exception) -> Response:
    _log.warning("a backing service is unreachable", extra={"fields": {"error": str(exc)[:200]}})
    return JSONResponse(
        error_body("unavailable", "the registry cannot reach its database; try again shortly"),
        status_code=503,
        headers={"Retry-After": "5"},
    )


class InternalErrorMiddleware:
    """An unexpected failure becomes a logged 500 while the request's id is still known, so
    the answer quotes it and carries it in X-Request-ID (starlette's outermost handler, the
    fallback below, runs after the request log has let go of it). `answer` builds the 500
    (the API's JSON by default; the console passes its page)."""

    def __init__(self, app: ASGIApp, answer: Callable[[], Response] | None = None) -> None:
        self.app = app
        self.answer = answer or _server_error_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:  # too late for an answer of our own
                raise
            _log.exception("unexpected error")
            await self.answer()(scope, receive, send)


async def _server_error(_request: Request, _exc: Exception) -> Response:
    return _server_error_response()


def _server_error_response() -> Response:
    request_id = request_id_var.get()
    message = (
        f"internal error; quote request id {request_id} when reporting it"
        if request_id
        else "internal error"
    )
    return JSONResponse(error_body("internal", message), status_code=500)
