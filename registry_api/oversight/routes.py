"""HTTP handlers of oversight, and their rows of the endpoint table: search of enterprises
and products in scope, and an enterprise's audit trail."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from codesvc.codes import group_code_id
from registry_api.accounts.routes import signed_in
from registry_api.enterprises.storage import EnterpriseStatus
from registry_api.forms import NOT_BLANK, validate_form
from registry_api.oversight import operations
from registry_api.oversight.forms import (
    DEFAULT_AUDIT_LIMIT,
    DEFAULT_SEARCH_LIMIT,
    MAX_OFFSET,
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    AuditQuery,
    SearchQuery,
)
from registry_api.oversight.storage import AuditTrailEntry, ProductStatus
from registry_api.requests import (
    Endpoint,
    Link,
    QueryParameter,
    Timestamp,
    answer,
    path_id,
    resources,
)


@answer
class EnterpriseHitView(TypedDict):
    id: int
    name: str
    uscc: str
    county_id: str
    county_name: str
    status: EnterpriseStatus


@answer
class ProductHitView(TypedDict):
    id: int
    name_zh: str
    name_en: str | None
    cas_numbers: list[str]
    un_number: str | None
    code_id: str | None  # as printed, with dashes; None until the first approval
    status: ProductStatus
    enterprise_id: int
    enterprise_name: str


@answer
class SearchView(TypedDict):
    q: str  # the text searched for, trimmed
    enterprises: list[EnterpriseHitView]
    products: list[ProductHitView]
    next_offset: int | None  # the `offset` of the next page, when either list has more


@answer
class AuditActorView(TypedDict):
    id: int
    name: str


@answer
class AuditEntryView(TypedDict):
    id: int
    at: Timestamp
    actor: AuditActorView | None  # None: the public form, or the server's operator
    action: str  # `product.update`, `submission.approve`...
    subject_type: str  # enterprise, enterprise_application, product, revision, ...
    subject_id: str
    changes: dict[str, Any]  # {field: {"before", "after"}}


@answer
class AuditTrailView(TypedDict):
    entries: list[AuditEntryView]  # the newest first
    next_before: int | None  # the `before` of the next (older) page, when there is one


def _query(request: Request, form: type[BaseModel]) -> dict[str, object]:
    """The request's query parameters that `form` names (a repeated one: its last value)."""
    params = request.query_params
    return {name: params[name] for name in form.model_fields if name in params}


def audit_entry_json(entry: AuditTrailEntry) -> AuditEntryView:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": None
        if entry.actor_id is None
        else {"id": entry.actor_id, "name": entry.actor_name or ""},
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "changes": entry.changes,
    }


async def search(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        query = validate_form(SearchQuery, _query(request, SearchQuery))
        found = await operations.search(conn, actor, query)
    body: SearchView = {
        "q": query.q,
        "enterprises": [
            {"id": e.id, "name": e.name, "uscc": e.uscc, "county_id": e.county_id,
             "county_name": e.county_name, "status": e.status}
            for e in found.enterprises
        ],
        "products": [
            {"id": p.id, "name_zh": p.name_zh, "name_en": p.name_en,
             "cas_numbers": p.cas_numbers, "un_number": p.un_number,
             "code_id": None if p.code_id is None else group_code_id(p.code_id),
             "status": p.status, "enterprise_id": p.enterprise_id,
             "enterprise_name": p.enterprise_name}
            for p in found.products
        ],
        "next_offset": found.next_offset,
    }  # fmt: skip
    return JSONResponse(body)


async def enterprise_audit(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        enterprise_id = path_id(request, "enterprise_id")
        query = validate_form(AuditQuery, _query(request, AuditQuery))
        trail = await operations.audit_trail(conn, actor, enterprise_id, query)
    body: AuditTrailView = {
        "entries": [audit_entry_json(e) for e in trail.entries],
        "next_before": trail.next_before,
    }
    return JSONResponse(body)


def _limit(default: int, description: str) -> QueryParameter:
    return QueryParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": default},
        description,
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/search", search,
             "Enterprises and products in scope whose name holds the text (any case), or "
             "whose credit code, CAS number (a product's or a component's), UN number or "
             "code_id is it; each kind by id, paged by offset (regulators: their unit and "
             "below)", None, (200, 404, 422), SearchView,
             query=(QueryParameter("q", {"type": "string", "minLength": 1,
                                         "maxLength": MAX_QUERY_LENGTH, "pattern": NOT_BLANK},
                                   "the text: part of a name, or a whole identifier",
                                   required=True),
                    _limit(DEFAULT_SEARCH_LIMIT, "at most this many of each kind"),
                    QueryParameter("offset", {"type": "integer", "minimum": 0,
                                              "maximum": MAX_OFFSET, "default": 0},
                                   "skip this many of each kind (the `next_offset` read)")),
             links=(Link("GetFirstEnterpriseFound", "GET", "/enterprises/{enterprise_id}",
                         {"enterprise_id": "$response.body#/enterprises/0/id"}),
                    Link("GetFirstProductFound", "GET", "/products/{product_id}",
                         {"product_id": "$response.body#/products/0/id"}))),
    Endpoint("GET", "/enterprises/{enterprise_id}/audit", enterprise_audit,
             "The enterprise's audit trail, the newest first: every change of its record, "
             "applications, products, revisions, submissions, certificates and codes, who "
             "made it and when (regulators in scope, and the enterprise itself: the history "
             "of what it sees already)", None, (200, 404, 422), AuditTrailView,
             query=(_limit(DEFAULT_AUDIT_LIMIT, "at most this many entries"),
                    QueryParameter("before", {"type": "integer", "minimum": 1,
                                              "maximum": 2**63 - 1},
                                   "only entries older than this one (the `next_before` "
                                   "read)"))),
)  # fmt: skip
