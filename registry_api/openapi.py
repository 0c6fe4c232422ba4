"""The OpenAPI 3.1 document of the registry, built from the endpoint table and the forms,
so it cannot drift from the routes (a test checks both ways)."""

from __future__ import annotations

import functools
import re
from http import HTTPStatus
from typing import Any

from registry_api.endpoints import ENDPOINTS
from registry_api.requests import PREFIX

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


@functools.cache
def openapi() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    for endpoint in ENDPOINTS:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "operationId": f"{endpoint.method.lower()}_{_slug(endpoint.path)}",
            "responses": {
                str(status): _response(status, endpoint.media_type)
                for status in (*endpoint.answers, 401)
                if not (endpoint.public and status == 401 and 401 not in endpoint.answers)
            },
        }
        if not endpoint.public:
            operation["security"] = [{"bearer": []}]
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", endpoint.path)
        ]
        if endpoint.method in ("PATCH", "PUT"):
            parameters.append(
                {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}}
            )
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            schema = endpoint.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[endpoint.body.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{endpoint.body.__name__}"}
                    }
                },
            }
        paths.setdefault(PREFIX + endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SafeCode registry",
            "version": "1",
            "description": "Jurisdictions, accounts, enterprises: the registry behind the codes.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _response(status: int, media_type: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if status >= 400:
        response["content"] = {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        }
    elif status != 204:
        schema = {"type": "object"} if media_type == "application/json" else {"type": "string"}
        response["content"] = {media_type: {"schema": schema}}
    return response


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
