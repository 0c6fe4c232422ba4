from __future__ import annotations

import os

import asyncpg
import pytest

from codesvc.errors import InvalidArgument, KeyStateError, NotFoundError
from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing, published_keys
from codesvc.signing import KeySealError, verify
from codesvc.storage import Connection


async def _issue(conn: Connection, keyring: KeyRing, subject: str) -> str:
    return (await issue_code(conn, subject, keyring=keyring, province="14")).code.text


async def _statuses(conn: Connection) -> dict[str, str]:
    return {k["kid"]: k["status"] for k in (await published_keys(conn))["keys"]}


async def test_rotation_signs_new_codes_with_a_new_key_and_old_codes_stay_genuine(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    async with pool.acquire() as conn:
        old = await _issue(conn, keyring, "a")
        rotated = await keyring.rotate(conn)
        new = await _issue(conn, keyring, "b")
        jwks = await published_keys(conn)
        assert await _statuses(conn) == {"01": "retired", "02": "active"}
    assert rotated.key_id == "02"
    assert new[16:18] == "02"
    assert verify(old, jwks).genuine
    assert verify(new, jwks).genuine


async def test_retire_names_the_active_key_and_refuses_others(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    async with pool.acquire() as conn:
        await _issue(conn, keyring, "a")
        replacement = await keyring.retire(conn, "01")
        assert replacement.key_id == "02"
        with pytest.raises(KeyStateError, match="key 01 is retired, not active"):
            await keyring.retire(conn, "01")
        for junk in ("ZZ", "", "0123", None, 7):
            with pytest.raises(NotFoundError):
                await keyring.retire(conn, junk)  # type: ignore[arg-type]
            with pytest.raises(NotFoundError):
                await keyring.revoke(conn, junk, "reason")  # type: ignore[arg-type]


async def test_a_revoked_keys_codes_stop_verifying_and_a_new_key_signs(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    async with pool.acquire() as conn:
        leaked = await _issue(conn, keyring, "a")
        with pytest.raises(InvalidArgument):
            await keyring.revoke(conn, "01", "  ")
        assert await keyring.revoke(conn, "01", "key file leaked") == 1
        after = await _issue(conn, keyring, "b")
        jwks = await published_keys(conn)
        assert await _statuses(conn) == {"01": "revoked", "02": "active"}
        with pytest.raises(KeyStateError, match="already revoked"):
            await keyring.revoke(conn, "01", "again")
        rows = await keyring.keys(conn)
    assert not verify(leaked, jwks).genuine
    assert verify(after, jwks).genuine
    assert rows[0].revoked_reason == "key file leaked"


async def test_a_wrong_master_key_cannot_sign_with_stored_keys(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await _issue(conn, KeyRing(os.urandom(32)), "a")
        with pytest.raises(KeySealError, match="SAFECODE_MASTER_KEY"):
            await _issue(conn, KeyRing(os.urandom(32)), "b")
