"""The revision editor, assisted 一书一签: classify a product from the GHS tables, see the
label elements that calls for with the rule behind each, preview the GB 15258 label and
the scan page, fill in the SDS, and see what still blocks submission.

Starting and saving call the products domain's operations, as `POST
/api/v1/products/{id}/revisions` and `PUT /api/v1/revisions/{id}` do; the version the page
was read at travels in the form as the API's If-Match. A draft of the own enterprise is a
form; any other revision, or a regulator's view, is read-only. The previews are the
public site's own renderings (`public_site.labels`, `public_site.scan_pages`) of the
record the revision would publish (`filings.public_record`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from typing import Any

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from codesvc.codes import group_code_id, scan_url
from codesvc.documents import DEFAULT_LABEL_SIZE
from codesvc.qr import qr_matrix
from console import revision_form as rf
from console.forms import Posted, checked, error_text, field_errors, posted
from console.navigation import connection
from console.rendering import PREFIX, lang_of, page, see_other, tr
from console.sessions import signed_in
from ghs.derivation import ClassificationError, derive_label, parse_classifications
from ghs.reference import PICTOGRAMS, reference
from public_site.label_sizes import (
    LABEL_SIZES,
    LabelError,
    LabelSize,
    label_size_named,
    sizes_from,
)
from public_site.labels import render_label_svg
from public_site.pages import STATIC_DIR as PUBLIC_STATIC_DIR
from public_site.pages import Lang
from public_site.scan_pages import (
    PICTOGRAM_NAMES,
    SCAN_CONTEXT_MARKER,
    VIEWS,
    render_scan_page,
)
from registry_api.accounts.operations import Actor
from registry_api.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from registry_api.products import operations
from registry_api.products.filings import public_record, revision_problems
from registry_api.products.forms import RevisionForm
from registry_api.products.ghs_routes import DerivationView, derivation_json
from registry_api.products.storage import Product, Revision
from registry_api.requests import path_id

# The scan preview is framed by the editor (same origin only), shows the public site's
# page with its stylesheet and pictograms, and runs nothing.
_PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox allow-same-origin"
)
_PREVIEW_CODE_TEXT = "PREVIEW"  # under the QR of a product that has no code yet


# --- starting a revision ---------------------------------------------------------------


async def start_form(request: Request) -> Response:
    """`/console/products/{id}/revisions/new`: what starting a revision does, and the button."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        summary = await operations.product_summary(conn, actor, path_id(request, "product_id"))
    return _start_page(request, actor, summary)


def _start_page(
    request: Request,
    actor: Actor,
    summary: operations.ProductSummary,
    *,
    status: int = 200,
    message: str | None = None,
) -> Response:
    return page(
        request,
        "revision_new.html",
        status=status,
        actor=actor,
        product=summary.product,
        current=summary.current,
        open_revision=summary.open,
        is_owner=actor.account.enterprise_id == summary.product.enterprise_id,
        message=message,
    )


