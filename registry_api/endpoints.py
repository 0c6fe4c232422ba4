"""The endpoint table: every domain's rows, assembled in the domains' order, and the routes
built from it. The OpenAPI document is built from the same table (`openapi.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from registry_api.accounts import routes as accounts
from registry_api.enterprises import routes as enterprises
from registry_api.jurisdictions import routes as jurisdictions
from registry_api.lifecycle import batch_routes
from registry_api.lifecycle import routes as lifecycle
from registry_api.oversight import notice_routes
from registry_api.oversight import routes as oversight
from registry_api.products import ghs_routes
from registry_api.products import routes as products
from registry_api.requests import PREFIX, Endpoint
from registry_api.reviews import routes as reviews

ENDPOINTS: tuple[Endpoint, ...] = (
    *accounts.ENDPOINTS,
    *jurisdictions.ENDPOINTS,
    *enterprises.ENDPOINTS,
    *products.ENDPOINTS,
    *reviews.ENDPOINTS,
    *lifecycle.ENDPOINTS,
    *oversight.ENDPOINTS,
    *notice_routes.ENDPOINTS,
    *batch_routes.ENDPOINTS,
    *ghs_routes.ENDPOINTS,
)


def routes() -> list[Route]:
    """One route per path, taking every method the table has for it: a method the path does
    not take answers 405 with an `Allow` header naming all the others (RFC 9110 15.5.6),
    which one route per (method, path) could not do."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in ENDPOINTS:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    return [
        Route(PREFIX + path, _dispatcher(endpoints), methods=list(endpoints))
        for path, endpoints in by_path.items()
    ]


def _dispatcher(
    endpoints: dict[str, Endpoint],
) -> Callable[[Request], Awaitable[Response]]:
    handlers = {method: endpoint.handler for method, endpoint in endpoints.items()}
    if "GET" in handlers:
        handlers["HEAD"] = handlers["GET"]  # starlette answers HEAD without the body

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    return dispatch
