"""The signing keys: Ed25519, private halves sealed under the master key in PostgreSQL.

Exactly one key is active and signs new codes. `rotate` adds a key and retires the
active one (`retire KID` does the same, checking that KID is the active key); a retired
key signs nothing more but its codes stay genuine. `revoke` makes a key's codes no
longer genuine (a leaked key); revoking the active key puts a new one in its place.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from codesvc import storage
from codesvc.codes import KEY_ID_LENGTH
from codesvc.errors import InvalidArgument, KeyStateError, NotFoundError
from codesvc.signing import (
    KeyStatus,
    jwk,
    key_id_for,
    new_private_key,
    open_private_key,
    raw_public_key,
    seal_private_key,
)
from codesvc.storage import Connection


@dataclass(frozen=True, slots=True)
class Signer:
    key_id: str
    private_key: Ed25519PrivateKey


class KeyRing:
    """Holds the master key and the private keys it has opened (they never change)."""

    def __init__(self, master_key: bytes) -> None:
        self._master_key = master_key
        self._opened: dict[str, Ed25519PrivateKey] = {}

    async def active_signer(self, conn: Connection) -> Signer:
        """The active key, creating the first one when there is none."""
        row = await storage.fetch_active_key(conn)
        if row is None:
            async with conn.transaction():
                await storage.lock_keys(conn)
                row = await storage.fetch_active_key(conn) or await self._add_key(conn)
        private_key = self._opened.get(row.key_id)
        if private_key is None:
            private_key = open_private_key(self._master_key, row.key_id, row.sealed_private_key)
            self._opened[row.key_id] = private_key
        return Signer(row.key_id, private_key)

    async def rotate(self, conn: Connection) -> storage.SigningKeyRow:
        """Add a new active key; the previous active key is retired."""
        async with conn.transaction():
            await storage.lock_keys(conn)
            current = await storage.fetch_active_key(conn)
            if current is not None:
                await storage.retire_key(conn, current.key_id)
            return await self._add_key(conn)

    async def retire(self, conn: Connection, key_id: str) -> storage.SigningKeyRow:
        """Retire the key, which must be the active one; returns the new active key."""
        async with conn.transaction():
            await storage.lock_keys(conn)
            key = await self._existing(conn, key_id)
            if key.status is not KeyStatus.ACTIVE:
                raise KeyStateError(f"key {key.key_id} is {key.status.value}, not active")
            await storage.retire_key(conn, key.key_id)
            return await self._add_key(conn)

    async def revoke(self, conn: Connection, key_id: str, reason: str) -> int:
        """Revoke the key; returns how many codes it had signed (now not genuine)."""
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidArgument("revoking a key needs a reason")
        async with conn.transaction():
            await storage.lock_keys(conn)
            key = await self._existing(conn, key_id)
            if key.status is KeyStatus.REVOKED:
                raise KeyStateError(f"key {key.key_id} is already revoked")
            if key.status is KeyStatus.ACTIVE:
                await storage.retire_key(conn, key.key_id)
                await self._add_key(conn)
            await storage.revoke_key(conn, key.key_id, reason.strip())
            self._opened.pop(key.key_id, None)
            return await storage.count_codes_signed_by(conn, key.key_id)

    async def keys(self, conn: Connection) -> list[storage.SigningKeyRow]:
        return await storage.fetch_keys(conn)

    async def _existing(self, conn: Connection, key_id: str) -> storage.SigningKeyRow:
        if not isinstance(key_id, str) or len(key_id) > KEY_ID_LENGTH:
            raise NotFoundError(f"no signing key {key_id!r}")
        key = await storage.fetch_key(conn, key_id.upper())
        if key is None:
            raise NotFoundError(f"no signing key {key_id!r}")
        return key

    async def _add_key(self, conn: Connection) -> storage.SigningKeyRow:
        sequence = await storage.next_key_sequence(conn)
        key_id = key_id_for(sequence)
        private_key = new_private_key()
        row = await storage.insert_active_key(
            conn,
            key_id=key_id,
            sequence=sequence,
            public_key=raw_public_key(private_key),
            sealed_private_key=seal_private_key(self._master_key, key_id, private_key),
        )
        self._opened[key_id] = private_key
        return row


async def published_keys(conn: Connection) -> dict[str, list[dict[str, str]]]:
    """The JWKS served at /.well-known/safecode-keys.json: every key, with its status."""
    rows = await storage.fetch_keys(conn)
    return {"keys": [jwk(row.key_id, row.status, row.public_key) for row in rows]}
