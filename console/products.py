"""Pages of products: an enterprise's list, adding and correcting a product, the product's
page with its revisions and code, and the code's downloads (QR, label, print sheet).

Every page calls the products domain's operations with the signed-in actor, as the JSON
API's handlers do; the QR downloads render exactly what `/api/v1/products/{id}/qr.*`
renders. The revision editor is in `revisions.py`; its routes are served from here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.codes import group_code_id, scan_url
from codesvc.documents import DEFAULT_LABEL_SIZE
from codesvc.issuance import IssuedCode
from codesvc.qr import MEDIA_TYPES, QrFormat, QrOptions, SheetItem, render_print_sheet, render_qr
from console import revisions
from console.forms import Posted, checked, field_errors, posted
from console.navigation import connection
from console.rendering import PREFIX, lang_of, page, see_other, tr
from console.sessions import signed_in
from public_site.label_sizes import LABEL_SIZES, LabelError, label_size_for, label_size_named
from registry_api.accounts.operations import Actor
from registry_api.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from registry_api.products import operations
from registry_api.products.forms import ProductForm
from registry_api.products.routes import product_json
from registry_api.products.storage import Product
from registry_api.requests import path_id

_COMPONENT_ROW = re.compile(r"^components\[(\d{1,2})\]\.")
EMPTY_COMPONENT_ROWS = 3  # rows to add a mixture's components without a script
PHYSICAL_FORMS: tuple[tuple[str, str, str], ...] = (
    ("liquid", "液体", "liquid"),
    ("solid", "固体", "solid"),
    ("gas", "气体", "gas"),
    ("aerosol", "气溶胶", "aerosol"),
    ("paste", "膏体", "paste"),
)


def enterprise_asked(request: Request, actor: Actor) -> int:
    """The enterprise a page is about: `?enterprise=` (a regulator's choice), else the
    actor's own; an enterprise asking for another gets the operations' 404."""
    raw = request.query_params.get("enterprise")
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise NotFound(f"no enterprise {raw[:40]}")
        return int(raw)
    if actor.account.enterprise_id is None:
        raise NotFound("name the enterprise: ?enterprise=<id>")
    return actor.account.enterprise_id


async def product_list(request: Request) -> Response:
    """`/console/products`: the enterprise's products with status and code."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        enterprise_id = enterprise_asked(request, actor)
        summaries = await operations.products_of(conn, actor, enterprise_id)
        codes = await _codes_of(conn, actor, enterprise_id, summaries)
    rows = [(product_json(s), codes.get(s.product.code_id or "")) for s in summaries]
    return page(
        request,
        "product_list.html",
        actor=actor,
        rows=rows,
        enterprise_id=enterprise_id,
        own=actor.account.enterprise_id == enterprise_id,
    )


async def _codes_of(
    conn: Any, actor: Actor, enterprise_id: int, summaries: list[operations.ProductSummary]
) -> dict[str, IssuedCode]:
    if not any(s.product.code_id for s in summaries):
        return {}
    found = await operations.enterprise_codes(conn, actor, enterprise_id)
    return {issued.code.code_id: issued for issued in found}


def component_rows(values: dict[str, str], minimum: int) -> list[int]:
    """The row numbers of the components table: those typed in, and empty ones to add."""
    typed = {int(m.group(1)) for name in values if (m := _COMPONENT_ROW.match(name))}
    count = max([minimum, *(n + 1 + EMPTY_COMPONENT_ROWS for n in typed)])
    return list(range(min(count, 50)))


def product_values(product: Product) -> dict[str, str]:
    """A product as its form shows it."""
    values = {
        "name_zh": product.name_zh,
        "name_en": product.name_en or "",
        "cas_numbers": "\n".join(product.cas_numbers),
        "un_number": product.un_number or "",
        "catalogue_number": ""
        if product.catalogue_number is None
        else str(product.catalogue_number),
        "highly_toxic": "on" if product.highly_toxic else "",
        "physical_form": product.physical_form,
    }
    for i, component in enumerate(product.components):
        name = component.get("name") or {}
        values[f"components[{i}].name.zh"] = name.get("zh") or ""
        values[f"components[{i}].name.en"] = name.get("en") or ""
        values[f"components[{i}].cas"] = component.get("cas") or ""
        values[f"components[{i}].concentration"] = component.get("concentration") or ""
    return values


def product_data(form: Posted) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The posted form as a ProductForm body, and how to rename its error paths back to
    the form's inputs (a blank row of components is left out, shifting the ones after)."""
    components: list[dict[str, object]] = []
    renames: list[tuple[str, str]] = []
    for row in component_rows(form.values(), 0):
        prefix = f"components[{row}]"
        parts = {
            part: form.text(f"{prefix}.{part}")
            for part in ("name.zh", "name.en", "cas", "concentration")
        }
        if not any(parts.values()):
            continue
        name = {"zh": parts["name.zh"], "en": parts["name.en"]}
        component: dict[str, object] = {
            "name": {k: v for k, v in name.items() if v is not None},
            "concentration": parts["concentration"],
        }
        if parts["cas"] is not None:
            component["cas"] = parts["cas"]
        renames.append((f"components[{len(components)}]", prefix))
        components.append(component)
    catalogue = form.text("catalogue_number")
    data: dict[str, object] = {
        "name_zh": form.get("name_zh"),
        "name_en": form.text("name_en"),
        "cas_numbers": form.lines("cas_numbers"),
        "components": components,
        "un_number": (form.text("un_number") or "").upper() or None,
        "catalogue_number": catalogue,
        "highly_toxic": form.get("highly_toxic") == "on",
        "physical_form": form.get("physical_form"),
    }
    return data, renames


def renamed(fields: dict[str, str], renames: list[tuple[str, str]]) -> dict[str, str]:
    """Error paths of the body sent, as the paths of the form's inputs."""
    result: dict[str, str] = {}
    for path, message in fields.items():
        for sent, typed in sorted(renames, key=lambda r: -len(r[0])):
            if path == sent or path.startswith((sent + ".", sent + "[")):
                path = typed + path[len(sent) :]
                break
        result[path] = message
    return result


def _form_page(
    request: Request,
    actor: Actor,
    *,
    status: int = 200,
    values: dict[str, str],
    product: Product | None = None,
    version: int | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    return page(
        request,
        "product_form.html",
        status=status,
        actor=actor,
        product=product,
        version=version,
        values=values,
        errors=errors or {},
        message=message,
        rows=component_rows(values, EMPTY_COMPONENT_ROWS),
        physical_forms=PHYSICAL_FORMS,
    )


def _owner_only(actor: Actor, enterprise_id: int | None) -> None:
    """A form only the enterprise may send: a regulator who may read the product is told so
    at the form (sending it anyway, the operation refuses it the same way)."""
    if actor.account.kind != "enterprise" or actor.account.enterprise_id != enterprise_id:
        raise Forbidden("only the enterprise files its products; regulators review them")


async def new_product_form(request: Request) -> Response:
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
    _owner_only(actor, actor.account.enterprise_id)
    return _form_page(request, actor, values={"physical_form": "liquid"})


async def create_product(request: Request) -> Response:
    form = await posted(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        enterprise_id = enterprise_asked(request, actor)
        data, renames = product_data(form)
        try:
            created = await operations.create_product(
                conn, actor, enterprise_id, checked(ProductForm, data)
            )
        except (ValidationFailed, Conflict) as exc:
            if not exc.fields:
                raise
            return _form_page(
                request,
                actor,
                status=exc.status,
                values=form.values(),
                errors=field_errors(request, renamed(exc.fields, renames)),
            )
    return see_other(request, f"{PREFIX}/products/{created.id}", done="created")


async def edit_product_form(request: Request) -> Response:
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.product(conn, actor, path_id(request, "product_id"))
    _owner_only(actor, found.enterprise_id)
    return _form_page(
        request, actor, values=product_values(found), product=found, version=found.version
    )


async def update_product(request: Request) -> Response:
    form = await posted(request)
    product_id = path_id(request, "product_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        data, renames = product_data(form)
        version = _version(form)
        try:
            await operations.update_product(
                conn, actor, product_id, version, checked(ProductForm, data)
            )
        except (ValidationFailed, Conflict) as exc:
            if not exc.fields:
                raise
            found = await operations.product(conn, actor, product_id)
            return _form_page(
                request,
                actor,
                status=exc.status,
                values=form.values(),
                product=found,
                version=version,
                errors=field_errors(request, renamed(exc.fields, renames)),
            )
        except PreconditionFailed:
            # What was typed stays; the form now carries the version just read, so sending
            # it again (after a look at what changed) overwrites that change on purpose.
            found = await operations.product(conn, actor, product_id)
            lang = lang_of(request)
            return _form_page(
                request,
                actor,
                status=412,
                values=form.values(),
                product=found,
                version=found.version,
                message=tr(
                    lang,
                    "此产品已被他人修改，您的更改未保存。您填写的内容保留在下方；"
                    "请对照当前记录检查后再次保存。",
                    "Someone else changed this product since you opened it, so your change "
                    "was not saved. What you typed is kept below: check it against the "
                    "current record and save again.",
                ),
            )
    return see_other(request, f"{PREFIX}/products/{product_id}", done="saved")


def _version(form: Posted) -> int:
    raw = form.get("version")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise ValidationFailed("the form lost its version", {"version": "is required"})
    return int(raw)


async def product_page(request: Request) -> Response:
    """A product: identity, revisions, code, and the code's downloads."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        summary = await operations.product_summary(conn, actor, path_id(request, "product_id"))
        issued = None
        if summary.product.code_id is not None:
            issued = await operations.product_code(conn, actor, summary.product.id)
    base: str = request.app.state.public_base_url
    code_url = None if issued is None else scan_url(base, issued.code)
    return page(
        request,
        "product.html",
        actor=actor,
        view=product_json(summary, with_revisions=True),
        product=summary.product,
        open_revision=summary.open,
        issued=issued,
        code_url=code_url,
        documents=None if issued is None else f"{base}/documents/{issued.code.code_id}",
        label_sizes=[size.name for size in LABEL_SIZES],
        default_size=DEFAULT_LABEL_SIZE,
        is_owner=actor.account.enterprise_id == summary.product.enterprise_id,
        physical_forms={value: (zh, en) for value, zh, en in PHYSICAL_FORMS},
    )


async def product_qr_svg(request: Request) -> Response:
    return await _product_qr(request, QrFormat.SVG)


async def product_qr_png(request: Request) -> Response:
    return await _product_qr(request, QrFormat.PNG)


async def product_qr_pdf(request: Request) -> Response:
    return await _product_qr(request, QrFormat.PDF)


async def _product_qr(request: Request, fmt: QrFormat) -> Response:
    """The same symbol `/api/v1/products/{id}/qr.*` gives (registry_api.products.routes)."""
    product_id = path_id(request, "product_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        issued = await operations.product_code(conn, actor, product_id)
    url = scan_url(request.app.state.public_base_url, issued.code)
    grouped = group_code_id(issued.code.code_id)
    body = render_qr(url, grouped, QrOptions(fmt, module_size=8))
    extension = fmt.value
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{grouped}.{extension}"',
            "Cache-Control": "no-store",
        },
    )


async def label_pdf(request: Request) -> Response:
    """The label PDF by size or package capacity: the resolver prints it from the published
    record (`/documents/{code_id}/label.pdf`); this checks the choice and sends the reader
    there, so a bad capacity is told here, in the console's words."""
    product_id = path_id(request, "product_id")
    async with connection(request) as conn:  # out of scope: 404 before anything else
        actor = await signed_in(request, conn)
        issued = await operations.product_code(conn, actor, product_id)
    lang = lang_of(request)
    size = request.query_params.get("size", "").strip()
    capacity = request.query_params.get("capacity_ml", "").strip()
    query: dict[str, str] = {"lang": lang}
    try:
        if capacity:
            try:
                millilitres = float(capacity)
            except ValueError:
                raise LabelError(f"{capacity[:20]!r} is not a number of mL") from None
            label_size_for(millilitres)
            query["capacity_ml"] = capacity
        else:
            query["size"] = label_size_named(size or DEFAULT_LABEL_SIZE).name
    except LabelError as exc:
        raise ValidationFailed(
            tr(lang, "标签尺寸或包装容量有误：", "The label size or capacity is not valid: ")
            + str(exc)
        ) from None
    base: str = request.app.state.public_base_url
    return see_other(
        request, f"{base}/documents/{issued.code.code_id}/label.pdf?{urlencode(query)}"
    )


async def qr_sheet(request: Request) -> Response:
    """The enterprise's A4 print sheet, as `/api/v1/enterprises/{id}/qr-sheet.pdf` gives it."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        codes = await operations.enterprise_codes(conn, actor, enterprise_asked(request, actor))
    base: str = request.app.state.public_base_url
    items = [SheetItem(scan_url(base, c.code), group_code_id(c.code.code_id)) for c in codes]
    return Response(
        render_print_sheet(items),
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'attachment; filename="qr-sheet.pdf"',
            "Cache-Control": "no-store",
        },
    )


ROUTES = [
    Route(f"{PREFIX}/products", product_list, methods=["GET"]),
    Route(f"{PREFIX}/products/new", new_product_form, methods=["GET"]),
    Route(f"{PREFIX}/products/new", create_product, methods=["POST"]),
    Route(f"{PREFIX}/products/{{product_id}}", product_page, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/edit", edit_product_form, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/edit", update_product, methods=["POST"]),
    Route(f"{PREFIX}/products/{{product_id}}/qr.svg", product_qr_svg, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/qr.png", product_qr_png, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/qr.pdf", product_qr_pdf, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/label.pdf", label_pdf, methods=["GET"]),
    Route(f"{PREFIX}/enterprise/qr-sheet.pdf", qr_sheet, methods=["GET"]),
    *revisions.ROUTES,
]
