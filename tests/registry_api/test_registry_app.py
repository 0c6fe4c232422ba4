from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import httpx

from registry_api.endpoints import ENDPOINTS
from registry_api.requests import PREFIX
from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.settings import Settings, load_settings
from tests.conftest import client_for


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
    async with client_for(app) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"mobile": "13800000000", "password": "Whatever-123"}
        )
        me = await client.get("/api/v1/me", headers={"Authorization": "Bearer abc"})
    for response in (login, me):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
        assert response.headers["retry-after"] == "5"


async def test_a_405_names_every_method_the_path_takes(
    registry_client: httpx.AsyncClient,
) -> None:
    """RFC 9110: Allow lists all the path's methods, not those of one route of it."""
    accounts = await registry_client.options("/api/v1/accounts")
    assert accounts.status_code == 405
    assert set(accounts.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    product = await registry_client.delete("/api/v1/products/1")
    assert product.status_code == 405
    assert set(product.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT"}
    _assert_error_shape(product.json(), "method_not_allowed")


async def test_a_body_in_another_media_type_is_a_415(
    registry_client: httpx.AsyncClient,
) -> None:
    response = await registry_client.post(
        "/api/v1/enterprise-applications",
        content=b'{"uscc": "91350100M000100Y43"}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 415
    _assert_error_shape(response.json(), "unsupported_media_type")
    assert "application/json" in response.json()["error"]["message"]


async def test_json_nested_too_deep_is_a_400_not_a_crash(
    registry_client: httpx.AsyncClient,
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # within the size limit, past the parser's depth
    response = await registry_client.post(
        "/api/v1/ghs/derive", content=deep, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    _assert_error_shape(response.json(), "bad_request")


async def test_an_unexpected_failure_is_a_500_quoting_the_request_id(
    registry_client: httpx.AsyncClient, service_urls: ServiceUrls
) -> None:
    conn = await asyncpg.connect(service_urls.database_url)
    try:  # a fault no handler expects: the table an application goes into is gone
        await conn.execute("DROP TABLE enterprise_applications CASCADE")
    finally:
        await conn.close()
    response = await registry_client.post(
        "/api/v1/enterprise-applications",
        json={
            "uscc": "91350100M000100Y43", "name": "太原示范化工有限公司", "county_id": "140105",
            "address": "山西省太原市小店区示范路1号", "kinds": ["producer"],
            "industry_code": "2614", "contact_name": "联系人", "contact_mobile": "13712345678",
        },
        headers={"X-Request-ID": "req-quoted-0001"},
    )  # fmt: skip
    assert response.status_code == 500
    _assert_error_shape(response.json(), "internal")
    assert response.headers["x-request-id"] == "req-quoted-0001"
    assert "req-quoted-0001" in response.json()["error"]["message"]
    assert "Traceback" not in response.text


async def test_every_route_that_reads_the_database_documents_its_503(
    settings: Settings,
) -> None:
    """The document's 503 is on every route but those that answer from memory (`database`):
    with no database, check the flag against the server."""
    urls = ServiceUrls("postgresql://postgres@127.0.0.1:1/none", "redis://127.0.0.1:1/0")
    app = apps.registry_app(settings, urls)
    async with client_for(app) as client:
        for endpoint in ENDPOINTS:
            path = re.sub(r"\{\w+\}", "1", PREFIX + endpoint.path)
            body = {"classifications": [{"class": "flammable_liquids", "category": "2"}]}
            response = await client.request(
                endpoint.method,
                path,
                json=body if endpoint.path == "/ghs/derive" else {},
                headers={"Authorization": "Bearer abc"},
            )
            label = (endpoint.method, path, response.status_code)
            if endpoint.database:
                # A public route reads its (here empty) body before the database.
                assert response.status_code in ((503, 422) if endpoint.public else (503,)), label
            else:
                assert response.status_code == 200, label


async def test_every_answer_carries_the_security_headers(
    registry_client: httpx.AsyncClient,
) -> None:
    answers = [
        await registry_client.get("/api/v1"),
        await registry_client.get("/api/v1/openapi.json"),
        await registry_client.get("/api/v1/me"),  # 401
        await registry_client.get("/api/v1/nothing-here"),  # 404
        await registry_client.options("/api/v1/accounts"),  # 405
        await registry_client.post(
            "/api/v1/ghs/derive", content=b"{", headers={"content-type": "text/plain"}
        ),  # 415
    ]
    for response in answers:
        label = (response.request.url.path, response.status_code)
        assert response.headers["x-content-type-options"] == "nosniff", label
        assert response.headers["referrer-policy"] == "no-referrer", label
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy, label
        assert "frame-ancestors 'none'" in policy, label
        # Served over http here: no HSTS, which would pin a laptop's localhost to https.
        assert "strict-transport-security" not in response.headers, label


async def test_https_deployments_add_hsts(tmp_path: Path, service_urls: ServiceUrls) -> None:
    settings = load_settings(
        {"SAFECODE_DATA_DIR": str(tmp_path), "PUBLIC_BASE_URL": "https://sc.example.cn"}
    )
    app = apps.registry_app(settings, service_urls)
    async with client_for(app) as client:
        response = await client.get("/api/v1")
    assert response.headers["strict-transport-security"].startswith("max-age=")
