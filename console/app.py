"""The console's ASGI app: its routes under /console/, and every failure turned into a page.

Served by the registry unit and by `safecode run` beside the JSON API, sharing their
connections (`request.state.resources`); run alone (tests), its own lifespan opens them.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from codesvc.bodylimit import BodyLimitMiddleware
from codesvc.keyring import KeyRing
from codesvc.requestlog import RequestLogMiddleware, request_id_var
from codesvc.securityheaders import SecurityHeadersMiddleware, security_headers
from codesvc.service import UNREACHABLE_ERRORS, ServiceConfig, resources_lifespan
from console import (
    accounts,
    batches,
    csrf,
    enterprises,
    jurisdictions,
    lifecycle,
    notices,
    products,
    receipts,
    reviews,
    search,
    staff,
)
from console.errors import BadForm, CsrfRefused, SignInNeeded
from console.rendering import PREFIX, environment, lang_of, page, see_other, tr
from console.sessions import forget_session
from registry_api.accounts.rules import PersonalDataCipher
from registry_api.app import MAX_BODY_BYTES, InternalErrorMiddleware
from registry_api.errors import (
    Forbidden,
    NotFound,
    PasswordChangeRequired,
    RegistryError,
    RetryLater,
)
from registry_api.products.codes import CodeDesk

_log = logging.getLogger(__name__)
# Our own stylesheet inline and our own scripts only; images of our own (QR, pictograms)
# and inline SVG; forms post only here; never framed; frames only of our own (the revision
# editor's sandboxed scan preview).
CONSOLE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'self'; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


def content_security_policy(public_base_url: str) -> str:
    """The console's policy, letting a form's redirect reach the public site (the label PDF
    by package capacity is a GET form answered by a 303 there; browsers check form-action
    on every redirect of a form's navigation)."""
    origin = "/".join(public_base_url.split("/", 3)[:3])
    return CONSOLE_CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )


