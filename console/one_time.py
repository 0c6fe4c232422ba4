"""What a page shows once, such as a one-time password: never put in a URL, never rendered
twice.

The handler of the POST keeps it in Redis under a random key, bound to the signed-in
person who made it, for ten minutes, and redirects to a page with `?once={key}`; that page
reads it with GETDEL, so a reload (or the back button) finds nothing and says it was shown
already.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from registry_api.accounts.operations import Actor
from registry_api.requests import resources

ONCE_SECONDS = 600  # how long an unread one-time value waits for its page
_KEY_PREFIX = "console:once:"
_MAX_KEY_CHARS = 64  # longer than any key `keep_once` makes: not worth a Redis round trip


async def keep_once(request: Request, actor: Actor, kind: str, shown: Mapping[str, Any]) -> str:
    """Keeps `shown` (JSON-able) for `actor` to read once from a page of `kind` (one page
    cannot read what another kept); returns the key for the page's `?once=`."""
    key = secrets.token_urlsafe(24)
    value = {**shown, "reader": actor.account.id}
    await resources(request).redis.set(
        f"{_KEY_PREFIX}{kind}:{key}", json.dumps(value, ensure_ascii=False), ex=ONCE_SECONDS
    )
    return key


async def read_once(
    request: Request, actor: Actor, kind: str, **bound: object
) -> dict[str, Any] | None:
    """What `keep_once` kept under the request's `?once=` for `actor`, deleted as it is read.

    None when there is no key, it has expired or was read already, or what it holds was
    kept for another reader or for other `bound` values (the page's own ids, so a key
    moved to another page shows nothing there)."""
    key = request.query_params.get("once", "")
    if not key or len(key) > _MAX_KEY_CHARS:
        return None
    stored = await resources(request).redis.getdel(f"{_KEY_PREFIX}{kind}:{key}")
    if stored is None:
        return None
    shown: dict[str, Any] = json.loads(stored)
    if shown.get("reader") != actor.account.id:
        return None
    if any(shown.get(name) != value for name, value in bound.items()):
        return None
    return shown
