"""HTTP handlers of products, and their rows of the endpoint table: products, their SDS
and label revisions, and their QR codes for printing."""

from __future__ import annotations

from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic reads only these on 3.11
    cast,
)

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict

from codesvc.codes import group_code_id, scan_url
from codesvc.qr import MEDIA_TYPES, QrFormat, QrOptions, SheetItem, render_print_sheet, render_qr
from registry_api.accounts.routes import signed_in
from registry_api.forms import read_form
from registry_api.products import operations
from registry_api.products.codes import CodeDesk, reprint_csv
from registry_api.products.filings import revision_problems
from registry_api.products.forms import ProductForm, RevisionForm
from registry_api.products.storage import (
    PhysicalForm,
    Product,
    ReprintNotice,
    Revision,
    RevisionStatus,
)
from registry_api.requests import (
    PREFIX,
    Day,
    Endpoint,
    Link,
    Timestamp,
    answer,
    if_match_version,
    path_id,
    resources,
)


def _desk(request: Request) -> CodeDesk:
    desk: CodeDesk = request.app.state.code_desk
    return desk


class BilingualView(TypedDict):
    zh: str
    en: NotRequired[str | None]


@answer
class ComponentView(TypedDict):
    name: BilingualView
    cas: NotRequired[str | None]
    concentration: str


# A classification as filed ("class" is a keyword, hence the functional form).
ClassificationView = TypedDict(
    "ClassificationView", {"class": str, "category": str, "hazard": NotRequired[str]}
)


@answer
class RevisionView(TypedDict):
    id: int
    product_id: int
    number: int
    status: RevisionStatus
    classification: list[ClassificationView]
    label: dict[str, Any] | None  # as filed (RevisionForm's `label`); None: the derived one
    sds: dict[str, Any]  # as filed (RevisionForm's `sds`)
    approved_on: Day | None
    version: int
    # A draft's only: what still stands between it and its submission, field by field.
    problems: NotRequired[dict[str, str]]


@answer
class RevisionSummary(TypedDict):
    id: int
    number: int
    status: RevisionStatus
    approved_on: Day | None


@answer
class ProductView(TypedDict):
    id: int
    enterprise_id: int
    name: BilingualView
    cas_numbers: list[str]
    components: list[ComponentView]
    un_number: str | None
    catalogue_number: int | None
    highly_toxic: bool
    physical_form: PhysicalForm
    status: Literal["new", "draft", "under_review", "approved"]
    code_id: str | None  # grouped as printed under the QR
    qr: str | None  # where its QR is, once it has a code
    current_revision: RevisionSummary | None
    open_revision: RevisionSummary | None
    revisions: NotRequired[list[RevisionSummary]]  # when one product is asked for


@answer
class ProductList(TypedDict):
    products: list[ProductView]


def revision_json(product: Product, revision: Revision) -> RevisionView:
    body: RevisionView = {
        "id": revision.id,
        "product_id": revision.product_id,
        "number": revision.number,
        "status": revision.status,
        # Stored as the forms read them (`revision_content`): these shapes.
        "classification": cast(list[ClassificationView], revision.classification),
        "label": revision.label,
        "sds": revision.sds,
        "approved_on": None if revision.approved_on is None else revision.approved_on.isoformat(),
        "version": revision.version,
    }
    if revision.status == "draft":
        body["problems"] = revision_problems(product, revision)
    return body


def _revision_summary(revision: Revision) -> RevisionSummary:
    approved = None if revision.approved_on is None else revision.approved_on.isoformat()
    return {
        "id": revision.id,
        "number": revision.number,
        "status": revision.status,
        "approved_on": approved,
    }


def product_json(
    summary: operations.ProductSummary, *, with_revisions: bool = False
) -> ProductView:
    item = summary.product
    status: Literal["new", "draft", "under_review", "approved"]
    if summary.open is not None and summary.open.status == "submitted":
        status = "under_review"
    elif summary.current is not None:
        status = "approved"
    else:
        status = "draft" if summary.open is not None else "new"
    body: ProductView = {
        "id": item.id,
        "enterprise_id": item.enterprise_id,
        "name": {"zh": item.name_zh, "en": item.name_en},
        "cas_numbers": item.cas_numbers,
        "components": cast(list[ComponentView], item.components),
        "un_number": item.un_number,
        "catalogue_number": item.catalogue_number,
        "highly_toxic": item.highly_toxic,
        "physical_form": item.physical_form,
        "status": status,
        "code_id": None if item.code_id is None else group_code_id(item.code_id),
        "qr": None if item.code_id is None else f"{PREFIX}/products/{item.id}/qr.svg",
        "current_revision": None if summary.current is None else _revision_summary(summary.current),
        "open_revision": None if summary.open is None else _revision_summary(summary.open),
    }
    if with_revisions:
        body["revisions"] = [_revision_summary(r) for r in summary.revisions]
    return body


