"""Re-signing the codes of a revoked key with the active key (DESIGN.md "Key compromise").

A revoked key may be in other hands, so what it signed can no longer prove anything: each
of its codes gets a new signature by the active key, and the old one is kept in
`superseded_signatures` (labels printed with it still scan, under a warning, until the
manufacturer reprints). The work goes in batches, each its own transaction: the codes are
re-signed, their scan variants rendered again (the relay takes them to Redis as for a
publish), and the caller's `on_batch` runs in the same transaction (the registry records
reprint notices and an audit entry there). A run cut short loses nothing: the next run
takes the codes still signed by a revoked key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from codesvc import storage
from codesvc.codes import Code
from codesvc.keyring import KeyRing
from codesvc.publishing import refresh_variants
from codesvc.signing import sign_code
from codesvc.storage import Connection

DEFAULT_BATCH = 200


@dataclass(frozen=True, slots=True)
class Resigned:
    """A code re-signed: the code as printed so far, and as it must be reprinted."""

    subject: str
    old: Code
    new: Code


# Runs in each batch's transaction with the codes it re-signed.
BatchHook = Callable[[Connection, list[Resigned]], Awaitable[None]]


async def codes_left_to_resign(conn: Connection) -> int:
    """How many codes are still signed by a revoked key."""
    return await storage.count_codes_of_revoked_keys(conn)


async def resign_revoked_codes(
    conn: Connection,
    keyring: KeyRing,
    *,
    public_base_url: str,
    on_batch: BatchHook | None = None,
    batch: int = DEFAULT_BATCH,
) -> int:
    """Re-sign every code still signed by a revoked key; returns how many this run did."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    done = 0
    while True:
        async with conn.transaction():
            old = await storage.claim_codes_of_revoked_keys(conn, batch)
            if not old:
                return done
            signer = await keyring.active_signer(conn)
            new = [sign_code(signer.private_key, row.code_id, signer.key_id) for row in old]
            await storage.resign_codes(conn, old, signer.key_id, [code.signature for code in new])
            for row in old:
                await refresh_variants(conn, row.code_id, public_base_url=public_base_url)
            if on_batch is not None:
                await on_batch(
                    conn,
                    [
                        Resigned(row.subject, Code(row.code_id, row.key_id, row.signature), code)
                        for row, code in zip(old, new, strict=True)
                    ],
                )
        done += len(old)
