"""What every handler of the registry reads from a request (the connections, the bearer
token, ids from the path, the version in If-Match), and the row of the endpoint table each
domain declares its routes with."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, WithJsonSchema, with_config
from starlette.requests import Request
from starlette.responses import Response

from codesvc.service import Resources
from registry_api.errors import NotFound, PreconditionRequired, RegistryError
from registry_api.limits import Limiter
from registry_api.validators import END

PREFIX = "/api/v1"  # where the registry's API lives


_Shape = TypeVar("_Shape")
# A response's shape is a TypedDict: mypy checks the handler builds it, and the document
# shows it (every field, and no other: `answer` forbids the rest).
answer: Callable[[type[_Shape]], type[_Shape]] = with_config(ConfigDict(extra="forbid"))
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


@dataclass(frozen=True, slots=True)
class QueryParameter:
    """A query parameter (optional unless `required`), as the handler reads it and the document
    describes it."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """An OpenAPI link: a value of this operation's response that another operation takes,
    such as the id of what was created. `parameters` maps the other operation's parameter
    names to runtime expressions (`$response.body#/id`)."""

    name: str
    method: str
    path: str
    parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A route of the API and what its documentation says of it.

    `answers` are the statuses particular to the route (its success, and the 403, 404, 409,
    412 or 422 its operation raises); those every route of its kind can answer (401 and 403
    of sign-in, 400/413/415/422 of a body, 428/400 of If-Match, 503) are added by
    `openapi.statuses`."""

    method: str
    path: str
    handler: Callable[[Request], Awaitable[Response]]
    summary: str
    body: type[BaseModel] | None = None
    answers: tuple[int, ...] = (200,)
    response: type | None = None  # the success's shape (a TypedDict of `answer`)
    public: bool = False  # callable without a session
    media_type: str = "application/json"
    query: tuple[QueryParameter, ...] = ()
    links: tuple[Link, ...] = ()
    etag: bool = False  # the response's ETag is the record's version (for If-Match)
    # Callable while a forced password change is pending (sign-out, the change itself, /me).
    before_password_change: bool = False
    database: bool = True  # False for routes that answer from memory (never 503)


def limiter(request: Request) -> Limiter:
    """The rate limits, counted for the request's client address (behind a proxy, the one
    uvicorn takes from X-Forwarded-For when it trusts the proxy: `FORWARDED_ALLOW_IPS`)."""
    address = request.client.host if request.client is not None else "unknown"
    return Limiter(resources(request).redis, address)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


# Path parameters that are not row ids, as the document describes them: anything else is
# no such resource (404), decided before any lookup.
_CROCKFORD = "[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]"
PATH_PATTERNS = {
    "jurisdiction_id": r"^[0-9]{6}(P[0-9]{2,4})?" + END,
    # A city or a county: GB/T 2260 gives the nation and provinces codes ending in 0000.
    "parent_id": r"^[0-9]{2}([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])" + END,
    "code_id": f"^{_CROCKFORD}{{4}}(-?{_CROCKFORD}{{4}}){{3}}" + END,
    # An item's serial: 13 Crockford characters, the last its check character.
    "serial": f"^{_CROCKFORD}{{13}}" + END,
}
MAX_ROW_ID = 10**18 - 1  # 18 digits: what `path_id` takes, within PostgreSQL's bigint


_WHAT_IS_NOT_THERE = {"parent_id": "city or county"}


def path_text(request: Request, name: str) -> str:
    """A path parameter of `PATH_PATTERNS`; 404 when it does not have that shape."""
    raw: str = request.path_params[name]
    if not re.search(PATH_PATTERNS[name], raw):
        what = _WHAT_IS_NOT_THERE.get(name, name.removesuffix("_id"))
        raise NotFound(f"no {what} {raw[:40]!r}")
    return raw


def path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # "²" is a digit to isdigit
        raise NotFound(f"no {name.removesuffix('_id')} {raw[:40]}")
    return int(raw)


# The ETags the registry gives records: their version, quoted (a weak one is taken too).
IF_MATCH_PATTERN = r'^(W/)?"[0-9]{1,9}"$'
_IF_MATCH = re.compile(IF_MATCH_PATTERN)


def if_match_version(header: str | None) -> int:
    """The version an If-Match names: 428 without one, 400 when it is not one of our ETags
    (`"3"`). Whether it is still the record's version is the operation's to say (412)."""
    if header is None:
        raise PreconditionRequired(
            "send If-Match with the ETag of the record you read, so no change is lost"
        )
    if not _IF_MATCH.fullmatch(header.strip()):
        raise RegistryError(
            f"If-Match {header[:40]!r} is not an ETag of this API: send the ETag of the "
            'record you read, such as "3"',
            {"If-Match": 'must be an ETag such as "3"'},
        )
    return int(header.strip().removeprefix("W/").strip('"'))
