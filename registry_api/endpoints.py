"""The endpoint table: every domain's rows, assembled in the domains' order, and the routes
built from it. The OpenAPI document is built from the same table (`openapi.py`)."""

from __future__ import annotations

from starlette.routing import Route

from registry_api.accounts import routes as accounts
from registry_api.enterprises import routes as enterprises
from registry_api.jurisdictions import routes as jurisdictions
from registry_api.products import ghs_routes
from registry_api.products import routes as products
from registry_api.requests import Endpoint
from registry_api.reviews import routes as reviews

ENDPOINTS: tuple[Endpoint, ...] = (
    *accounts.ENDPOINTS,
    *jurisdictions.ENDPOINTS,
    *enterprises.ENDPOINTS,
    *products.ENDPOINTS,
    *reviews.ENDPOINTS,
    *ghs_routes.ENDPOINTS,
)


def routes() -> list[Route]:
    """Every route of the API; a test walks them all for authentication and scope."""
    return [endpoint.route for endpoint in ENDPOINTS]
