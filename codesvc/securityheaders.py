"""Security headers on every response of an app: what a browser may do with the answer.

Pure ASGI, so it costs one header merge per response. Each app passes its own policy: the
registry's JSON needs none of a page's allowances. HSTS only when the service is reached
over https (a browser ignores it over http, and it would pin a laptop's `localhost`).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000"  # a year; no includeSubDomains: the operator's other hosts are theirs


def security_headers(content_security_policy: str, *, https: bool) -> list[tuple[str, str]]:
    """The headers every response gets, for an app with this policy."""
    headers = [
        ("Content-Security-Policy", content_security_policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, headers: list[tuple[str, str]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    response_headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
