"""What the resolver knows of revoked signing keys, re-read from PostgreSQL every second.

A scan of a code signed by a revoked key must stop claiming a genuine signature at once,
before re-signing has reached that code and whatever the caches hold: the resolver checks
the presented key against this set on every scan (a lookup in an empty dict, nearly
always). Such a code, when its signature matches the revoked key, is a label printed
before the revocation (or a copy made with the stolen key): it is shown with the hazard
data under a warning, never as genuine and never without the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from codesvc import storage
from codesvc.codes import Code, signed_message
from codesvc.service import BACKEND_ERRORS

REFRESH_SECONDS = 1.0
_QUERY_TIMEOUT_SECONDS = 2.0

_log = logging.getLogger(__name__)


class RevokedKeys:
    """The revoked keys' public halves by key_id; kept current by `follow`."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PublicKey] = {}

    def update(self, public_keys: dict[str, bytes]) -> None:
        if public_keys.keys() != self.keys.keys():
            self.keys = {
                key_id: Ed25519PublicKey.from_public_bytes(raw)
                for key_id, raw in public_keys.items()
            }

    def signed_by_revoked_key(self, code: Code) -> bool:
        """Whether the code's signature is a revoked key's own (not a forgery's)."""
        key = self.keys.get(code.key_id)
        if key is None:
            return False
        try:
            key.verify(code.signature, signed_message(code.code_id, code.key_id))
        except InvalidSignature:
            return False
        return True

    async def refresh(self, pool: asyncpg.Pool) -> None:
        async with asyncio.timeout(_QUERY_TIMEOUT_SECONDS), pool.acquire() as conn:
            self.update(await storage.fetch_revoked_public_keys(conn))

    async def follow(self, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        """Re-read the revoked keys every second until `stop`; while PostgreSQL is down the
        last set read stays (a revocation is never undone)."""
        while not stop.is_set():
            try:
                await self.refresh(pool)
            except BACKEND_ERRORS:
                _log.debug("revoked keys not refreshed: PostgreSQL unavailable")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH_SECONDS)
