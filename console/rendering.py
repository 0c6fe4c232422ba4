"""The console's pages: the template environment, the language, and the response every
handler returns (with the CSRF anchor and the headers a signed-in page needs).

Templates are bilingual at the source, as the public site's are: `tr('中文', 'English')`
picks the reader's language. The look is the public site's stylesheet plus the console's
own rules, both inlined (one round trip, nothing from another host).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console import csrf
from public_site.pages import TEMPLATES_DIR as PUBLIC_TEMPLATES_DIR
from public_site.pages import Lang, localized, negotiate_lang, other_lang

PREFIX = "/console"
TEMPLATES_DIR = Path(__file__).parent / "templates"
LANG_COOKIE = "sc_lang"
# Regulators and enterprises read times in Beijing time; the database keeps UTC.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")

environment = Environment(
    loader=ChoiceLoader([FileSystemLoader(TEMPLATES_DIR), FileSystemLoader(PUBLIC_TEMPLATES_DIR)]),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(value: datetime | None) -> str:
    """A timestamp as people here read it: Beijing time, to the minute."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


environment.filters["local_time"] = local_time
environment.filters["day"] = _day
environment.filters["localized"] = localized
environment.filters["urlquote"] = lambda value: quote(str(value), safe="")


def lang_of(request: Request) -> Lang:
    """The reader's language: the switch's cookie, else Accept-Language, else Chinese."""
    chosen = request.cookies.get(LANG_COOKIE)
    return negotiate_lang(chosen, request.headers.get("accept-language"))


