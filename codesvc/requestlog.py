"""Request ids and the access log, shared by every HTTP unit.

Each request gets an id (the caller's `X-Request-ID` when it is sane, else a new one),
echoed in the response and attached to every log line written while it is handled.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# Where the id stays in the request's scope: starlette's outermost error handler builds the
# 500 page after this middleware (and the context variable) have let go of the request.
REQUEST_ID_SCOPE_KEY = "safecode.request_id"
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Scan paths carry whole codes; the log keeps only enough to tell them apart.
_SCAN_PATH = re.compile(r"^(/[Cc]/[0-9A-Za-z]{6})[^/]*")
_MAX_LOGGED_PATH = 200

_access_log = logging.getLogger("safecode.access")


def loggable_path(path: str) -> str:
    """The request path with any code shortened and the length bounded."""
    return _SCAN_PATH.sub(r"\1…", path)[:_MAX_LOGGED_PATH]


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before responding

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": loggable_path(scope["path"]),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                },
            )
            request_id_var.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return secrets.token_hex(16)
