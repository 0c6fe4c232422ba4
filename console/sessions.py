"""Sessions for people: the API's own session token, kept in a cookie.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
it) and Secure when the public address is https. The session behind it is the same row an
API token is, with an idle timeout on top: a console session unused for
`CONSOLE_IDLE_MINUTES` has ended.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from codesvc.storage import Connection
from console.errors import SignInNeeded
from console.rendering import PREFIX, secure_cookies, set_cookie
from registry_api.accounts import operations
from registry_api.errors import Unauthenticated

SESSION_COOKIE = "sc_session"


def idle_timeout(request: Request) -> timedelta:
    timeout: timedelta = request.app.state.idle_timeout
    return timeout


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


async def signed_in(
    request: Request, conn: Connection, *, changing_password: bool = False
) -> operations.Actor:
    """The person signed in on this browser; `SignInNeeded` without a live session, and the
    registry's `PasswordChangeRequired` while a forced change is pending (unless
    `changing_password`)."""
    token = session_token(request)
    if token is None:
        raise SignInNeeded(expired=False)
    try:
        return await operations.authenticate(
            conn, token, changing_password=changing_password, idle_timeout=idle_timeout(request)
        )
    except Unauthenticated:
        raise SignInNeeded(expired=True) from None


async def maybe_signed_in(request: Request, conn: Connection) -> operations.Actor | None:
    """The person signed in, or None: for public pages that greet a signed-in reader."""
    try:
        return await signed_in(request, conn, changing_password=True)
    except SignInNeeded:
        return None


def keep_session(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token)


def forget_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
