"""What every handler of the registry reads from a request (the connections, the bearer
token, ids from the path, the version in If-Match), and the row of the endpoint table each
domain declares its routes with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.service import Resources
from registry_api.errors import NotFound, PreconditionFailed, PreconditionRequired

PREFIX = "/api/v1"  # where the registry's API lives


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A route of the API and what its documentation says of it."""

    method: str
    path: str
    handler: Callable[[Request], Awaitable[Response]]
    summary: str
    body: type[BaseModel] | None = None
    answers: tuple[int, ...] = (200,)
    public: bool = False  # callable without a session
    media_type: str = "application/json"

    @property
    def route(self) -> Route:
        return Route(PREFIX + self.path, self.handler, methods=[self.method])


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


def path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # "²" is a digit to isdigit
        raise NotFound(f"no {name.removesuffix('_id')} {raw[:40]}")
    return int(raw)


def if_match_version(header: str | None) -> int:
    if header is None:
        raise PreconditionRequired(
            "send If-Match with the ETag of the record you read, so no change is lost"
        )
    tag = header.strip().removeprefix("W/").strip('"')
    if not (tag.isascii() and tag.isdigit()) or len(tag) > 9:
        raise PreconditionFailed(f"If-Match {header[:40]!r} is not a version of this record")
    return int(tag)
