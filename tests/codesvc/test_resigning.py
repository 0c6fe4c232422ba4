"""Re-signing a revoked key's codes: resumable, never twice, the old signature kept, and the
published pages rendered again with the new code."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from codesvc.codes import Code, parse_code
from codesvc.keyring import KeyRing, published_keys
from codesvc.resigning import Resigned, codes_left_to_resign, resign_revoked_codes
from codesvc.signing import verify
from codesvc.storage import Connection, fetch_code, fetch_superseded_signatures
from tests.codesvc.conftest import BASE, World


class CutShort(Exception):
    """Stands for a crash between two batches."""


async def _publish(world: World, count: int) -> list[str]:
    return [await world.publish(f"e/p{n}") for n in range(count)]


async def test_a_run_cut_short_is_resumed_and_no_code_is_left_or_signed_twice(
    world: World, keyring: KeyRing
) -> None:
    old = await _publish(world, 5)
    async with world.pool.acquire() as conn:
        await keyring.revoke(conn, "01", "leaked")
        assert await codes_left_to_resign(conn) == 5

        batches: list[list[Resigned]] = []

        async def crash_on_second(_conn: Connection, resigned: list[Resigned]) -> None:
            batches.append(resigned)
            if len(batches) == 2:
                raise CutShort

        with pytest.raises(CutShort):
            await resign_revoked_codes(
                conn, keyring, public_base_url=BASE, on_batch=crash_on_second, batch=2
            )
        # The first batch stands; the second rolled back whole.
        assert await codes_left_to_resign(conn) == 3
        assert await resign_revoked_codes(conn, keyring, public_base_url=BASE, batch=2) == 3
        assert await codes_left_to_resign(conn) == 0
        assert await resign_revoked_codes(conn, keyring, public_base_url=BASE) == 0

        keys = await published_keys(conn)
        for text in old:
            code = parse_code(text)
            current = await fetch_code(conn, code.code_id)
            assert current is not None
            assert current.key_id == "02"
            superseded = await fetch_superseded_signatures(conn, code.code_id)
            assert [(s.key_id, s.signature, s.replaced_by) for s in superseded] == [
                ("01", code.signature, "02")
            ]
            assert not verify(code, keys).genuine  # the old one: key 01 is revoked
        rows = await conn.fetch("SELECT code_id, key_id, signature FROM codes")
    assert len(rows) == 5
    assert all(verify(Code(r["code_id"], r["key_id"], r["signature"]), keys).genuine for r in rows)


async def test_two_runs_at_once_share_the_codes_between_them(
    world: World, keyring: KeyRing, pool: asyncpg.Pool
) -> None:
    await _publish(world, 6)
    async with pool.acquire() as conn:
        await keyring.revoke(conn, "01", "leaked")

    async def run() -> int:
        async with pool.acquire() as conn:
            return await resign_revoked_codes(conn, keyring, public_base_url=BASE, batch=1)

    assert sum(await asyncio.gather(run(), run(), run())) == 6
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM superseded_signatures") == 6
        assert await codes_left_to_resign(conn) == 0


async def test_the_published_pages_carry_the_new_code(world: World, keyring: KeyRing) -> None:
    old = parse_code((await _publish(world, 1))[0])
    async with world.pool.acquire() as conn:
        await keyring.revoke(conn, "01", "leaked")
        await resign_revoked_codes(conn, keyring, public_base_url=BASE)
        linkset = await conn.fetchval(
            "SELECT body FROM published_variants WHERE code_id = $1 AND name = 'linkset'",
            old.code_id,
        )
        current = await fetch_code(conn, old.code_id)
    assert current is not None
    new_text = Code(old.code_id, current.key_id, current.signature).text
    assert f"/C/{new_text}".encode() in linkset
    assert f"/C/{old.text}".encode() not in linkset
