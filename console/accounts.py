"""Pages of accounts: the console's front door, sign-in and sign-out, the password, the
language switch. Regulators' account administration is in `staff.py`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.forms import checked, field_errors, posted
from console.navigation import connection
from console.rendering import (
    LANG_COOKIE,
    PREFIX,
    lang_of,
    local_time,
    page,
    renew_csrf_anchor,
    safe_next,
    see_other,
    set_cookie,
    tr,
)
from console.sessions import forget_session, keep_session, maybe_signed_in, session_token, signed_in
from registry_api.accounts import operations
from registry_api.accounts.forms import LoginForm, PasswordChangeForm
from registry_api.errors import Locked, TooManyRequests, Unauthenticated, ValidationFailed
from registry_api.requests import limiter

LANG_COOKIE_SECONDS = 365 * 24 * 3600


async def front_door(request: Request) -> Response:
    """`/console/`: a signed-in person's own start page; anyone else the ways in."""
    async with connection(request) as conn:
        actor = await maybe_signed_in(request, conn)
    if actor is None:
        return page(request, "welcome.html")
    if actor.account.must_change_password:
        return see_other(request, f"{PREFIX}/password")
    start = f"{PREFIX}/enterprise" if actor.account.kind == "enterprise" else f"{PREFIX}/reviews"
    return see_other(request, start)


async def sign_in_form(request: Request) -> Response:
    return page(
        request,
        "sign_in.html",
        next=safe_next(request.query_params.get("next")),
        expired=request.query_params.get("expired") == "1",
        message=None,
    )


async def sign_in(request: Request) -> Response:
    form = await posted(request)
    target = safe_next(form.get("next"))
    lang = lang_of(request)
    try:
        login = checked(LoginForm, {"mobile": form.get("mobile"), "password": form.get("password")})
        async with connection(request) as conn:
            session = await operations.sign_in(conn, login.mobile, login.password, limiter(request))
    except ValidationFailed as exc:
        return _sign_in_again(
            request, form.values(), target, 422, None, field_errors(request, exc.fields)
        )
    except Unauthenticated:
        message = tr(lang, "手机号或密码不正确。", "The mobile number or password is wrong.")
        return _sign_in_again(request, form.values(), target, 401, message)
    except Locked as exc:
        until = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
        minutes = (exc.retry_after + 59) // 60
        message = tr(
            lang,
            f"登录失败次数过多，账号已暂时锁定。请于 {local_time(until)}"
            f"（北京时间，约 {minutes} 分钟后）再试。",
            f"Too many failed sign-ins: the account is locked. Try again after {local_time(until)} "
            f"Beijing time (in about {minutes} minute(s)).",
        )
        return _sign_in_again(
            request, form.values(), target, 423, message, retry_after=exc.retry_after
        )
    except TooManyRequests as exc:
        message = tr(
            lang,
            f"登录尝试过于频繁，请 {exc.retry_after} 秒后再试。",
            f"Too many sign-in attempts; try again in {exc.retry_after} seconds.",
        )
        return _sign_in_again(
            request, form.values(), target, 429, message, retry_after=exc.retry_after
        )
    destination = f"{PREFIX}/password" if session.account.must_change_password else target
    # A new CSRF anchor with the session: a form token seen before sign-in is worth nothing.
    renew_csrf_anchor(request)
    response = see_other(request, destination, done="signed_in")
    keep_session(request, response, session.token)
    return response


def _sign_in_again(
    request: Request,
    values: dict[str, str],
    target: str,
    status: int,
    message: str | None,
    errors: dict[str, str] | None = None,
    retry_after: int | None = None,
) -> Response:
    values.pop("password", None)
    response = page(
        request,
        "sign_in.html",
        status=status,
        next=target,
        expired=False,
        message=message,
        errors=errors or {},
        values=values,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def sign_out(request: Request) -> Response:
    await posted(request)
    token = session_token(request)
    if token is not None:
        async with connection(request) as conn:
            actor = await maybe_signed_in(request, conn)
            if actor is not None:
                await operations.sign_out(conn, actor, token)
    response = see_other(request, f"{PREFIX}/sign-in", done="signed_out")
    forget_session(request, response)
    return response


async def password_form(request: Request) -> Response:
    async with connection(request) as conn:
        actor = await signed_in(request, conn, changing_password=True)
    return page(
        request,
        "password.html",
        actor=actor,
        forced=actor.account.must_change_password,
        message=None,
    )


async def change_password(request: Request) -> Response:
    form = await posted(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn, changing_password=True)
        try:
            change = checked(
                PasswordChangeForm,
                {
                    "current_password": form.get("current_password"),
                    "new_password": form.get("new_password"),
                },
            )
            await operations.change_password(
                conn, actor, change.current_password, change.new_password
            )
        except ValidationFailed as exc:
            return page(
                request,
                "password.html",
                status=422,
                actor=actor,
                forced=actor.account.must_change_password,
                message=None,
                errors=field_errors(request, exc.fields),
            )
    return see_other(request, f"{PREFIX}/", done="password_changed")


async def switch_language(request: Request) -> Response:
    chosen = request.query_params.get("to")
    response = see_other(request, safe_next(request.query_params.get("next")))
    if chosen in ("zh", "en"):
        set_cookie(request, response, LANG_COOKIE, chosen, max_age=LANG_COOKIE_SECONDS)
    return response


ROUTES = [
    Route(f"{PREFIX}/", front_door, methods=["GET"]),
    Route(f"{PREFIX}/sign-in", sign_in_form, methods=["GET"]),
    Route(f"{PREFIX}/sign-in", sign_in, methods=["POST"]),
    Route(f"{PREFIX}/sign-out", sign_out, methods=["POST"]),
    Route(f"{PREFIX}/password", password_form, methods=["GET"]),
    Route(f"{PREFIX}/password", change_password, methods=["POST"]),
    Route(f"{PREFIX}/lang", switch_language, methods=["GET"]),
]
