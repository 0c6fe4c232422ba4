"""Rendering of the public site's pages: pure functions from data to HTML text.

Every page is bilingual at the source (Chinese first); `lang` picks which one is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Where anyone can fetch the public keys that verify a code offline (served by codesvc).
KEYS_URL = "/.well-known/safecode-keys.json"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def other_lang(lang: Lang) -> Lang:
    """The language the switch on a page offers."""
    return "en" if lang == "zh" else "zh"


def localized(value: object, lang: Lang) -> str:
    """A bilingual text (`{"zh": ..., "en": ...}`) in `lang`, falling back to Chinese;
    plain strings as they are."""
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("zh") or "")
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class ErrorText:
    title: dict[Lang, str]
    message: dict[Lang, str]


# What a person who scanned or typed something sees when it goes wrong.
_ERROR_TEXTS: dict[int, ErrorText] = {
    400: ErrorText(
        {"zh": "无法识别的请求", "en": "Request not understood"},
        {
            "zh": "地址或参数有误，请重新扫码或检查输入。",
            "en": "The address or its parameters are wrong. Scan again or check what you typed.",
        },
    ),
    404: ErrorText(
        {"zh": "页面不存在", "en": "Page not found"},
        {
            "zh": "没有这个页面。请从首页输入安全码，或重新扫码。",
            "en": "There is no such page. Enter the code on the home page, or scan again.",
        },
    ),
    405: ErrorText(
        {"zh": "不支持的请求方式", "en": "Method not allowed"},
        {"zh": "此页面不支持该请求方式。", "en": "This page does not accept that kind of request."},
    ),
    413: ErrorText(
        {"zh": "请求过大", "en": "Request too large"},
        {"zh": "请求内容超出允许的大小。", "en": "The request is larger than this page accepts."},
    ),
    429: ErrorText(
        {"zh": "查询过于频繁", "en": "Too many lookups"},
        {
            "zh": "一分钟内从此网络地址输入查询的次数过多。扫描包装上的二维码不受此限制。",
            "en": (
                "Too many codes were typed in from this network address in the last minute."
                " Scanning the QR code on the packaging is not limited."
            ),
        },
    ),
    500: ErrorText(
        {"zh": "服务出错", "en": "Something went wrong"},
        {
            "zh": "服务暂时出错，请稍后再试。",
            "en": "The service failed on this request. Please try again shortly.",
        },
    ),
    503: ErrorText(
        {"zh": "服务暂不可用", "en": "Service unavailable"},
        {
            "zh": "安全信息暂时无法获取，请稍后再试。紧急情况请拨打 119 或 120。",
            "en": (
                "Safety data cannot be fetched right now; try again shortly. "
                "In an emergency call 119 or 120."
            ),
        },
    ),
}


def render_error_page(
    status: int, lang: Lang = "zh", detail: str | None = None, *, typed: str | None = None
) -> str:
    """The page for an HTTP error status; statuses without their own text use the nearest.
    `typed`: what the reader typed into the code form, kept in the form and across the
    language switch so it need not be typed again."""
    text = _ERROR_TEXTS.get(status) or _ERROR_TEXTS[500 if status >= 500 else 400]
    return environment.get_template("error.html").render(
        lang=lang,
        other=other_lang(lang),
        status=status,
        title=text.title[lang],
        message=text.message[lang],
        detail=detail,
        typed=typed,
    )


def render_home_page(lang: Lang = "zh", *, api_url: str, scan_url_prefix: str | None = None) -> str:
    """The home page: code entry, how to verify a code, the public keys. `scan_url_prefix`
    (`https://host/C/`) is what a genuine QR's address starts with, shown to readers."""
    return environment.get_template("home.html").render(
        lang=lang,
        other=other_lang(lang),
        api_url=api_url,
        scan_url_prefix=scan_url_prefix,
        keys_url=KEYS_URL,
    )


def negotiate_lang(query_lang: str | None, accept_language: str | None) -> Lang:
    """`?lang=` when it names a language we have, else the first of Accept-Language we have.

    Chinese is the default: the labels are approved in Chinese first.
    """
    if query_lang in LANGS:
        return query_lang
    ranked: list[tuple[float, int, Lang]] = []
    for position, item in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        quality = 1.0
        param = params.strip()
        if param.startswith("q="):
            try:
                quality = float(param[2:])
            except ValueError:
                continue
        if 0 < quality <= 1:  # also drops nan
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else "zh"