async def start_revision(request: Request) -> Response:
    """Start a draft, from the current revision's content when asked (as the API's POST
    with that body), and open it in the editor."""
    form = await posted(request)
    product_id = path_id(request, "product_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        summary = await operations.product_summary(conn, actor, product_id)
        content: dict[str, Any] = {}
        if summary.current is not None and form.get("copy") == "on":
            content = _content(summary.current)
        try:
            _owner, created = await operations.create_revision(
                conn, actor, product_id, checked(RevisionForm, content)
            )
        except Conflict as exc:
            lang = lang_of(request)
            return _start_page(
                request,
                actor,
                summary,
                status=exc.status,
                message=tr(
                    lang,
                    "此产品已有一个草稿或审核中的版本，请打开该版本。",
                    "The product has a revision in the works already (a draft or one under "
                    "review): open that one.",
                ),
            )
    return see_other(request, f"{PREFIX}/revisions/{created.id}", done="revision_created")


def _content(revision: Revision) -> dict[str, Any]:
    return {
        "classification": revision.classification,
        "label": revision.label,
        "sds": revision.sds,
    }


# --- the editor --------------------------------------------------------------------------


async def editor(request: Request) -> Response:
    """A revision: the editor for a draft of the own enterprise, read-only otherwise."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        product, revision = await operations.revision(conn, actor, path_id(request, "revision_id"))
    return _editor_page(
        request, actor, product, revision, values=rf.revision_values(_content(revision))
    )


def _editor_page(
    request: Request,
    actor: Actor,
    product: Product,
    revision: Revision,
    *,
    values: dict[str, str],
    status: int = 200,
    version: int | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    editable = revision.status == "draft" and actor.account.enterprise_id == product.enterprise_id
    problems = revision_problems(product, revision) if revision.status == "draft" else {}
    lang = lang_of(request)
    return page(
        request,
        "revision.html",
        status=status,
        actor=actor,
        product=product,
        revision=revision,
        editable=editable,
        version=revision.version if version is None else version,
        values=values,
        errors=errors or {},
        message=message,
        blockers=[
            dataclasses.replace(b, message=error_text(b.message, lang_of(request)))
            for b in rf.blockers(problems, revision.classification)
        ],
        derived=_derived(revision),
        classes=rf.class_options(),
        chosen=_chosen(revision),
        text_groups=rf.TEXT_GROUPS,
        sections=rf.SECTIONS,
        section_bodies={s.get("number"): s.get("body") for s in revision.sds.get("sections", [])},
        structured=_structured(revision.sds),
        label_sizes=[size.name for size in LABEL_SIZES],
        default_size=DEFAULT_LABEL_SIZE,
        views=VIEWS,
        preview_lang=lang,
        input_id=rf.input_id,
        statement_text=_statement_text,
        pictogram_names={code: names[lang] for code, names in PICTOGRAM_NAMES.items()},
    )


def _derived(revision: Revision) -> DerivationView | None:
    """The label elements the saved classification calls for, each with its rule; None
    while the classification cannot be read (its problems say why)."""
    try:
        classifications = parse_classifications(revision.classification)
    except ClassificationError:
        return None
    ref = reference()
    return derivation_json(derive_label(classifications, ref), ref)


def _chosen(revision: Revision) -> list[tuple[str, str, str]]:
    """The saved classification as (Chinese, English, statement chosen) names."""
    ref = reference()
    chosen = []
    for item in revision.classification:
        found = ref.categories.get((str(item.get("class")), str(item.get("category"))))
        if found is None:
            name = f"{item.get('class')} {item.get('category')}"
            chosen.append((name, name, ""))
        else:
            chosen.append((found.label_zh, found.label_en, str(item.get("hazard") or "")))
    return chosen


def _structured(sds: dict[str, Any]) -> dict[str, Any]:
    """The SDS's structured parts by input name, for the read-only view."""
    found: dict[str, Any] = {}
    for group in rf.TEXT_GROUPS:
        for text in group.inputs:
            value: Any = sds
            for part in text.name.removeprefix("sds.").split("."):
                value = value.get(part) if isinstance(value, dict) else None
            found[text.name] = value
    return found


def _statement_text(code: str, lang: Lang) -> str:
    try:
        statement = reference().statement(code)
    except KeyError:
        return ""
    return statement.zh if lang == "zh" else statement.en


async def save(request: Request) -> Response:
    """Save a draft (the API's PUT with If-Match: the version the form was read at)."""
    form = await posted(request)
    revision_id = path_id(request, "revision_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        product, current = await operations.revision(conn, actor, revision_id)
        version = _version(form)
        data = rf.revision_data(form, current.label)
        try:
            await operations.update_revision(
                conn, actor, revision_id, version, checked(RevisionForm, data.body)
            )
        except ValidationFailed as exc:
            if not exc.fields:
                raise
            return _editor_page(
                request,
                actor,
                product,
                current,
                status=exc.status,
                values=_typed(form),
                version=version,
                errors=field_errors(request, rf.renamed(exc.fields, data.renames)),
            )
        except PreconditionFailed:
            # What was typed stays; the form now carries the version just read, so saving
            # again (after a look at the other change) overwrites it on purpose.
            product, current = await operations.revision(conn, actor, revision_id)
            lang = lang_of(request)
            return _editor_page(
                request,
                actor,
                product,
                current,
                status=412,
                values=_typed(form),
                message=tr(
                    lang,
                    "此草稿在您打开后已被他人保存，您的更改未保存。您填写的内容保留在下方；"
                    "请对照他人的更改检查后再次保存。",
                    "Someone else saved this draft since you opened it, so your changes were "
                    "not saved. What you typed is kept below: check it against their change "
                    "and save again.",
                ),
            )
    return see_other(request, f"{PREFIX}/revisions/{revision_id}", done="saved")


def _typed(form: Posted) -> dict[str, str]:
    """What was typed, with unticked boxes as unticked (a browser does not send them)."""
    values = form.values()
    for option in rf.class_options():
        for category in option.categories:
            values.setdefault(category.name, "")
    return values


def _version(form: Posted) -> int:
    raw = form.get("version")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise ValidationFailed("the form lost its version", {"version": "is required"})
    return int(raw)


# --- previews ------------------------------------------------------------------------------


def preview_record(product: Product, revision: Revision) -> dict[str, Any]:
    """The record the revision would publish, as a scan and the label print it; what is
    missing yet shows as a placeholder rather than stopping the preview."""
    try:
        record = public_record(product, revision, date.today())
    except ClassificationError:  # no label elements until the classification reads
        record = public_record(product, dataclasses.replace(revision, label={}), date.today())
    missing = {"zh": "（未填写）", "en": "(not filled in)"}
    supplier = dict(record.get("supplier") or {})
    for part in ("name", "address"):
        supplier.setdefault(part, missing)
    for part in ("phone", "emergency_phone"):
        supplier.setdefault(part, "-")
    record["supplier"] = supplier
    return record


def _preview_lang(request: Request) -> Lang:
    asked = request.query_params.get("lang")
    if asked == "zh":
        return "zh"
    if asked == "en":
        return "en"
    return lang_of(request)


async def label_svg(request: Request) -> Response:
    """The GB 15258 label the revision would print, as the resolver draws it (`?size=`,
    else the default size or the first larger one the content fits)."""
    revision_id = path_id(request, "revision_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        product, revision = await operations.revision(conn, actor, revision_id)
        url, code_text = await _qr_of(request, conn, actor, product)
    lang = _preview_lang(request)
    sizes: tuple[LabelSize, ...]
    try:
        sizes = (label_size_named(request.query_params["size"]),)
    except KeyError:
        sizes = sizes_from(label_size_named(DEFAULT_LABEL_SIZE))
    except LabelError as exc:
        raise ValidationFailed(str(exc), {"size": str(exc)}) from None
    record = preview_record(product, revision)
    body = await asyncio.to_thread(_render_label, record, url, code_text, sizes, lang)
    return Response(
        body,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="revision-{revision_id}-label.svg"',
        },
    )


async def _qr_of(request: Request, conn: Any, actor: Actor, product: Product) -> tuple[str, str]:
    """What the label's QR carries: the product's code once it has one, else a sample."""
    base: str = request.app.state.public_base_url
    if product.code_id is None:
        return f"{base}/C/{_PREVIEW_CODE_TEXT}", _PREVIEW_CODE_TEXT
    issued = await operations.product_code(conn, actor, product.id)
    return scan_url(base, issued.code), group_code_id(issued.code.code_id)


def _render_label(
    record: dict[str, Any], url: str, code_text: str, sizes: tuple[LabelSize, ...], lang: Lang
) -> bytes:
    qr = qr_matrix(url)
    problem = ""
    for size in sizes:
        try:
            return render_label_svg(record, qr=qr, code_text=code_text, size=size, lang=lang)
        except LabelError as exc:
            problem = str(exc)
    return _message_svg(problem)


def _message_svg(text: str) -> bytes:
    """A label-sized picture saying why there is no label (the content does not fit)."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="30mm" '
        'viewBox="0 0 400 120"><rect width="400" height="120" fill="#fff" stroke="#b91c1c"/>'
        f'<text x="10" y="60" font-size="12" fill="#b91c1c">{escape(text[:180])}</text></svg>'
    ).encode()


async def scan_preview(request: Request) -> Response:
    """The public site's scan page of the revision's record (`?view=`, `?lang=`), marked a
    preview; framed by the editor, sandboxed, running nothing."""
    revision_id = path_id(request, "revision_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        product, revision = await operations.revision(conn, actor, revision_id)
        code_id = product.code_id
    view = request.query_params.get("view", "label")
    if view not in VIEWS:
        raise NotFound(f"no view {view[:20]!r}")
    lang = _preview_lang(request)
    html = render_scan_page(
        preview_record(product, revision),
        view=view,
        lang=lang,
        code_id=_PREVIEW_CODE_TEXT if code_id is None else group_code_id(code_id),
    )
    banner = tr(
        lang,
        f"预览：第 {revision.number} 版尚未发布，扫码页在批准后才显示这些内容。",
        f"Preview: revision {revision.number} is not published; scans show this once it "
        "is approved.",
    )
    html = html.replace(
        SCAN_CONTEXT_MARKER.decode(), f'<p class="context typed">{escape(banner)}</p>', 1
    ).replace('src="/static/ghs/', f'src="{PREFIX}/ghs/')
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": _PREVIEW_POLICY,
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


async def pictogram(request: Request) -> Response:
    """A GHS pictogram, as the public site serves it (the console runs without it too)."""
    code = request.path_params["code"]
    if code not in PICTOGRAMS:
        raise NotFound(f"no pictogram {code[:10]!r}")
    return FileResponse(
        PUBLIC_STATIC_DIR / "ghs" / f"{code}.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


ROUTES: list[Route] = [
    Route(f"{PREFIX}/products/{{product_id}}/revisions/new", start_form, methods=["GET"]),
    Route(f"{PREFIX}/products/{{product_id}}/revisions/new", start_revision, methods=["POST"]),
    Route(f"{PREFIX}/revisions/{{revision_id}}", editor, methods=["GET"]),
    Route(f"{PREFIX}/revisions/{{revision_id}}", save, methods=["POST"]),
    Route(f"{PREFIX}/revisions/{{revision_id}}/label.svg", label_svg, methods=["GET"]),
    Route(f"{PREFIX}/revisions/{{revision_id}}/scan-preview", scan_preview, methods=["GET"]),
    Route(f"{PREFIX}/ghs/{{code}}.svg", pictogram, methods=["GET"]),
]
