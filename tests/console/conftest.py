"""The console through HTTP, as a browser without JavaScript uses it: pages fetched, forms
posted with the CSRF token the page carried, cookies kept per person.

Each `Person` has a client of its own on the registry unit (cookies are per client), so two
people can be signed in at once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from html import unescape
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.registry_api.conftest import GOOD_PASSWORD, national  # noqa: F401
from tests.registry_api.world import revision_body, world  # noqa: F401

CONSOLE = "/console"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


class Person:
    """Someone at a browser: the console's pages and forms, with the cookies they set."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(CONSOLE + path, params=params or None)

    async def token(self, path: str) -> str:
        """The CSRF token of the form on the page at `path`."""
        page = await self.get(path)
        found = _CSRF.search(page.text)
        assert found is not None, f"no form token on {path}: {page.status_code} {page.text[:300]}"
        return found.group(1)

    async def submit(
        self,
        page: str,
        action: str | None = None,
        fields: dict[str, str] | list[tuple[str, str]] | None = None,
    ) -> httpx.Response:
        """Fill in the form of `page` and send it to `action` (the page itself by default),
        as a browser does; the answer is not followed (a 303 shows where PRG leads)."""
        token = await self.token(page)
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields or [])
        data: dict[str, list[str]] = {}
        for name, value in [*pairs, ("csrf", token)]:
            data.setdefault(name, []).append(value)
        return await self.client.post(CONSOLE + (action or page), data=data)

    async def sign_in(self, mobile: str, password: str) -> httpx.Response:
        return await self.submit("/sign-in", fields={"mobile": mobile, "password": password})

    async def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, f"{response.status_code}: {response.text[:500]}"
        return await self.client.get(response.headers["location"])


def text_of(page: httpx.Response) -> str:
    """A page's text as a reader sees it, tags dropped, for what it says."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.text)))


def sds_fields() -> dict[str, str]:
    """Acetone's complete SDS as typed into the revision editor's inputs, by input name."""
    sds: dict[str, Any] = revision_body()["sds"]
    fields: dict[str, str] = {}
    for section in sds["sections"]:
        for lang in ("zh", "en"):
            fields[f"sds.sections.{section['number']}.body.{lang}"] = section["body"].get(lang, "")

    def bilingual(name: str, value: dict[str, str]) -> None:
        fields[f"{name}.zh"] = value["zh"]
        fields[f"{name}.en"] = value.get("en", "")

    supplier = sds["supplier"]
    bilingual("sds.supplier.name", supplier["name"])
    bilingual("sds.supplier.address", supplier["address"])
    fields["sds.supplier.phone"] = supplier["phone"]
    fields["sds.supplier.emergency_phone"] = supplier["emergency_phone"]
    for route, text in sds["first_aid"].items():
        bilingual(f"sds.first_aid.{route}", text)
    for part in ("fire_fighting", "spill_response", "protective_equipment"):
        bilingual(f"sds.{part}", sds[part])
    transport = sds["transport"]
    bilingual("sds.transport.proper_shipping_name", transport["proper_shipping_name"])
    bilingual("sds.transport.emergency_measures", transport["emergency_measures"])
    fields["sds.transport.transport_class"] = transport["transport_class"]
    fields["sds.transport.packing_group"] = transport["packing_group"]
    return fields


@pytest.fixture
async def console_app(settings: Settings, service_urls: ServiceUrls) -> AsyncIterator[ASGIApp]:
    """The registry unit (API and console), its lifespan running."""
    async with LifespanManager(apps.registry_app(settings, service_urls)) as manager:
        yield manager.app


@pytest.fixture
async def new_person(console_app: ASGIApp) -> AsyncIterator[Callable[[], Person]]:
    """Makes people, each with a browser (a client and its cookies) of their own."""
    clients: list[httpx.AsyncClient] = []

    def make() -> Person:
        transport = httpx.ASGITransport(app=console_app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return Person(clients[-1])

    yield make
    for client in clients:
        await client.aclose()
