"""Declaring a batch in the console: the form (`/console/products/{id}/batches/new`), what
its inputs become (the `BatchForm` body `POST /api/v1/products/{id}/batches` takes), and the
batch forms' words: the names of units, packages and dates, and the registry's messages
in Chinese.

The form calls `lifecycle.batches.declare_batch` with the signed-in actor, as the API does.
Scope and role are told before what was typed is read: an outsider's form is the 404 page
whatever it holds, a regulator's the 403 page (regulators read batches, never declare).
"""

from __future__ import annotations

import re
from typing import get_args

from starlette.requests import Request
from starlette.responses import Response

from console.forms import Posted, checked, error_text, posted
from console.navigation import connection
from console.rendering import PREFIX, lang_of, page, see_other, tr
from console.sessions import signed_in
from public_site.pages import Lang
from registry_api.accounts.operations import Actor
from registry_api.errors import Conflict, Forbidden, ValidationFailed
from registry_api.lifecycle import batches as operations
from registry_api.lifecycle.batch_forms import BatchForm, PackageKind, Unit, UseByKind
from registry_api.products import operations as products
from registry_api.products.storage import Product
from registry_api.requests import path_id

UNIT_NAMES: dict[str, tuple[str, str]] = {
    "kg": ("kg", "kg"), "t": ("吨", "t"), "L": ("L", "L"), "m3": ("m³", "m³"),
    "pieces": ("件", "pieces"),
}  # fmt: skip
PACKAGE_NAMES: dict[str, tuple[str, str]] = {
    "drum": ("桶", "drum"), "bag": ("袋", "bag"), "bottle": ("瓶", "bottle"),
    "can": ("罐", "can"), "cylinder": ("钢瓶", "cylinder"), "IBC": ("IBC 吨桶", "IBC"),
    "box": ("箱", "box"), "other": ("其他", "other"),
}  # fmt: skip
USE_BY_NAMES: dict[str, tuple[str, str]] = {
    "expiry": ("有效期至", "Expiry date"),
    "retest": ("复验期至", "Retest date"),
}
# The batch forms' own messages (registry_api.lifecycle.batch_forms, batches) in Chinese;
# the generic ones are `console.forms`'.
_ZH_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"^must be 1 to 20 characters, got (\d+)$", r"应为 1 至 20 个字符，现为 \1 个"),
        (r"^may hold digits, upper-case letters A-Z and '-' only$", "只能含数字、大写字母和“-”"),
        (r"^must be in upper case \('([^']*)'.*$", r"须为大写（'\1'）：批号按申报的原样印制和扫码"),
        (r"^must be a date written YYYY-MM-DD", "应为日期，格式为 年-月-日，如 2026-11-05"),
        (r"^(\S+) is not a day of the calendar$", r"\1 不是日历上的日期"),
        (r"^is after today \(([^)]*)\).*$", r"晚于今天（\1）：批次生产后才申报"),
        (r"^must be on or after produced_on \(([^)]*)\)$", r"不能早于生产日期（\1）"),
        (r"^must be a (finite )?number", "应为数字，如 200 或 12.5"),
        (r"^has at most (\d+) decimals$", r"最多 \1 位小数"),
        (r"^Input should be greater than 0$", "应大于 0"),
        (r"^is declared already for this product$", "此产品已申报过这个批号"),
    )
)


def _zh(message: str) -> str:
    for pattern, text in _ZH_MESSAGES:
        if pattern.search(message):
            return pattern.sub(text, message) if "\\" in text else text
    return message


def batch_error_text(message: str, lang: Lang) -> str:
    """A field message of a batch form in `lang`: its own words first, then the generic."""
    return error_text(_zh(message) if lang == "zh" else message, lang)


def batch_field_errors(request: Request, fields: dict[str, str]) -> dict[str, str]:
    """The registry's field errors of a batch form, in the reader's language."""
    lang = lang_of(request)
    return {path: batch_error_text(message, lang) for path, message in fields.items()}


def named(names: dict[str, tuple[str, str]], key: str, lang: Lang) -> str:
    found = names.get(key)
    return key if found is None else tr(lang, *found)


def _options(
    keys: tuple[str, ...], names: dict[str, tuple[str, str]], lang: Lang, *, blank: bool
) -> list[tuple[str, str]]:
    options = [(key, named(names, key, lang)) for key in keys]
    return [("", tr(lang, "请选择", "Choose")), *options] if blank else options


