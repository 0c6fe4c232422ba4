"""Posted forms: read, CSRF-checked, and turned into the registry's own request bodies.

A console form is `application/x-www-form-urlencoded`; its fields are named by the paths
the registry's errors use (`name_zh`, `sds.supplier.phone`), so a `ValidationFailed` from
the same validation the JSON API runs shows each message beside its input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.requests import Request

from console import csrf
from console.errors import BadForm, CsrfRefused
from console.rendering import csrf_key, lang_of
from public_site.pages import Lang
from registry_api.forms import validate_form

_Form = TypeVar("_Form", bound=BaseModel)
MAX_FIELDS = 2000  # the revision editor's 16 sections and 60 statements fit many times over
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class Posted:
    """The fields of a posted form, in the order sent (a name may repeat)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = [(name, value) for name, value in pairs if name != csrf.FIELD]

    def get(self, name: str) -> str:
        """The field's last value, "" when absent."""
        found = [value for key, value in self.pairs if key == name]
        return found[-1] if found else ""

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def text(self, name: str) -> str | None:
        """The field's value; None when blank (an optional field left empty)."""
        value = self.get(name).strip()
        return value or None

    def lines(self, name: str) -> list[str]:
        """A textarea of one item a line (or separated by commas), blanks dropped."""
        return [item.strip() for item in re.split(r"[\r\n,，]+", self.get(name)) if item.strip()]

    def values(self) -> dict[str, str]:
        """What was typed, to fill the form in again."""
        return dict(self.pairs)


async def posted(request: Request) -> Posted:
    """The request's form, its CSRF token checked: `CsrfRefused` before anything else runs,
    `BadForm` when the body is not a form."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    body = await request.body()
    if not body:  # nothing posted: no token either
        raise CsrfRefused()
    if media_type != FORM_MEDIA_TYPE:
        raise BadForm(415, f"the console takes forms ({FORM_MEDIA_TYPE}), not {media_type[:60]!r}")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
            errors="strict",
        )
    except UnicodeDecodeError:
        raise BadForm(400, "the form is not UTF-8") from None
    except ValueError:
        raise BadForm(413, f"the form has more than {MAX_FIELDS} fields") from None
    tokens = [value for name, value in pairs if name == csrf.FIELD]
    anchor = request.cookies.get(csrf.ANCHOR_COOKIE)
    if len(tokens) != 1 or not csrf.token_matches(csrf_key(request), anchor, tokens[0]):
        raise CsrfRefused()
    return Posted(pairs)


def checked(form: type[_Form], data: dict[str, object]) -> _Form:
    """`data` as the registry's body `form`: `ValidationFailed` names every bad field."""
    return validate_form(form, data)


# The registry's field messages (pydantic's, and its own validators' in English) in Chinese
# where a pattern says what they mean; others are shown as they are.
_ZH_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"^Field required$", "必填"),
        (r"^String should have at least (\d+) characters?$", r"至少 \1 个字符"),
        (r"^String should have at most (\d+) characters?$", r"最多 \1 个字符"),
        (r"^String should match pattern", "格式不正确"),
        (r"^Input should be a valid integer", "应为整数"),
        (r"^Input should be a valid number", "应为数字"),
        (r"^Input should be a valid date", "应为日期（年-月-日）"),
        (r"^Input should be greater than or equal to (\S+)$", r"应不小于 \1"),
        (r"^Input should be less than or equal to (\S+)$", r"应不大于 \1"),
        (r"^Input should be (.+)$", r"应为 \1"),
        (r"^List should have at most (\d+) items?", r"最多 \1 项"),
        (r"^List should have at least (\d+) items?", r"至少 \1 项"),
        # registry_api.validators: identifiers and numbers
        (r"^must be 18 characters, got (\d+)$", r"应为 18 位，现为 \1 位"),
        (r"^has characters not used in credit codes: (.+)$", r"含有信用代码不用的字符：\1"),
        (r"^one space at most may separate its characters$", "字符之间最多隔一个空格"),
        (r"^the organisation code inside it", "其中的组织机构代码（第 9–17 位）校验码不符"),
        (r"^the last character \(check digit\) does not match$", "最后一位（校验码）不符"),
        (r"^must be 17 digits followed by a digit or X$", "应为 17 位数字加 1 位数字或 X"),
        (r"^does not start with a province code$", "前两位不是省级行政区划代码"),
        (r"^characters 7-14 are not a (possible )?birth date$", "第 7–14 位不是可能的出生日期"),
        (r"^must be an 11-digit mobile number", "应为 13–19 开头的 11 位手机号"),
        (
            r"^must be a landline with area code",
            "应为带区号的固定电话（如 0351-1234567）、手机号或 400/800 号码",
        ),
        (r"^must look like 7732-18-5$", "格式应如 7732-18-5"),
        (r"^the check digit does not match$", "校验位不符"),
        (r"^must be text$", "应为文字"),
        (r"^is too long$", "太长"),
        # registry_api.products.filings: what blocks a revision's submission
        (
            r"^section ([\d, ]+) missing \(GB/T 16483 has 16 sections, once each\)$",
            r"缺少第 \1 节（GB/T 16483 规定 16 节，各一节）",
        ),
        (r"^section .* (missing|given twice)", "章节缺少或重复（GB/T 16483 规定 16 节，各一节）"),
        (
            r"^is required: name, address, phone and 24-hour",
            "必填：名称、地址、电话和 24 小时应急电话",
        ),
        (r"^is required for a product with a UN number \((.+)\)$", r"有联合国编号（\1）的产品必填"),
    )
)


def error_text(message: str, lang: Lang) -> str:
    if lang == "en":
        return message
    for pattern, text in _ZH_MESSAGES:
        if pattern.search(message):
            return pattern.sub(text, message) if "\\" in text else text
    return message


def field_errors(request: Request, fields: dict[str, str]) -> dict[str, str]:
    """The registry's field errors in the reader's language."""
    lang = lang_of(request)
    return {path: error_text(message, lang) for path, message in fields.items()}
