"""A request body size limit that answers in the app's own error format.

Starlette's built-in limit answers a declared-too-large body with plain text; a client of
the registry expects the JSON error shape, a person the resolver's page. A body declared
too large (Content-Length) is refused before the app runs; a streamed one that grows past
the limit raises HTTPException(413) where it is read, for the app's own handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TooLarge = Callable[[Request], Response]  # builds the app's 413 answer


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        too_large: TooLarge,
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.too_large = too_large
        # Routes that take more than the rest (an EPCIS document of 10,000 events).
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.path_limits.get(scope["path"], self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > max_bytes:
            await self.too_large(Request(scope))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(413, f"request body is larger than {max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
