"""Security headers on every response of an app: what a browser may do with the answer.

Pure ASGI, so it costs one header merge per response. Each app passes its own policy: the
registry's JSON needs none of a page's allowances. HSTS only when the service is reached
over https (a browser ignores it over http, and it would pin a laptop's `localhost`).
Code that sends its own response start (the resolver's scan fast path) appends the same
headers as bytes, `encoded` once.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000"  # a year; no includeSubDomains: the operator's other hosts are theirs


def security_headers(content_security_policy: str, *, https: bool) -> list[tuple[str, str]]:
    """The headers every response gets, for an app with this policy."""
    headers = [
        ("Content-Security-Policy", content_security_policy),
        ("X-Content-Type-Options", "nosniff"),
        # Scan URLs carry whole codes: no page tells anyone, not even this site, where the
        # reader came from.
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),  # frame-ancestors, for browsers that predate it
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def encoded(headers: Iterable[tuple[str, str]]) -> tuple[tuple[bytes, bytes], ...]:
    """`headers` as an ASGI response start carries them: lower-case names, latin-1 bytes."""
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
    )


class SecurityHeadersMiddleware:
    """Adds `headers` to every response that does not set them itself."""

    def __init__(self, app: ASGIApp, headers: list[tuple[str, str]]) -> None:
        self.app = app
        self.headers = encoded(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # One pass over what the response set (starlette's MutableHeaders would
                # take one a header): this runs on every answer but scans.
                sent = list(message.get("headers", []))
                present = {name.lower() for name, _ in sent}
                sent += [header for header in self.headers if header[0] not in present]
                message["headers"] = sent
            await send(message)

        await self.app(scope, receive, with_headers)
