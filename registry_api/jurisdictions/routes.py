"""HTTP handlers of the division tree, and their rows of the endpoint table."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry_api.accounts.routes import signed_in
from registry_api.accounts.rules import Jurisdiction
from registry_api.forms import read_form
from registry_api.jurisdictions import operations
from registry_api.jurisdictions.forms import ParkForm
from registry_api.requests import Endpoint, Link, path_text, resources


def jurisdiction_json(unit: Jurisdiction) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "level": unit.level.value,
        "parent_id": unit.parent_id,
    }


async def jurisdiction(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.unit_with_children(
            conn, actor, path_text(request, "jurisdiction_id")
        )
    return JSONResponse(
        {
            **jurisdiction_json(found.unit),
            "children": [jurisdiction_json(c) for c in found.children],
        }
    )


async def create_park(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, ParkForm)
        park = await operations.create_park(
            conn, actor, path_text(request, "jurisdiction_id"), form.name
        )
    return JSONResponse(jurisdiction_json(park), status_code=201)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/jurisdictions/{jurisdiction_id}", jurisdiction,
             "A jurisdiction in scope, with its children", None, (200, 404)),
    Endpoint("POST", "/jurisdictions/{jurisdiction_id}/parks", create_park,
             "Add a chemical park under a county or city (admins)", ParkForm,
             (201, 403, 404, 422),
             links=(Link("GetPark", "GET", "/jurisdictions/{jurisdiction_id}",
                         {"jurisdiction_id": "$response.body#/id"}),)),
)  # fmt: skip
