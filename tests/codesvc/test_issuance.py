from __future__ import annotations

import asyncio

import asyncpg
import pytest

from codesvc.codes import group_code_id
from codesvc.errors import CodeStateError, InvalidArgument, NotFoundError
from codesvc.issuance import (
    CodeStatus,
    IssuedCode,
    change_code_status,
    code_history,
    find_code,
    issue_code,
    issue_codes,
)
from codesvc.keyring import KeyRing, published_keys
from codesvc.signing import verify

BASE = "https://sc.example.cn"


async def _issue(pool: asyncpg.Pool, keyring: KeyRing, subject: str) -> IssuedCode:
    async with pool.acquire() as conn:
        return await issue_code(conn, subject, keyring=keyring, province="14")


async def test_the_first_code_is_signed_by_a_first_key_and_verifies(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    issued = await _issue(pool, keyring, "enterprise:1/product:1")
    assert issued.code.code_id.startswith("14")
    assert issued.code.key_id == "01"
    assert issued.status is CodeStatus.ACTIVE
    async with pool.acquire() as conn:
        jwks = await published_keys(conn)
    assert verify(issued.code.text, jwks).genuine


async def test_issuing_is_idempotent_per_subject(pool: asyncpg.Pool, keyring: KeyRing) -> None:
    first = await _issue(pool, keyring, "e1/p1")
    again = await _issue(pool, keyring, "e1/p1")
    other = await _issue(pool, keyring, "e1/p2")
    assert again == first
    assert other.code.code_id != first.code.code_id


async def test_fifty_concurrent_calls_for_one_subject_give_one_code(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    results = await asyncio.gather(*(_issue(pool, keyring, "e7/p7") for _ in range(50)))
    assert len({r.code for r in results}) == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM codes") == 1
        assert len(await code_history(conn, results[0].code.code_id)) == 1


async def test_fifty_concurrent_subjects_give_fifty_distinct_codes(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    results = await asyncio.gather(*(_issue(pool, keyring, f"e/p{i}") for i in range(50)))
    assert len({r.code.code_id for r in results}) == 50
    assert {r.code.key_id for r in results} == {"01"}  # racing for the first key made one


async def test_a_batch_issues_many_in_one_call_and_keeps_existing_codes(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    existing = await _issue(pool, keyring, "batch/0")
    subjects = [f"batch/{i}" for i in range(300)]
    async with pool.acquire() as conn:
        issued = await issue_codes(conn, [*subjects, "batch/5"], keyring=keyring, province="14")
    assert list(issued) == subjects
    assert issued["batch/0"] == existing
    assert len({i.code.code_id for i in issued.values()}) == 300


async def test_a_batch_rolled_back_by_its_caller_leaves_nothing(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    async with pool.acquire() as conn:

        async def approve_then_fail() -> None:
            async with conn.transaction():
                await issue_codes(conn, ["a", "b"], keyring=keyring, province="14")
                raise RuntimeError("caller failed")

        with pytest.raises(RuntimeError, match="caller failed"):
            await approve_then_fail()
        assert await conn.fetchval("SELECT count(*) FROM codes") == 0


@pytest.mark.parametrize(
    ("subject", "province"),
    [("", "14"), ("   ", "14"), ("x" * 201, "14"), ("tab\there", "14"), ("ok", "99"), ("ok", "")],
)
async def test_bad_arguments_are_refused_before_anything_is_written(
    pool: asyncpg.Pool, keyring: KeyRing, subject: str, province: str
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(InvalidArgument):
            await issue_code(conn, subject, keyring=keyring, province=province)
        with pytest.raises(InvalidArgument):
            await issue_codes(conn, [None], keyring=keyring, province="14")  # type: ignore[list-item]
        assert await conn.fetchval("SELECT count(*) FROM codes") == 0


async def test_status_changes_are_kept_with_reason_actor_and_time(
    pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    code_id = (await _issue(pool, keyring, "s/1")).code.code_id
    async with pool.acquire() as conn:
        suspended = await change_code_status(
            conn,
            code_id,
            CodeStatus.SUSPENDED,
            reason="label under review",
            actor="reviewer:7",
            public_base_url=BASE,
        )
        assert suspended.status is CodeStatus.SUSPENDED
        await change_code_status(
            conn, code_id, CodeStatus.ACTIVE, reason="cleared", actor="r:7", public_base_url=BASE
        )
        await change_code_status(
            conn, code_id, CodeStatus.REVOKED, reason="closed", actor="r:8", public_base_url=BASE
        )
        with pytest.raises(CodeStateError, match="is revoked; it cannot become active"):
            await change_code_status(
                conn, code_id, CodeStatus.ACTIVE, reason="oops", actor="r:8", public_base_url=BASE
            )
        with pytest.raises(InvalidArgument):
            await change_code_status(
                conn, code_id, CodeStatus.REVOKED, reason=" ", actor="r:8", public_base_url=BASE
            )
        history = await code_history(conn, code_id)
        assert (await find_code(conn, code_id)).status is CodeStatus.REVOKED
    assert [(h.from_status, h.to_status, h.reason, h.actor) for h in history] == [
        (None, "active", "issued", "system"),
        ("active", "suspended", "label under review", "reviewer:7"),
        ("suspended", "active", "cleared", "r:7"),
        ("active", "revoked", "closed", "r:8"),
    ]
    assert history[0].changed_at <= history[-1].changed_at


async def test_a_status_change_of_an_unknown_code_is_not_found(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(NotFoundError):
            await change_code_status(
                conn,
                "14ABCDEFGHJKMNPQ",
                CodeStatus.REVOKED,
                reason="x",
                actor="y",
                public_base_url=BASE,
            )


@pytest.mark.parametrize("code_id", [None, 42, "", "not-a-code", "99ABCDEFGHJKMNPQ"])
async def test_junk_code_ids_give_the_typed_error(pool: asyncpg.Pool, code_id: object) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(InvalidArgument):
            await find_code(conn, code_id)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await code_history(conn, code_id)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await change_code_status(
                conn,
                code_id,  # type: ignore[arg-type]
                CodeStatus.REVOKED,
                reason="x",
                actor="y",
                public_base_url=BASE,
            )


async def test_a_typed_code_id_finds_its_code(pool: asyncpg.Pool, keyring: KeyRing) -> None:
    issued = await _issue(pool, keyring, "typed/1")
    typed = group_code_id(issued.code.code_id).lower().replace("0", "o")
    async with pool.acquire() as conn:
        assert await find_code(conn, typed) == issued
        with pytest.raises(InvalidArgument, match="status must be one of"):
            await change_code_status(
                conn,
                typed,
                "gone",  # type: ignore[arg-type]
                reason="x",
                actor="y",
                public_base_url=BASE,
            )
