"""Printable documents of a published code: its label (GB 15258, SVG or PDF) and its safety
data sheet (PDF), rendered from the record the scan shows.

`GET /documents/{code_id}/label.pdf|label.svg?size=75x100` (or `?capacity_ml=` to pick the
size GB 15258 gives a package) and `GET /documents/{code_id}/sds.pdf`, each with `?lang=`.
They read the code's published JSON through the scan cache, so they answer from the same
layers, states and faults as a scan. Rendering takes tens of milliseconds, so it runs in a
worker thread (scans on the event loop do not wait for it) and each result is kept.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from codesvc.codes import CodeFormatError, group_code_id, parse_code_id
from codesvc.qr import qr_matrix
from codesvc.resolver import ResolverState, error_page, etag_matches, request_lang
from codesvc.scancache import BackendUnavailable
from public_site.label_sizes import (
    LabelError,
    LabelSize,
    label_size_for,
    label_size_named,
    sizes_from,
)
from public_site.labels import render_label_pdf, render_label_svg
from public_site.pages import Lang
from public_site.scan_pages import render_revoked_page
from public_site.sds_pdf import render_sds_pdf

# With no size asked for: a 50-500 L drum's, the commonest hazardous-chemical package
# (or larger, if the content needs it).
DEFAULT_LABEL_SIZE = "100x150"
_CACHED_DOCUMENTS = 64
_MEDIA_TYPES = {"pdf": "application/pdf", "svg": "image/svg+xml"}
# Short: a document follows its record, which may be revised or revoked at any time.
_CACHE_CONTROL = "public, max-age=60"


async def label_pdf(request: Request) -> Response:
    return await _document(request, "label", "pdf")


async def label_svg(request: Request) -> Response:
    return await _document(request, "label", "svg")


async def sds_pdf(request: Request) -> Response:
    return await _document(request, "sds", "pdf")


async def _document(request: Request, kind: str, extension: str) -> Response:
    lang = request_lang(request)
    try:
        code_id = parse_code_id(request.path_params["code_id"])
        sizes = _label_sizes(request) if kind == "label" else ()
    except (CodeFormatError, LabelError) as exc:
        return error_page("bad_request", 400, lang, detail=str(exc))
    state: ResolverState = request.state.resolver
    try:
        found = await state.cache.lookup(code_id, "json")
    except BackendUnavailable:
        return error_page("unavailable", 503, lang)
    if found is None:
        return error_page("unknown", 404, lang)
    entry, variant = found
    if variant is None:
        return error_page("unpublished", 404, lang)
    document: dict[str, Any] = json.loads(variant.body)
    if entry.status == "revoked" or "record" not in document:
        return _revoked(document, code_id, lang)

    scan_url = f"{state.public_base_url}/C/{entry.code_text}"
    etag = '"{}"'.format(
        hashlib.sha256(f"{variant.etag}|{kind}|{extension}|{lang}|{sizes}".encode()).hexdigest()[
            :32
        ]
    )
    headers = {"ETag": etag, "Cache-Control": _CACHE_CONTROL, "Content-Language": lang}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    render: Callable[[], tuple[bytes, LabelSize | None]] = functools.partial(
        _render, variant.body, kind, extension, lang, sizes, scan_url, group_code_id(code_id)
    )
    try:
        body, size = await asyncio.to_thread(render)
    except LabelError as exc:  # the record's text does not fit the chosen size
        return error_page("bad_request", 400, lang, detail=str(exc))
    name = f"{group_code_id(code_id)}-{kind}{f'-{size.name}' if size else ''}-{lang}.{extension}"
    headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(body, media_type=_MEDIA_TYPES[extension], headers=headers)


def _label_sizes(request: Request) -> tuple[LabelSize, ...]:
    """The sizes to try, smallest first: the one asked for, or for a package capacity the
    smallest GB 15258 allows and the larger ones, until the content fits."""
    size_name = request.query_params.get("size")
    capacity = request.query_params.get("capacity_ml")
    if size_name is not None and capacity is not None:
        raise LabelError("give either size or capacity_ml, not both")
    if capacity is not None:
        try:
            millilitres = float(capacity)
        except ValueError:
            raise LabelError(f"capacity_ml must be a number of mL, not {capacity!r}") from None
        return sizes_from(label_size_for(millilitres))
    if size_name is not None:
        return (label_size_named(size_name),)
    return sizes_from(label_size_named(DEFAULT_LABEL_SIZE))


@functools.lru_cache(maxsize=_CACHED_DOCUMENTS)
def _render(
    published: bytes,
    kind: str,
    extension: str,
    lang: Lang,
    sizes: tuple[LabelSize, ...],
    scan_url: str,
    code_text: str,
) -> tuple[bytes, LabelSize | None]:
    """One document of one published version, and the label size it took; kept, as its
    inputs are all it depends on."""
    record = json.loads(published)["record"]
    if kind == "sds":
        return render_sds_pdf(record, lang), None
    render_label = render_label_pdf if extension == "pdf" else render_label_svg
    qr = qr_matrix(scan_url)
    for size in sizes[:-1]:
        try:
            return render_label(record, qr=qr, code_text=code_text, size=size, lang=lang), size
        except LabelError:
            continue  # a larger size may hold it
    size = sizes[-1]
    return render_label(record, qr=qr, code_text=code_text, size=size, lang=lang), size


def _revoked(document: dict[str, Any], code_id: str, lang: Lang) -> HTMLResponse:
    page = render_revoked_page(
        lang=lang,
        code_id=group_code_id(code_id),
        product_name=None,
        revoked_on=str(document.get("revoked_on", "")),
        reason=str(document.get("reason", "")),
    )
    return HTMLResponse(page, status_code=410, headers={"Cache-Control": "no-store"})
