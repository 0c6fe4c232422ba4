"""Every kind of answer the resolver gives carries the security headers: scans (from the
fast path), pages, lookups, static files, the public keys, and the errors made outside the
middleware (413, 500). HSTS only when the public address is https.

Whether a real browser blocks nothing under the policy is tests/browser's to say; here,
that the policy is what it should be and allows exactly the pages' own stylesheet.
"""

from __future__ import annotations

import re

import httpx
from asgi_lifespan import LifespanManager
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import codesvc.app
from codesvc.issuance import CodeStatus
from codesvc.serials import new_serials
from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.codesvc.conftest import World
from tests.conftest import resolver_with


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = [part.split() for part in policy.split(";") if part.strip()]
    return {words[0]: words[1:] for words in parsed}


def assert_secured(response: httpx.Response, *, https: bool = False) -> None:
    """The headers every answer of the resolver must carry, whatever it is."""
    label = f"{response.request.method} {response.request.url.path} {response.status_code}"
    headers = response.headers
    policy = _directives(headers.get("content-security-policy", ""))
    assert policy.get("default-src") == ["'none'"], label
    assert policy.get("frame-ancestors") == ["'none'"], label
    assert policy.get("base-uri") == ["'none'"], label
    assert policy.get("form-action") == ["'self'"], label
    assert policy.get("img-src") == ["'self'"], label
    assert "script-src" not in policy, label  # no script at all: default-src 'none'
    assert policy.get("style-src") == ["'unsafe-inline'"], label  # no stylesheet from elsewhere
    assert headers.get("x-content-type-options") == "nosniff", label
    assert headers.get("referrer-policy") == "no-referrer", label
    assert headers.get("x-frame-options") == "DENY", label
    if https:
        assert headers.get("strict-transport-security") == "max-age=31536000", label
    else:
        assert "strict-transport-security" not in headers, label
    if headers.get("content-type", "").startswith("text/html"):
        assert not re.search(r"<[^>]+\sstyle=", response.text), label
        assert "<script" not in response.text, label


async def test_every_kind_of_answer_carries_the_security_headers(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish("e/active")
    revoked = await world.publish("e/revoked")
    await world.set_status(revoked, CodeStatus.REVOKED, "产品停产")
    forged = f"{code[:-20]}{'A' if code[-20] != 'A' else 'B'}{code[-19:]}"
    unknown = "14ZZZZZZZZZZZZZZ" + code[16:]

    scan = await resolver_client.get(f"/C/{code}")
    answers = {
        "scan": (scan, 200),
        "scan, as JSON": (
            await resolver_client.get(f"/c/{code}", headers={"Accept": "application/json"}),
            200,
        ),
        "scan, unchanged": (
            await resolver_client.get(
                f"/C/{code}", headers={"If-None-Match": scan.headers["etag"]}
            ),
            304,
        ),
        "scan, HEAD": (await resolver_client.head(f"/C/{code}"), 200),
        "scan, batch": (await resolver_client.get(f"/C/{code}/B/LOT-7"), 200),
        "scan, item not genuine": (
            await resolver_client.get(f"/C/{code}/B/LOT-7/S/{new_serials(1)[0]}"),
            404,
        ),
        "scan, serial mistyped": (await resolver_client.get(f"/C/{code}/B/LOT-7/S/0001"), 400),
        "scan, revoked": (await resolver_client.get(f"/C/{revoked}"), 410),
        "scan, not genuine": (await resolver_client.get(f"/C/{forged}"), 404),
        "scan, unknown": (await resolver_client.get(f"/C/{unknown}"), 404),
        "scan, junk": (await resolver_client.get("/C/not-a-code"), 400),
        "scan, wrong method": (await resolver_client.delete(f"/C/{code}"), 405),
        "home": (await resolver_client.get("/?lang=en"), 200),
        "lookup": (await resolver_client.get(f"/lookup?id={code[:16]}"), 303),
        "lookup, malformed": (await resolver_client.get("/lookup?id=no"), 400),
        "lookup, unknown": (await resolver_client.get(f"/lookup?id={unknown[:16]}"), 404),
        "static page icon": (await resolver_client.get("/static/favicon.svg"), 200),
        "static pictogram": (await resolver_client.get("/static/ghs/GHS02.svg"), 200),
        "static, missing": (await resolver_client.get("/static/nothing.css"), 404),
        "label as SVG": (
            await resolver_client.get(f"/documents/{code[:16]}/label.svg"),
            200,
        ),
        "public keys": (await resolver_client.get("/.well-known/safecode-keys.json"), 200),
        "no such page": (await resolver_client.get("/no/such/page"), 404),
        "too large": (await resolver_client.post("/", content=b"x" * (64 * 1024)), 413),
        "health": (await resolver_client.get("/healthz"), 200),
    }
    for name, (response, status) in answers.items():
        assert response.status_code == status, name
        assert_secured(response)


async def test_an_unexpected_failure_is_a_500_page_with_the_headers(
    settings: Settings, service_urls: ServiceUrls
) -> None:
    async def broken(_request: Request) -> Response:
        raise RuntimeError("a bug")

    app = codesvc.app.create_app(apps.service_config(settings, service_urls))
    app.router.routes.append(Route("/broken", broken))
    async with LifespanManager(app) as manager:
        # The app re-raises after answering, for the server to log; the client sees the page.
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(
                "/broken", headers={"Accept-Language": "en", "X-Request-ID": "report-me-42"}
            )
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    # The id a reader quotes when reporting it, the one the request's log lines carry.
    assert "Request id: report-me-42" in response.text
    assert response.headers["x-request-id"] == "report-me-42"
    assert_secured(response)


async def test_hsts_only_when_the_public_address_is_https(
    world: World, settings: Settings, service_urls: ServiceUrls
) -> None:
    code = await world.publish()
    async for client in resolver_with(
        settings, service_urls, public_base_url="https://safecode.example.cn"
    ):
        for response in (
            await client.get(f"/C/{code}"),
            await client.get("/"),
            await client.get("/static/favicon.svg"),
            await client.post("/", content=b"x" * (64 * 1024)),
        ):
            assert_secured(response, https=True)