def tr(lang: Lang, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def csrf_key(request: Request) -> bytes:
    key: bytes = request.app.state.csrf_key
    return key


# Where a request keeps the anchor its response sets: in the scope, which is the request's
# own (`request.state` may be the lifespan's state, shared by every request).
_ANCHOR_SCOPE_KEY = "safecode.csrf_anchor"


def csrf_anchor(request: Request) -> str:
    """This browser's CSRF anchor: its cookie's, or a new one the response will set."""
    anchor = request.scope.get(_ANCHOR_SCOPE_KEY) or request.cookies.get(csrf.ANCHOR_COOKIE)
    if not anchor:
        anchor = csrf.new_anchor()
    request.scope[_ANCHOR_SCOPE_KEY] = anchor
    return str(anchor)


def renew_csrf_anchor(request: Request) -> None:
    """A new anchor for this browser, set by the response (on sign-in)."""
    request.scope[_ANCHOR_SCOPE_KEY] = csrf.new_anchor()


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure when the public address is https (behind a TLS proxy the app
    itself may see plain http)."""
    secure: bool = request.app.state.secure_cookies
    return secure


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def _with_anchor(request: Request, response: Response) -> Response:
    anchor = request.scope.get(_ANCHOR_SCOPE_KEY)
    if anchor and anchor != request.cookies.get(csrf.ANCHOR_COOKIE):
        set_cookie(request, response, csrf.ANCHOR_COOKIE, anchor)
    return response


def render(request: Request, template: str, context: Mapping[str, Any]) -> str:
    lang = lang_of(request)
    anchor = csrf_anchor(request)
    values: dict[str, Any] = {
        "lang": lang,
        "other": other_lang(lang),
        "tr": lambda zh, en: tr(lang, zh, en),
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.form_token(csrf_key(request), anchor),
        "path": request.url.path,
        "here": _here(request),
        "prefix": PREFIX,
        "actor": None,  # the signed-in actor, when the handler has one
        "errors": {},  # field path -> message, for a form shown again
        "values": {},  # what was typed, for a form shown again
        "notice": _notice(request),
    }
    values.update(context)
    return environment.get_template(template).render(values)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page. Pages are never cached: they show one person's work."""
    response = HTMLResponse(
        render(request, template, context),
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
    _with_anchor(request, response)
    return response


def see_other(request: Request, path: str, *, done: str | None = None) -> RedirectResponse:
    """The redirect after a successful POST (Post/Redirect/Get); `done` names the notice the
    next page shows (a key of `NOTICES`)."""
    target = (
        path if done is None else f"{path}{'&' if '?' in path else '?'}{urlencode({'done': done})}"
    )
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    _with_anchor(request, response)
    return response


def _here(request: Request) -> str:
    """The page's own address, for the language switch and sign-in to come back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(target: str | None) -> str:
    """Where to go after sign-in or a language switch: only a console path of this site."""
    if target and target.startswith(PREFIX + "/") and "//" not in target and "\\" not in target:
        return target
    return PREFIX + "/"


# What a page says after a successful POST redirected to it (?done=...).
NOTICES: dict[str, tuple[str, str]] = {
    "signed_in": ("已登录。", "Signed in."),
    "signed_out": ("已退出登录。", "Signed out."),
    "password_changed": ("密码已修改。", "Password changed."),
    "saved": ("已保存。", "Saved."),
    "submitted": ("已提交审核。", "Submitted for review."),
    "approved": ("已通过。", "Approved."),
    "rejected": ("已驳回。", "Rejected."),
    "applied": ("申请已提交。", "Application submitted."),
    "created": ("已创建。", "Created."),
    "disabled": ("已停用。", "Disabled."),
    "suspended": ("安全码已暂停。", "Code suspended."),
    "reinstated": ("安全码已恢复。", "Code reinstated."),
    "password_reset": ("已重置密码。", "Password reset."),
    "revision_created": ("已创建新版本草稿。", "A new draft revision was created."),
    "filed": ("已提交申报，等待审核。", "Filed; it now waits for review."),
    "decided_elsewhere": ("其他审核人员已先作出决定。", "Someone else decided first."),
}


# The audit log's actions (what `registry_api` passes to `append_audit`), as people name them.
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "account.create": ("创建账号", "Account created"),
    "account.disable": ("停用账号", "Account disabled"),
    "account.password_change": ("修改密码", "Password changed"),
    "account.password_reset": ("重置密码", "Password reset"),
    "account.sign_in": ("登录", "Signed in"),
    "account.sign_in_failed": ("登录失败", "Sign-in failed"),
    "account.sign_in_refused": ("拒绝登录（账号锁定）", "Sign-in refused (locked)"),
    "account.sign_out": ("退出登录", "Signed out"),
    "certificate.issue": ("颁发登记证", "Certificate issued"),
    "code.reinstate": ("恢复安全码", "Code reinstated"),
    "code.suspend": ("暂停安全码", "Code suspended"),
    "batch.declare": ("申报批次", "Batch declared"),
    "batch.issue_items": ("生成一物一码序列号", "Serials issued"),
    "batch.recall": ("召回批次", "Batch recalled"),
    "batch.recall_end": ("结束批次召回", "Batch recall ended"),
    "enterprise.create": ("建立企业档案", "Enterprise created"),
    "enterprise.deregister": ("企业注销", "Enterprise deregistered"),
    "enterprise.update": ("更新企业信息", "Enterprise record updated"),
    "enterprise_application.approve": ("批准企业账号申请", "Account application approved"),
    "enterprise_application.create": ("提交企业账号申请", "Account application filed"),
    "enterprise_application.reject": ("驳回企业账号申请", "Account application rejected"),
    "jurisdiction.create": ("新增辖区或化工园区", "Unit or park added"),
    "notice.publish": ("发布通知公告", "Notice published"),
    "product.create": ("新增产品", "Product added"),
    "product.update": ("修改产品信息", "Product details changed"),
    "revision.create": ("新建版本草稿", "Revision drafted"),
    "revision.update": ("修改版本草稿", "Draft revision edited"),
    "signing_key.resign_codes": ("更换签名密钥重签安全码", "Codes re-signed with a new key"),
    "signing_key.revoke": ("撤销签名密钥", "Signing key revoked"),
    "submission.approve": ("审核通过", "Submission approved"),
    "submission.deregistration": ("提交注销申报", "Deregistration filed"),
    "submission.info_update": ("提交信息变更申报", "Information update filed"),
    "submission.registration": ("提交登记申报", "Registration filed"),
    "submission.reject": ("审核驳回", "Submission rejected"),
}


def audit_action_name(action: str, lang: Lang) -> str:
    """An audit entry's action in the reader's language; an action not named here as it is
    recorded."""
    names = AUDIT_ACTIONS.get(action)
    return action if names is None else tr(lang, *names)


def _notice(request: Request) -> str | None:
    texts = NOTICES.get(request.query_params.get("done", ""))
    if texts is None:
        return None
    return texts[0] if lang_of(request) == "zh" else texts[1]