def owns(actor: Actor, product: Product) -> bool:
    account = actor.account
    return account.kind == "enterprise" and account.enterprise_id == product.enterprise_id


def owner_only(actor: Actor, product: Product) -> None:
    """The operations' rule for declaring and issuing, told before what was typed is read."""
    if not owns(actor, product):
        raise Forbidden("only the product's enterprise declares its batches and issues serials")


def _number(text: str | None) -> object:
    """A typed number as the JSON number the API takes: an integer, or a decimal of up to
    15 significant digits (its float's repr is then the number typed, as JSON reads it).
    Anything else as typed, for the form to say a number is wanted."""
    if text is None:
        return None
    if re.fullmatch(r"-?[0-9]{1,30}", text):
        return int(text)
    if (
        re.fullmatch(r"-?[0-9]{1,30}\.[0-9]{1,30}", text)
        and len(re.sub(r"[^0-9]", "", text).strip("0")) <= 15
    ):
        return float(text)
    return text


def _package(form: Posted, prefix: str) -> dict[str, object]:
    typed = {
        "kind": form.text(f"{prefix}.kind"),
        "capacity": _number(form.text(f"{prefix}.capacity")),
        "unit": form.text(f"{prefix}.unit"),
    }
    return {name: value for name, value in typed.items() if value is not None}


def batch_data(form: Posted) -> dict[str, object]:
    """The posted form as a BatchForm body: a blank field left out (so it is "required",
    not "invalid"); the outer packaging only when any of it is typed."""
    packaging: dict[str, object] = {"inner": _package(form, "packaging.inner")}
    outer = _package(form, "packaging.outer")
    if outer:
        packaging["outer"] = outer
    data: dict[str, object] = {
        "batch_no": form.text("batch_no"),
        "produced_on": form.text("produced_on"),
        "use_by": form.text("use_by"),
        "use_by_kind": form.text("use_by_kind"),
        "quantity": _number(form.text("quantity")),
        "unit": form.text("unit"),
        "packaging": packaging,
        "site": form.text("site"),
    }
    return {name: value for name, value in data.items() if value is not None}


def conflict_words(exc: Conflict, lang: Lang) -> str:
    """Why the batch cannot be declared (`declare_batch`'s 409s), in the reader's language."""
    said = exc.message
    if "deregistered" in said:
        return tr(
            lang, "企业已注销，不能再申报批次。", "A deregistered enterprise declares no batches."
        )
    if "no code yet" in said:
        return tr(
            lang,
            "此产品还没有安全码：第一个版本获批准后生成，批次在安全码下申报。",
            "This product has no code yet: it gets one when its first revision is approved, "
            "and batches are declared under it.",
        )
    if "revoked" in said:
        return tr(lang, "此产品的安全码已撤销，不能再申报批次。", "The product's code is revoked.")
    if "declared already" in said:
        return tr(
            lang,
            "这个批号已为此产品申报过，请核对批号。",
            "This batch number is declared already for this product: check the number.",
        )
    return said


def _declare_page(
    request: Request,
    actor: Actor,
    product: Product,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    lang = lang_of(request)
    return page(
        request,
        "batch_form.html",
        status=status,
        actor=actor,
        product=product,
        values=values or {"use_by_kind": "expiry"},
        errors=errors or {},
        message=message,
        use_by_kinds=_options(get_args(UseByKind), USE_BY_NAMES, lang, blank=False),
        units=_options(get_args(Unit), UNIT_NAMES, lang, blank=True),
        package_kinds=_options(get_args(PackageKind), PACKAGE_NAMES, lang, blank=True),
    )


async def declare_form(request: Request) -> Response:
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        product = await products.product(conn, actor, path_id(request, "product_id"))
    owner_only(actor, product)
    return _declare_page(request, actor, product)


async def declare(request: Request) -> Response:
    form = await posted(request)
    product_id = path_id(request, "product_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        product = await products.product(conn, actor, product_id)
        owner_only(actor, product)
        try:
            declared = await operations.declare_batch(
                conn, actor, product_id, checked(BatchForm, batch_data(form))
            )
        except (ValidationFailed, Conflict) as exc:
            lang = lang_of(request)
            return _declare_page(
                request, actor, product, status=exc.status, values=form.values(),
                errors=batch_field_errors(request, exc.fields),
                message=conflict_words(exc, lang) if isinstance(exc, Conflict) else None,
            )  # fmt: skip
    return see_other(request, f"{PREFIX}/batches/{declared.batch.id}?changed=declared")
