"""GET /api/v1/openapi.json covers every route of the API, and is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate
from starlette.routing import Route

from registry_api import endpoints


async def test_the_document_is_valid_and_matches_the_routes_both_ways(
    registry_client: httpx.AsyncClient,
) -> None:
    response = await registry_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)  # raises on a document that breaks the OpenAPI 3.1 schema

    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (method, route.path)
        for route in endpoints.routes()
        if isinstance(route, Route)
        for method in set(route.methods or ()) - {"HEAD"}
    }
    assert documented == served


async def test_bodies_are_described_with_their_fields(registry_client: httpx.AsyncClient) -> None:
    document = (await registry_client.get("/api/v1/openapi.json")).json()
    create = document["paths"]["/api/v1/accounts"]["post"]
    reference = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert {"mobile", "name", "role", "level", "jurisdiction_id", "work_unit"} <= set(
        schema["required"]
    )
    assert schema["additionalProperties"] is False  # unknown fields are refused
    assert "security" not in document["paths"]["/api/v1/auth/login"]["post"]
    assert create["security"] == [{"bearer": []}]
