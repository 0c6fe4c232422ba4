"""GET /api/v1/openapi.json covers every route of the API, and is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import asyncpg
import httpx
from openapi_spec_validator import validate
from starlette.routing import Route

from ghs.reference import reference
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


async def test_every_route_documents_the_statuses_of_its_kind(
    registry_client: httpx.AsyncClient,
) -> None:
    """An integrator reads here what each route can answer: no session (401), a body that is
    not JSON (400), too large (413), not JSON at all (415), bad fields (422), If-Match missing
    or malformed (428, 400), no database (503), each with the error schema."""
    document = (await registry_client.get("/api/v1/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            statuses = set(responses)
            label = (method, path)
            if "security" in operation:
                assert "401" in statuses, label
            if "{" in path:
                assert "404" in statuses, label
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= statuses, label
            if method in ("put", "patch"):
                assert {"400", "412", "428"} <= statuses, label
            if not path.startswith("/api/v1/ghs/"):
                assert "503" in statuses, label
                assert "Retry-After" in responses["503"]["headers"]
            for status, response in responses.items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, label


async def test_links_lead_to_operations_and_parameters_that_exist(
    registry_client: httpx.AsyncClient,
) -> None:
    document = (await registry_client.get("/api/v1/openapi.json")).json()
    operations = {
        operation["operationId"]: operation
        for operations in document["paths"].values()
        for operation in operations.values()
    }
    links = 0
    for operation in operations.values():
        for response in operation["responses"].values():
            for name, link in response.get("links", {}).items():
                target = operations.get(link["operationId"])
                assert target is not None, name
                parameters = {p["name"] for p in target.get("parameters", [])}
                assert set(link["parameters"]) <= parameters, name
                links += 1
    # What was created feeds what reads it: accounts, applications, products, revisions,
    # submissions, parks, and the signed-in account's own unit or enterprise.
    assert links >= 25


async def test_the_codes_listed_are_those_the_database_holds(
    registry_client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    document = (await registry_client.get("/api/v1/openapi.json")).json()
    application = document["components"]["schemas"]["EnterpriseApplicationForm"]
    async with pool.acquire() as conn:
        counties = await conn.fetch("SELECT id FROM jurisdictions WHERE level = 'county'")
        classes = await conn.fetch("SELECT code FROM industry_classes")
    assert set(application["properties"]["county_id"]["enum"]) == {r["id"] for r in counties}
    assert set(application["properties"]["industry_code"]["enum"]) == {r["code"] for r in classes}


async def test_hazard_classes_and_categories_are_listed_per_class(
    registry_client: httpx.AsyncClient,
) -> None:
    document = (await registry_client.get("/api/v1/openapi.json")).json()
    schema = document["components"]["schemas"]["ClassificationForm"]
    assert set(schema["properties"]["class"]["enum"]) == set(reference().classes)
    # A branch per (class, category) of the tables, each category as text (or as a number).
    categories = {
        str(category)
        for branch in schema["anyOf"]
        if branch["properties"]["class"]["const"] == "flammable_liquids"
        for category in branch["properties"]["category"]["enum"]
    }
    assert categories == {"1", "2", "3", "4"}
    assert len(schema["anyOf"]) == len(reference().categories)
