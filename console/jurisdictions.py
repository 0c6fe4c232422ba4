"""Pages of the division tree: a unit in the reader's scope with the units directly below
it (links down), the form that adds a chemical park under a county or a city (admins), and
the annex 2 roster of a unit and below as CSV (admins).

The same operations as `GET /api/v1/jurisdictions/{id}`, `POST …/{parent_id}/parks` and
`GET …/{id}/roster.csv`; a unit outside the reader's is a 404 page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.storage import Connection
from console.forms import Posted, checked, field_errors, posted
from console.navigation import connection
from console.rendering import PREFIX, page, see_other
from console.sessions import signed_in
from console.staff import LEVEL_NAMES, unit_name
from registry_api.accounts import operations as accounts
from registry_api.accounts.operations import Actor
from registry_api.accounts.rules import Level, PersonalDataCipher, Role
from registry_api.errors import ValidationFailed
from registry_api.jurisdictions import operations as jurisdictions
from registry_api.jurisdictions.forms import ParkForm
from registry_api.requests import path_text

# Parks hang from these (the operation says so too).
PARK_PARENT_LEVELS = (Level.COUNTY, Level.CITY)


async def _unit_page(
    request: Request,
    conn: Connection,
    actor: Actor,
    jurisdiction_id: str,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    form: Posted | None = None,
) -> Response:
    found = await jurisdictions.unit_with_children(conn, actor, jurisdiction_id)
    own = accounts.regulator_unit(actor)
    # The way down from the reader's own unit to this one, each step a link.
    steps = found.unit.path.split("/")
    trail = [
        (step, unit_name(step, {own.id: own.name, found.unit.id: found.unit.name}))
        for step in steps[steps.index(own.id) :]
    ]
    admin = actor.account.role is Role.ADMIN
    return page(
        request,
        "units.html",
        status=status,
        actor=actor,
        unit=found.unit,
        children=found.children,
        trail=trail,
        level_names=LEVEL_NAMES,
        adding_park=admin and found.unit.level in PARK_PARENT_LEVELS,
        roster=admin,
        message=message,
        errors=errors or {},
        values={} if form is None else form.values(),
    )


async def own_unit(request: Request) -> Response:
    """`/console/units`: the reader's own unit and those directly below it."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        return await _unit_page(request, conn, actor, accounts.regulator_unit(actor).id)


async def unit_page(request: Request) -> Response:
    """`/console/units/{id}`: a unit in the reader's scope and those directly below it."""
    jurisdiction_id = path_text(request, "jurisdiction_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        return await _unit_page(request, conn, actor, jurisdiction_id)


async def add_park(request: Request) -> Response:
    form = await posted(request)
    jurisdiction_id = path_text(request, "jurisdiction_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        try:
            name = checked(ParkForm, {"name": form.get("name")}).name
            await jurisdictions.create_park(conn, actor, jurisdiction_id, name)
        except ValidationFailed as exc:
            # The unit's own level (not a county or a city) is the page's problem, not a field's.
            fields = {path: text for path, text in exc.fields.items() if path == "name"}
            return await _unit_page(
                request, conn, actor, jurisdiction_id, status=422,
                message=None if fields else exc.message,
                errors=field_errors(request, fields), form=form,
            )  # fmt: skip
    return see_other(request, f"{PREFIX}/units/{jurisdiction_id}", done="created")


async def roster(request: Request) -> Response:
    """The annex 2 roster of a unit and below: the API's bytes and headers."""
    jurisdiction_id = path_text(request, "jurisdiction_id")
    cipher: PersonalDataCipher = request.app.state.cipher
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        exported = await accounts.export_roster(conn, actor, jurisdiction_id, cipher)
    return Response(
        exported.csv,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="roster-{exported.unit.id}.csv"',
            # Resident ID numbers in full: kept in no cache.
            "Cache-Control": "no-store",
        },
    )


ROUTES = [
    Route(f"{PREFIX}/units", own_unit, methods=["GET"]),
    Route(f"{PREFIX}/units/{{jurisdiction_id}}", unit_page, methods=["GET"]),
    Route(f"{PREFIX}/units/{{jurisdiction_id}}/parks", add_park, methods=["POST"]),
    Route(f"{PREFIX}/units/{{jurisdiction_id}}/roster.csv", roster, methods=["GET"]),
]
