"""Signing in to the console: the cookie, the forced password change, the lockout, signing
out, the idle timeout, and forms refused without their CSRF token."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

from registry_api.accounts.operations import create_national_admin
from tests.console.conftest import Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD

MOBILE = "13800000000"


@pytest.fixture
async def temporary_password(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        _, password = await create_national_admin(
            conn, mobile=MOBILE, name="国家管理员", work_unit="中华人民共和国应急管理部"
        )
    return password


async def _signed_in(new_person: Callable[[], Person], temporary: str) -> Person:
    """The national admin signed in, the forced change done."""
    person = new_person()
    await person.sign_in(MOBILE, temporary)
    changed = await person.submit(
        "/password", fields={"current_password": temporary, "new_password": GOOD_PASSWORD}
    )
    assert changed.status_code == 303, text_of(changed)
    return person


async def test_sign_in_sets_a_strict_http_only_cookie_and_forces_the_password_change(
    new_person: Callable[[], Person], temporary_password: str
) -> None:
    person = new_person()
    signed = await person.sign_in(MOBILE, temporary_password)
    assert signed.status_code == 303
    assert signed.headers["location"].startswith("/console/password")
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("sc_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags  # the public address is http here

    # Until the password is changed, every page leads to the change.
    assert (await person.get("/")).headers["location"] == "/console/password"
    page = await person.get("/password")
    assert "请先设置新密码" in page.text

    weak = await person.submit(
        "/password", fields={"current_password": temporary_password, "new_password": "short"}
    )
    assert weak.status_code == 422
    assert 'aria-invalid="true"' in weak.text
    assert "f-new_password-error" in weak.text

    changed = await person.submit(
        "/password",
        fields={"current_password": temporary_password, "new_password": GOOD_PASSWORD},
    )
    assert changed.status_code == 303
    home = await person.follow(changed)
    assert home.headers["location"] == "/console/reviews"  # a regulator starts at the queue


async def test_the_console_session_is_an_api_session(
    new_person: Callable[[], Person], temporary_password: str
) -> None:
    person = await _signed_in(new_person, temporary_password)
    token = person.client.cookies.get("sc_session")
    me = await person.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["mobile"].endswith(MOBILE[-4:])


async def test_a_wrong_password_is_named_and_the_mobile_kept(
    new_person: Callable[[], Person], temporary_password: str
) -> None:
    person = new_person()
    wrong = await person.sign_in(MOBILE, "not-the-password-1")
    assert wrong.status_code == 401
    assert "手机号或密码不正确" in text_of(wrong)
    assert f'value="{MOBILE}"' in wrong.text
    assert "not-the-password-1" not in wrong.text
    assert "sc_session" not in person.client.cookies

    malformed = await person.sign_in("12345", "")
    assert malformed.status_code == 422
    assert "f-mobile-error" in malformed.text
    assert "f-password-error" in malformed.text


async def test_after_five_failures_the_page_says_when_to_try_again(
    new_person: Callable[[], Person], temporary_password: str
) -> None:
    person = new_person()
    for _ in range(4):
        assert (await person.sign_in(MOBILE, "Wrong-Password-9")).status_code == 401
    locked = await person.sign_in(MOBILE, "Wrong-Password-9")
    assert locked.status_code == 423
    assert "账号已暂时锁定" in text_of(locked)
    assert "北京时间" in text_of(locked)
    assert 800 < int(locked.headers["retry-after"]) <= 900
    # Even the right password waits out the lock.
    assert (await person.sign_in(MOBILE, temporary_password)).status_code == 423


async def test_signing_out_ends_the_session_on_the_server(
    new_person: Callable[[], Person], temporary_password: str
) -> None:
    person = await _signed_in(new_person, temporary_password)
    token = person.client.cookies.get("sc_session")
    out = await person.submit("/password", "/sign-out")
    assert out.status_code == 303
    assert out.headers["location"].startswith("/console/sign-in")
    # The old cookie, sent again, is worth nothing: the session ended on the server.
    person.client.cookies.set("sc_session", token or "", path="/console")
    again = await person.get("/password")
    assert again.status_code == 303
    assert "expired=1" in again.headers["location"]


async def test_an_idle_session_ends_and_the_page_says_so(
    new_person: Callable[[], Person], temporary_password: str, pool: asyncpg.Pool
) -> None:
    person = await _signed_in(new_person, temporary_password)
    assert (await person.get("/password")).status_code == 200
    await pool.execute("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'")
    idle = await person.get("/password")
    assert idle.status_code == 303
    assert idle.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fpassword&expired=1"
    page = await person.follow(idle)
    assert "会话已结束" in page.text
    ended = await pool.fetchval("SELECT count(*) FROM sessions WHERE ended_at IS NULL")
    assert ended == 0


async def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    new_person: Callable[[], Person], temporary_password: str, pool: asyncpg.Pool
) -> None:
    person = await _signed_in(new_person, temporary_password)
    before = await pool.fetchval("SELECT password_hash FROM accounts")
    change = {"current_password": GOOD_PASSWORD, "new_password": "Another-Password-2027"}
    for token in (None, "0" * 64):
        data = change if token is None else {**change, "csrf": token}
        refused = await person.client.post("/console/password", data=data)
        assert refused.status_code == 403
        assert "未做任何更改" in text_of(refused)
    assert await pool.fetchval("SELECT password_hash FROM accounts") == before
    # Nor does another browser's token work here: the token is bound to this browser.
    other = new_person()
    foreign = await other.token("/sign-in")
    refused = await person.client.post("/console/password", data={**change, "csrf": foreign})
    assert refused.status_code == 403
    out = await person.client.post("/console/sign-out", data={})
    assert out.status_code == 403
    assert (await person.get("/password")).status_code == 200  # still signed in


async def test_the_language_switch_keeps_the_page(new_person: Callable[[], Person]) -> None:
    person = new_person()
    switched = await person.get("/lang", to="en", next="/console/sign-in")
    assert switched.status_code == 303
    assert switched.headers["location"] == "/console/sign-in"
    assert "Sign in" in (await person.follow(switched)).text
    elsewhere = await person.get("/lang", to="zh", next="https://evil.example/")
    assert elsewhere.headers["location"] == "/console/"
