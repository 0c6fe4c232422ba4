"""Pages of oversight: search of the enterprises and products in the regulator's scope, and
the regulator's page of an enterprise (its record, products, certificate, submissions with
their decisions, and its audit trail).

Both call the oversight domain's operations with the signed-in actor, as
`registry_api/oversight/routes.py` does: an enterprise outside the reader's jurisdiction is
a 404 page, as the API answers. The enterprise's own account has its own pages
(`enterprises.py`); these are the regulators'.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.forms import checked, field_errors
from console.navigation import connection
from console.rendering import PREFIX, audit_action_name, lang_of, page
from console.reviews import step_name
from console.sessions import signed_in
from registry_api.accounts.operations import regulator_unit
from registry_api.enterprises.reference import division_names
from registry_api.errors import ValidationFailed
from registry_api.oversight import operations as oversight
from registry_api.oversight.forms import DEFAULT_SEARCH_LIMIT, SearchQuery
from registry_api.requests import path_id

# What an audit entry shows of a change's value, at most.
MAX_CHANGE_TEXT = 120


async def search(request: Request) -> Response:
    """`/console/search?q=`: the form, and what the text finds in the reader's scope."""
    text = request.query_params.get("q", "")
    offset = request.query_params.get("offset", "0")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        regulator_unit(actor)  # regulators search; an enterprise has no such page (404)
        if not text:
            return page(request, "search.html", actor=actor, results=None)
        try:
            query = checked(
                SearchQuery,
                {"q": text, "limit": DEFAULT_SEARCH_LIMIT, "offset": offset or "0"},
            )
        except ValidationFailed as exc:
            return page(
                request,
                "search.html",
                status=422,
                actor=actor,
                results=None,
                errors=field_errors(request, exc.fields),
                values={"q": text},
            )
        results = await oversight.search(conn, actor, query)
    return page(
        request,
        "search.html",
        actor=actor,
        results=results,
        query=query,
        values={"q": query.q},
        names=division_names(),
    )


def _audit_before(request: Request) -> int | None:
    """The `before` of an older page of the audit trail; None (the newest) when absent or
    not a row id."""
    raw = request.query_params.get("audit_before", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18 else None


def change_text(value: Any) -> str:
    """A value of an audit entry's change, in a line."""
    if value is None:
        return "—"
    if isinstance(value, list | dict):
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    else:
        text = str(value)
    return text if len(text) <= MAX_CHANGE_TEXT else text[: MAX_CHANGE_TEXT - 1] + "…"


async def enterprise_page(request: Request) -> Response:
    """`/console/enterprises/{id}`: an enterprise in scope, as its regulators read it."""
    enterprise_id = path_id(request, "enterprise_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await oversight.enterprise_file(
            conn, actor, enterprise_id, audit_before=_audit_before(request)
        )
    lang = lang_of(request)
    return page(
        request,
        "enterprise_page.html",
        actor=actor,
        f=found,
        names=division_names(),
        today=date.today(),
        step_name=lambda pipeline, step: step_name(pipeline, step, lang),
        change_text=change_text,
        action_name=lambda action: audit_action_name(action, lang),
    )


ROUTES: list[Route] = [
    Route(f"{PREFIX}/search", search, methods=["GET"]),
    Route(f"{PREFIX}/enterprises/{{enterprise_id}}", enterprise_page, methods=["GET"]),
]
