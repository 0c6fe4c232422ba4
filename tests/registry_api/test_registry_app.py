from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.settings import Settings


def _assert_error_shape(body: object, code: str) -> None:
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_api_root_names_the_service(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.get("/api/v1")
    assert response.status_code == 200
    assert response.json()["api"] == "v1"


async def test_unknown_route_is_a_json_404(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    _assert_error_shape(response.json(), "not_found")


async def test_wrong_method_is_a_json_405(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.put("/api/v1", json={})
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    _assert_error_shape(response.json(), "method_not_allowed")


async def test_health_routes_answer_outside_the_api_prefix(
    registry_client: httpx.AsyncClient,
) -> None:
    assert (await registry_client.get("/healthz")).status_code == 200
    assert (await registry_client.get("/readyz")).status_code == 200


async def test_an_unreachable_database_is_a_503_naming_it(settings: Settings) -> None:
    urls = ServiceUrls("postgresql://postgres@127.0.0.1:1/none", "redis://127.0.0.1:1/0")
    app = apps.registry_app(settings, urls)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        login = await client.post(
            "/api/v1/auth/login", json={"mobile": "13800000000", "password": "Whatever-123"}
        )
        me = await client.get("/api/v1/me", headers={"Authorization": "Bearer abc"})
    for response in (login, me):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
        assert response.headers["retry-after"] == "5"
