"""HTTP handlers of the division tree, and their rows of the endpoint table."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from registry_api.accounts.routes import signed_in
from registry_api.accounts.rules import Jurisdiction, Level
from registry_api.forms import read_form
from registry_api.jurisdictions import operations
from registry_api.jurisdictions.forms import ParkForm
from registry_api.requests import Endpoint, Link, answer, path_text, resources


@answer
class UnitView(TypedDict):
    id: str
    name: str
    level: Level
    parent_id: str | None


@answer
class UnitWithChildrenView(UnitView):
    children: list[UnitView]


def jurisdiction_json(unit: Jurisdiction) -> UnitView:
    return {"id": unit.id, "name": unit.name, "level": unit.level, "parent_id": unit.parent_id}


async def jurisdiction(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.unit_with_children(
            conn, actor, path_text(request, "jurisdiction_id")
        )
    body: UnitWithChildrenView = {
        **jurisdiction_json(found.unit),
        "children": [jurisdiction_json(c) for c in found.children],
    }
    return JSONResponse(body)


async def create_park(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, ParkForm)
        park = await operations.create_park(conn, actor, path_text(request, "parent_id"), form.name)
    return JSONResponse(jurisdiction_json(park), status_code=201)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/jurisdictions/{jurisdiction_id}", jurisdiction,
             "A jurisdiction in scope, with its children", None, (200, 404),
             UnitWithChildrenView),
    Endpoint("POST", "/jurisdictions/{parent_id}/parks", create_park,
             "Add a chemical park under a county or city (admins)", ParkForm,
             (201, 403, 404, 422), UnitView,
             links=(Link("GetPark", "GET", "/jurisdictions/{jurisdiction_id}",
                         {"jurisdiction_id": "$response.body#/id"}),)),
)  # fmt: skip
