"""What every handler of the registry reads from a request: the connections, the signed-in
account, ids from the path, the version in If-Match."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from codesvc.service import Resources
from registry_api import services
from registry_api.errors import NotFound, PreconditionFailed, PreconditionRequired

PREFIX = "/api/v1"  # where the registry's API lives


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


async def signed_in(
    request: Request, conn: Any, *, changing_password: bool = False
) -> services.Actor:
    return await services.authenticate(
        conn, bearer_token(request), changing_password=changing_password
    )


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