async def create_product(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, ProductForm)
        created = await operations.create_product(
            conn, actor, path_id(request, "enterprise_id"), form
        )
    summary = operations.ProductSummary(created, [])
    return JSONResponse(product_json(summary), status_code=201)


async def list_products(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.products_of(conn, actor, path_id(request, "enterprise_id"))
    listed: ProductList = {"products": [product_json(s) for s in found]}
    return JSONResponse(listed)


async def get_product(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        summary = await operations.product_summary(conn, actor, path_id(request, "product_id"))
    return _product_response(summary)


async def update_product(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, ProductForm)
        version = if_match_version(request.headers.get("if-match"))
        summary = await operations.update_product(
            conn, actor, path_id(request, "product_id"), version, form
        )
    return _product_response(summary)


def _product_response(summary: operations.ProductSummary) -> Response:
    return JSONResponse(
        product_json(summary, with_revisions=True),
        headers={"ETag": f'"{summary.product.version}"'},
    )


async def create_revision(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, RevisionForm)
        owner, created = await operations.create_revision(
            conn, actor, path_id(request, "product_id"), form
        )
    return _revision_response(owner, created, 201)


def _revision_response(owner: Product, revision: Revision, status: int = 200) -> Response:
    return JSONResponse(
        revision_json(owner, revision),
        status_code=status,
        headers={"ETag": f'"{revision.version}"'},
    )


async def get_revision(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        owner, found = await operations.revision(conn, actor, path_id(request, "revision_id"))
    return _revision_response(owner, found)


async def update_revision(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, RevisionForm)
        version = if_match_version(request.headers.get("if-match"))
        owner, updated = await operations.update_revision(
            conn, actor, path_id(request, "revision_id"), version, form
        )
    return _revision_response(owner, updated)


async def product_qr_svg(request: Request) -> Response:
    return await _product_qr(request, QrFormat.SVG)


async def product_qr_png(request: Request) -> Response:
    return await _product_qr(request, QrFormat.PNG)


async def product_qr_pdf(request: Request) -> Response:
    return await _product_qr(request, QrFormat.PDF)


async def _product_qr(request: Request, fmt: QrFormat) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        issued = await operations.product_code(conn, actor, path_id(request, "product_id"))
    url = scan_url(_desk(request).public_base_url, issued.code)
    body = render_qr(url, group_code_id(issued.code.code_id), QrOptions(fmt, module_size=8))
    return Response(body, media_type=MEDIA_TYPES[fmt])


async def qr_sheet(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        codes = await operations.enterprise_codes(conn, actor, path_id(request, "enterprise_id"))
    base = _desk(request).public_base_url
    items = [SheetItem(scan_url(base, c.code), group_code_id(c.code.code_id)) for c in codes]
    return Response(render_print_sheet(items), media_type="application/pdf")


@answer
class ReprintNoticeView(TypedDict):
    id: int
    product_id: int
    product_name: str
    code_id: str  # grouped as printed under the QR
    revoked_key: str  # the key whose signature the printed labels carry
    new_key: str
    scan_url: str  # what the reprinted label's QR must carry
    qr: str  # the new QR, for printing
    created_at: Timestamp


@answer
class ReprintNoticeList(TypedDict):
    reprint_notices: list[ReprintNoticeView]


def _notice_json(notice: ReprintNotice) -> ReprintNoticeView:
    return {
        "id": notice.id,
        "product_id": notice.product_id,
        "product_name": notice.product_name,
        "code_id": group_code_id(notice.code_id),
        "revoked_key": notice.revoked_key_id,
        "new_key": notice.new_key_id,
        "scan_url": notice.scan_url,
        "qr": f"{PREFIX}/products/{notice.product_id}/qr.svg",
        "created_at": notice.created_at.isoformat(),
    }


async def list_reprint_notices(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        notices = await operations.reprint_notices(conn, actor, path_id(request, "enterprise_id"))
    listed: ReprintNoticeList = {"reprint_notices": [_notice_json(n) for n in notices]}
    return JSONResponse(listed)


async def reprint_notices_csv(request: Request) -> Response:
    enterprise_id = path_id(request, "enterprise_id")
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        notices = await operations.reprint_notices(conn, actor, enterprise_id)
    return Response(
        reprint_csv(notices),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="reprint-notices-{enterprise_id}.csv"'
        },
    )


def _product_links(product_id: str) -> tuple[Link, ...]:
    return (
        Link("GetProduct", "GET", "/products/{product_id}", {"product_id": product_id}),
        Link("StartRevision", "POST", "/products/{product_id}/revisions",
             {"product_id": product_id}),
        Link("ProductQrSvg", "GET", "/products/{product_id}/qr.svg", {"product_id": product_id}),
    )  # fmt: skip


def _revision_links(revision_id: str) -> tuple[Link, ...]:
    return (
        Link("GetRevision", "GET", "/revisions/{revision_id}", {"revision_id": revision_id}),
        Link("UpdateRevision", "PUT", "/revisions/{revision_id}",
             {"revision_id": revision_id, "If-Match": "$response.header.ETag"}),
    )  # fmt: skip


_WRITE = (422,)
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/enterprises/{enterprise_id}/products", create_product,
             "Add a product of the own enterprise", ProductForm, (201, 403, 404, 409, *_WRITE),
             ProductView, links=_product_links("$response.body#/id")),
    Endpoint("GET", "/enterprises/{enterprise_id}/products", list_products,
             "The enterprise's products with status, current revision and code", None,
             (200, 404), ProductList, links=_product_links("$response.body#/products/0/id")),
    Endpoint("GET", "/products/{product_id}", get_product,
             "A product with its revisions (ETag: its version)", None, (200, 404), ProductView,
             etag=True,
             links=(Link("UpdateProduct", "PUT", "/products/{product_id}",
                         {"product_id": "$response.body#/id",
                          "If-Match": "$response.header.ETag"}),)),
    Endpoint("PUT", "/products/{product_id}", update_product,
             "Correct a product's details (If-Match: the version read); scans show them "
             "from the next approved revision", ProductForm,
             (200, 403, 404, 409, 412, 428, *_WRITE), ProductView, etag=True),
    Endpoint("POST", "/products/{product_id}/revisions", create_revision,
             "Start a revision (a draft) of the SDS and label", RevisionForm,
             (201, 403, 404, 409, *_WRITE), RevisionView, etag=True,
             links=_revision_links("$response.body#/id")),
    Endpoint("GET", "/revisions/{revision_id}", get_revision,
             "A revision (ETag: its version); a draft lists what still blocks submitting it",
             None, (200, 404), RevisionView, etag=True),
    Endpoint("PUT", "/revisions/{revision_id}", update_revision,
             "Replace a draft's content (If-Match: the version read)", RevisionForm,
             (200, 403, 404, 409, 412, 428, *_WRITE), RevisionView, etag=True),
    Endpoint("GET", "/products/{product_id}/qr.svg", product_qr_svg,
             "The product's QR code as SVG", None, (200, 404), media_type="image/svg+xml"),
    Endpoint("GET", "/products/{product_id}/qr.png", product_qr_png,
             "The product's QR code as PNG", None, (200, 404), media_type="image/png"),
    Endpoint("GET", "/products/{product_id}/qr.pdf", product_qr_pdf,
             "The product's QR code as PDF", None, (200, 404), media_type="application/pdf"),
    Endpoint("GET", "/enterprises/{enterprise_id}/qr-sheet.pdf", qr_sheet,
             "An A4 print sheet of the enterprise's codes", None, (200, 404),
             media_type="application/pdf"),
    Endpoint("GET", "/enterprises/{enterprise_id}/reprint-notices", list_reprint_notices,
             "Products whose labels must be reprinted: their codes were re-signed after a "
             "signing key was revoked", None, (200, 404), ReprintNoticeList),
    Endpoint("GET", "/enterprises/{enterprise_id}/reprint-notices.csv", reprint_notices_csv,
             "The reprint notices as CSV", None, (200, 404), media_type="text/csv"),
)  # fmt: skip
