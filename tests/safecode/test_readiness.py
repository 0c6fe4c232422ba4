"""/readyz answers 503 naming what failed, on both units, and 200 when all is well."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

import codesvc.app
import registry_api.app
from codesvc.service import ServiceConfig
from safecode.apps import service_config
from safecode.embedded import ServiceUrls
from safecode.migrations import discover
from safecode.settings import Settings

# Nothing listens on port 1 of the loopback: connections are refused at once.
CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/safecode"
CLOSED_REDIS = "redis://127.0.0.1:1/0"

UNITS: list[Callable[[ServiceConfig], ASGIApp]] = [
    codesvc.app.create_app,
    registry_api.app.create_app,
]


async def _readyz(app: ASGIApp) -> httpx.Response:
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        return await client.get("/readyz")


@pytest.fixture(params=UNITS, ids=["resolver", "registry"])
def create_app(request: pytest.FixtureRequest) -> Callable[[ServiceConfig], ASGIApp]:
    factory: Callable[[ServiceConfig], ASGIApp] = request.param
    return factory


async def test_ready_when_everything_answers(
    create_app: Callable[[ServiceConfig], ASGIApp], settings: Settings, service_urls: ServiceUrls
) -> None:
    response = await _readyz(
        create_app(service_config(settings, service_urls, with_master_key=True))
    )
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"postgres": "ok", "redis": "ok", "migrations": "ok"},
    }


async def test_postgres_down_is_named(
    create_app: Callable[[ServiceConfig], ASGIApp], settings: Settings, service_urls: ServiceUrls
) -> None:
    urls = ServiceUrls(database_url=CLOSED_POSTGRES, redis_url=service_urls.redis_url)
    response = await _readyz(create_app(service_config(settings, urls, with_master_key=True)))
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["postgres"].startswith("unreachable: ")
    assert checks["redis"] == "ok"
    assert checks["migrations"].startswith("unknown")


async def test_redis_down_is_named(
    create_app: Callable[[ServiceConfig], ASGIApp], settings: Settings, service_urls: ServiceUrls
) -> None:
    urls = ServiceUrls(database_url=service_urls.database_url, redis_url=CLOSED_REDIS)
    response = await _readyz(create_app(service_config(settings, urls, with_master_key=True)))
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"].startswith("unreachable: ")
    assert checks["postgres"] == "ok"


async def test_pending_migrations_are_named(
    create_app: Callable[[ServiceConfig], ASGIApp],
    settings: Settings,
    service_urls: ServiceUrls,
    tmp_path: Path,
) -> None:
    (tmp_path / "0001_new_table.sql").write_text("CREATE TABLE new_table (id int);")
    expected = [*discover(), *discover([("extra", tmp_path)])]
    response = await _readyz(
        create_app(service_config(settings, service_urls, expected, with_master_key=True))
    )
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "pending: extra/0001_new_table.sql"
