"""The OpenAPI 3.1 document of the registry, built from the endpoint table and the forms,
so it cannot drift from the routes (a test checks both ways, and schemathesis checks that
the server answers as the document says)."""

from __future__ import annotations

import functools
import re
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter

from registry_api.endpoints import ENDPOINTS
from registry_api.requests import IF_MATCH_PATTERN, MAX_ROW_ID, PATH_PATTERNS, PREFIX, Endpoint

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "what went wrong, for programs"},
                "message": {"type": "string", "description": "what went wrong, for people"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "each bad field's path (`a.b[0]`) and what is wrong with it",
                },
            },
        }
    },
}
# What each kind of path parameter is; row ids are what `requests.path_id` takes.
_PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "jurisdiction_id": {
        "type": "string",
        "pattern": PATH_PATTERNS["jurisdiction_id"],
        "description": "a GB/T 2260 division code (140105), or a chemical park's (140105P01)",
    },
    "parent_id": {
        "type": "string",
        "pattern": PATH_PATTERNS["parent_id"],
        "description": "the GB/T 2260 code of a city or a county, which chemical parks hang from",
    },
    "code_id": {
        "type": "string",
        "pattern": PATH_PATTERNS["code_id"],
        "description": "the 16 characters printed under the QR, dashes allowed",
    },
    "serial": {
        "type": "string",
        "pattern": PATH_PATTERNS["serial"],
        "description": "an item's serial: 13 Crockford base32 characters, the last a check "
        "character (a serial whose check fails is no item: 404)",
    },
}
_ROW_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
# Why each status is documented, where no route says more.
_WHY = {
    400: "the body is not JSON, or If-Match is not an ETag of this API",
    401: "no session: sign in and send Authorization: Bearer <token>",
    403: "the role may not do this, or a forced password change is pending",
    404: "absent, or outside the caller's scope (the two answer alike)",
    409: "the record's state does not allow it",
    412: "If-Match names a version the record is no longer at",
    413: "the body is larger than the registry takes",
    415: "the body is declared as something other than JSON",
    422: "fields are not valid; `fields` names every one",
    423: "too many failed sign-ins; Retry-After says when to try again",
    428: "If-Match is missing",
    429: "too many requests from this address (or to this account); Retry-After says when",
    503: "the database is unreachable; Retry-After says when to try again",
}


def statuses(endpoint: Endpoint) -> list[int]:
    """Every status the route can answer: its own, and those of its kind."""
    found = set(endpoint.answers)
    if not endpoint.public:
        found.add(401)
        if not endpoint.before_password_change:
            found.add(403)
    if "{" in endpoint.path:
        found.add(404)
    if endpoint.body is not None:
        found |= {400, 413, 415, 422}
    if endpoint.method in ("PATCH", "PUT"):
        found |= {400, 412, 428}
    if endpoint.query:
        found.add(422)
    if endpoint.database:
        found.add(503)
    return sorted(found)


def operation_id(method: str, path: str) -> str:
    return f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"


@functools.cache
def openapi() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    for endpoint in ENDPOINTS:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "operationId": operation_id(endpoint.method, endpoint.path),
            "responses": {
                str(status): _response(endpoint, status, schemas) for status in statuses(endpoint)
            },
        }
        if not endpoint.public:
            operation["security"] = [{"bearer": []}]
        parameters = [*_path_parameters(endpoint.path), *_query_parameters(endpoint)]
        if endpoint.method in ("PATCH", "PUT"):
            parameters.append(
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": True,
                    "description": "the ETag of the record as it was read",
                    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
                }
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
            "description": (
                "Jurisdictions, accounts, enterprises, products and their reviews: the "
                "registry behind the codes. Errors are always "
                '{"error": {"code", "message", "fields"}}.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for name in re.findall(r"\{(\w+)\}", path):
        schema = dict(_PATH_PARAMETERS.get(name, _ROW_ID))
        description = schema.pop("description", f"the {name.removesuffix('_id')}'s id")
        parameters.append(
            {"name": name, "in": "path", "required": True, "description": description,
             "schema": schema}
        )  # fmt: skip
    return parameters


def _query_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    return [
        {"name": q.name, "in": "query", "required": q.required, "description": q.description,
         "schema": q.schema}
        for q in endpoint.query
    ]  # fmt: skip


def _response(endpoint: Endpoint, status: int, schemas: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _WHY.get(status, HTTPStatus(status).phrase)}
    headers: dict[str, Any] = {}
    if status >= 400:
        response["content"] = {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        }
        if status in (423, 429, 503):
            headers["Retry-After"] = _header("seconds to wait before trying again", "integer")
        if status == 401:
            headers["WWW-Authenticate"] = _header("the scheme to sign in with", "string")
    else:
        if status != 204:
            response["content"] = {
                endpoint.media_type: {"schema": _success_schema(endpoint, schemas)}
            }
        if endpoint.etag:
            headers["ETag"] = _header("the record's version, for If-Match", "string")
        links = {
            link.name: {
                "operationId": operation_id(link.method, link.path),
                "parameters": link.parameters,
            }
            for link in endpoint.links
        }
        if links:
            response["links"] = links
    if headers:
        response["headers"] = headers
    return response


def _success_schema(endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    """The success's shape, its named parts added to `schemas`."""
    if not (endpoint.media_type == "application/json" or endpoint.media_type.endswith("+json")):
        return {"type": "string", "format": "binary"}
    if endpoint.response is None:
        return {"type": "object"}
    schema = TypeAdapter(endpoint.response).json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    schemas.update(schema.pop("$defs", {}))
    schemas[endpoint.response.__name__] = schema
    return {"$ref": f"#/components/schemas/{endpoint.response.__name__}"}


def _header(description: str, kind: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": kind}}