def create_app(config: ServiceConfig) -> Starlette:
    if config.master_key is None:
        raise ValueError("the console needs the master key: it seals personal data")
    app = Starlette(
        routes=[
            *accounts.ROUTES,
            *enterprises.ROUTES,
            *products.ROUTES,
            *reviews.ROUTES,
            *jurisdictions.ROUTES,
            *search.ROUTES,
            *staff.ROUTES,
            *lifecycle.ROUTES,
            *receipts.ROUTES,
            *batches.ROUTES,
            *notices.ROUTES,
        ],
        middleware=[
            Middleware(
                SecurityHeadersMiddleware,
                headers=security_headers(
                    content_security_policy(config.public_base_url),
                    https=config.public_base_url.startswith("https://"),
                ),
            ),
            Middleware(RequestLogMiddleware),
            Middleware(InternalErrorMiddleware, answer=_server_error_page),
            Middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES, too_large=_too_large),
        ],
        exception_handlers={
            SignInNeeded: _sign_in_needed,
            PasswordChangeRequired: _password_change_required,
            CsrfRefused: _csrf_refused,
            BadForm: _bad_form,
            RegistryError: _registry_error,
            HTTPException: _http_error,
            **dict.fromkeys(UNREACHABLE_ERRORS, _unavailable),
        },
        lifespan=resources_lifespan(config),
    )
    app.state.cipher = PersonalDataCipher(config.master_key)
    app.state.code_desk = CodeDesk(
        KeyRing(config.master_key), config.public_base_url, config.province
    )
    app.state.csrf_key = csrf.key_from_master(config.master_key)
    app.state.secure_cookies = config.public_base_url.startswith("https://")
    app.state.idle_timeout = timedelta(minutes=config.console_idle_minutes)
    app.state.public_base_url = config.public_base_url
    return app


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return page(request, "error.html", status=status, title=title, message=message)


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    query = {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
    if request.method != "GET":  # what was posted is lost: come back to the page, not the POST
        query["next"] = request.headers.get("referer") or PREFIX + "/"
    if exc.expired:
        query["expired"] = "1"
    response = see_other(request, f"{PREFIX}/sign-in?{urlencode(query)}")
    forget_session(request, response)
    return response


async def _password_change_required(request: Request, _exc: Exception) -> Response:
    return see_other(request, f"{PREFIX}/password")


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    lang = lang_of(request)
    return error_page(
        request,
        403,
        tr(lang, "表单已失效", "The form has expired"),
        tr(
            lang,
            "此表单缺少有效的安全令牌，未做任何更改。请返回，刷新页面后重新提交。",
            "This form did not carry a valid security token, so nothing was changed. "
            "Go back, reload the page and send it again.",
        ),
    )


async def _bad_form(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadForm)
    lang = lang_of(request)
    return error_page(
        request, exc.status, tr(lang, "无法处理的请求", "Request not accepted"), exc.message
    )


_TITLES: dict[int, tuple[str, str]] = {
    400: ("请求有误", "Bad request"),
    403: ("无权操作", "Not allowed"),
    404: ("页面不存在", "Page not found"),
    405: ("不支持的请求方式", "Method not allowed"),
    409: ("操作冲突", "Conflict"),
    412: ("记录已被修改", "Changed by someone else"),
    413: ("请求过大", "Request too large"),
    422: ("填写有误", "Not valid"),
    423: ("账号已锁定", "Locked"),
    429: ("请求过于频繁", "Too many requests"),
    500: ("服务出错", "Something went wrong"),
    503: ("服务暂不可用", "Service unavailable"),
}


def _title(request: Request, status: int) -> str:
    zh, en = _TITLES.get(status, _TITLES[500 if status >= 500 else 400])
    return tr(lang_of(request), zh, en)


async def _registry_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    lang = lang_of(request)
    message = exc.message
    if isinstance(exc, NotFound):  # absent or out of scope: alike, as in the API
        message = tr(
            lang,
            "没有这个页面，或您无权查看。",
            "There is no such page, or it is not yours to see.",
        )
    elif isinstance(exc, Forbidden):
        message = (
            tr(lang, "您的账号不能执行此操作：", "Your account may not do this: ") + exc.message
        )
    response = error_page(request, exc.status, _title(request, exc.status), message)
    if isinstance(exc, RetryLater):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    lang = lang_of(request)
    message = {
        404: tr(lang, "没有这个页面。", "There is no such page."),
        405: tr(lang, "此页面不接受这种请求。", "This page does not accept that kind of request."),
        413: tr(lang, "提交的内容过大。", "What was sent is too large."),
    }.get(exc.status_code, str(exc.detail))
    return error_page(request, exc.status_code, _title(request, exc.status_code), message)


def _too_large(request: Request) -> Response:
    return error_page(
        request,
        413,
        _title(request, 413),
        tr(lang_of(request), "提交的内容过大。", "What was sent is too large."),
    )


async def _unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("a backing service is unreachable", extra={"fields": {"error": str(exc)[:200]}})
    response = error_page(
        request,
        503,
        _title(request, 503),
        tr(
            lang_of(request),
            "暂时无法连接数据库，请稍后再试。",
            "The database cannot be reached; try again shortly.",
        ),
    )
    response.headers["Retry-After"] = "5"
    return response


def _server_error_page() -> Response:
    """The 500 page, quoting the request id. Built without the request (the middleware that
    calls it has only the scope): in both languages."""
    request_id = request_id_var.get() or "-"
    html = render_static_error(
        500,
        "服务出错 · Something went wrong",
        f"处理此请求时出错。报告时请提供请求编号 {request_id}。 "
        f"The console failed on this request; quote request id {request_id} when reporting it.",
    )
    return HTMLResponse(html, status_code=500, headers={"Cache-Control": "no-store"})


def render_static_error(status: int, title: str, message: str) -> str:
    return environment.get_template("error_plain.html").render(
        status=status, title=title, message=message
    )
