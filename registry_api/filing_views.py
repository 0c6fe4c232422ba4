"""HTTP handlers of products, revisions, submissions, reviews, certificates and codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from codesvc.codes import group_code_id, scan_url
from codesvc.issuance import find_code, find_codes
from codesvc.qr import MEDIA_TYPES, QrFormat, QrOptions, SheetItem, render_print_sheet, render_qr
from codesvc.storage import Connection
from registry_api import approval, products, reviews
from registry_api.errors import NotFound, ValidationFailed
from registry_api.filings import revision_problems
from registry_api.forms import (
    CodeStatusForm,
    DecisionForm,
    DeregistrationForm,
    InfoUpdateForm,
    ProductForm,
    RegistrationForm,
    RevisionForm,
    read_form,
)
from registry_api.pipelines import PIPELINES, Pipeline
from registry_api.request_context import (
    PREFIX,
    if_match_version,
    path_id,
    resources,
    signed_in,
)
from registry_api.services import Actor
from registry_api.storage.products import Product, Revision
from registry_api.storage.reviews import Certificate, Decision, Submission

MAX_EXPIRY_WINDOW_DAYS = 3650
_Form = TypeVar("_Form", bound=BaseModel)


def _desk(request: Request) -> approval.CodeDesk:
    desk: approval.CodeDesk = request.app.state.code_desk
    return desk


def revision_json(product: Product, revision: Revision) -> dict[str, Any]:
    body = {
        "id": revision.id,
        "product_id": revision.product_id,
        "number": revision.number,
        "status": revision.status,
        "classification": revision.classification,
        "label": revision.label,
        "sds": revision.sds,
        "approved_on": None if revision.approved_on is None else revision.approved_on.isoformat(),
        "version": revision.version,
    }
    if revision.status == "draft":
        # What still stands between the draft and its submission, named field by field.
        body["problems"] = revision_problems(product, revision)
    return body


def _revision_summary(revision: Revision | None) -> dict[str, Any] | None:
    if revision is None:
        return None
    approved = None if revision.approved_on is None else revision.approved_on.isoformat()
    return {
        "id": revision.id,
        "number": revision.number,
        "status": revision.status,
        "approved_on": approved,
    }


def product_json(
    summary: products.ProductSummary, *, with_revisions: bool = False
) -> dict[str, Any]:
    item = summary.product
    if summary.open is not None and summary.open.status == "submitted":
        status = "under_review"
    elif summary.current is not None:
        status = "approved"
    else:
        status = "draft" if summary.open is not None else "new"
    body: dict[str, Any] = {
        "id": item.id,
        "enterprise_id": item.enterprise_id,
        "name": {"zh": item.name_zh, "en": item.name_en},
        "cas_numbers": item.cas_numbers,
        "components": item.components,
        "un_number": item.un_number,
        "catalogue_number": item.catalogue_number,
        "highly_toxic": item.highly_toxic,
        "physical_form": item.physical_form,
        "status": status,
        "code_id": None if item.code_id is None else group_code_id(item.code_id),
        "qr": None if item.code_id is None else f"{PREFIX}/products/{item.id}/qr.svg",
        "current_revision": _revision_summary(summary.current),
        "open_revision": _revision_summary(summary.open),
    }
    if with_revisions:
        body["revisions"] = [_revision_summary(r) for r in summary.revisions]
    return body


def submission_json(submission: Submission, decisions: list[Decision]) -> dict[str, Any]:
    steps = PIPELINES[Pipeline(submission.pipeline)]
    waiting = steps[submission.step] if submission.status == "pending" else None
    return {
        "id": submission.id,
        "pipeline": submission.pipeline,
        "kind": submission.kind,
        "enterprise_id": submission.enterprise_id,
        "status": submission.status,
        "waiting_at": None
        if waiting is None
        else {"step": submission.step, "name": waiting.name, "levels": sorted(waiting.levels)},
        "payload": submission.payload,
        "revision_ids": submission.revision_ids,
        "resubmission_of": submission.resubmission_of,
        "submitted_at": submission.submitted_at.isoformat(),
        "closed_at": None if submission.closed_at is None else submission.closed_at.isoformat(),
        "decisions": [
            {
                "step": d.step,
                "step_name": steps[d.step].name,
                "decision": d.decision,
                "reason": d.reason,
                "decided_by": {"id": d.decided_by, "name": d.decider_name},
                "decided_at": d.decided_at.isoformat(),
            }
            for d in decisions
        ],
    }


def certificate_json(certificate: Certificate) -> dict[str, Any]:
    return {
        "number": certificate.number,
        "enterprise_id": certificate.enterprise_id,
        "enterprise_name": certificate.enterprise_name,
        "issued_on": certificate.issued_on.isoformat(),
        "expires_on": certificate.expires_on.isoformat(),
        "status": certificate.status,
    }


async def create_product(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, ProductForm)
        created = await products.create_product(
            conn, actor, path_id(request, "enterprise_id"), form
        )
    summary = products.ProductSummary(created, [])
    return JSONResponse(product_json(summary), status_code=201)


async def list_products(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await products.products_of(conn, actor, path_id(request, "enterprise_id"))
    return JSONResponse({"products": [product_json(s) for s in found]})


async def get_product(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        summary = await products.product_summary(conn, actor, path_id(request, "product_id"))
    return _product_response(summary)


async def update_product(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        version = if_match_version(request.headers.get("if-match"))
        form = await read_form(request, ProductForm)
        product_id = path_id(request, "product_id")
        await products.update_product(conn, actor, product_id, version, form)
        summary = await products.product_summary(conn, actor, product_id)
    return _product_response(summary)


def _product_response(summary: products.ProductSummary) -> Response:
    return JSONResponse(
        product_json(summary, with_revisions=True),
        headers={"ETag": f'"{summary.product.version}"'},
    )


async def create_revision(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, RevisionForm)
        owner, created = await products.create_revision(
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
        owner, found = await products.revision(conn, actor, path_id(request, "revision_id"))
    return _revision_response(owner, found)


async def update_revision(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        version = if_match_version(request.headers.get("if-match"))
        form = await read_form(request, RevisionForm)
        owner, updated = await products.update_revision(
            conn, actor, path_id(request, "revision_id"), version, form
        )
    return _revision_response(owner, updated)


async def _file(
    request: Request,
    form_type: type[_Form],
    submit: Callable[[Connection, Actor, int, _Form], Awaitable[Submission]],
) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, form_type)
        filed = await submit(conn, actor, path_id(request, "enterprise_id"), form)
    return JSONResponse(submission_json(filed, []), status_code=201)


async def submit_registration(request: Request) -> Response:
    return await _file(request, RegistrationForm, reviews.submit_registration)


async def submit_info_update(request: Request) -> Response:
    return await _file(request, InfoUpdateForm, reviews.submit_info_update)


async def submit_deregistration(request: Request) -> Response:
    return await _file(request, DeregistrationForm, reviews.submit_deregistration)


async def enterprise_submissions(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await reviews.history(conn, actor, path_id(request, "enterprise_id"))
    return JSONResponse({"submissions": [submission_json(s, d) for s, d in found]})


async def review_queue(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await reviews.with_decisions(conn, await reviews.queue(conn, actor))
    return JSONResponse({"submissions": [submission_json(s, d) for s, d in found]})


async def get_submission(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await reviews.submission(conn, actor, path_id(request, "submission_id"))
        [(submission, decisions)] = await reviews.with_decisions(conn, [found])
    return JSONResponse(submission_json(submission, decisions))


async def _decide(request: Request, *, approve: bool) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        reason = None if approve else (await read_form(request, DecisionForm)).reason
        decided = await reviews.decide(
            conn, actor, path_id(request, "submission_id"),
            approve=approve, reason=reason, desk=_desk(request),
        )  # fmt: skip
        [(submission, decisions)] = await reviews.with_decisions(conn, [decided])
    return JSONResponse(submission_json(submission, decisions))


async def approve_submission(request: Request) -> Response:
    return await _decide(request, approve=True)


async def reject_submission(request: Request) -> Response:
    return await _decide(request, approve=False)


async def expiring_certificates(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        raw = request.query_params.get("expiring_within_days", "90")
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_EXPIRY_WINDOW_DAYS:
            raise ValidationFailed(
                "expiring_within_days must be a whole number of days",
                {
                    "expiring_within_days": "must be a whole number from 0 to "
                    f"{MAX_EXPIRY_WINDOW_DAYS}"
                },
            )
        found = await reviews.expiring_certificates(conn, actor, int(raw))
    return JSONResponse({"certificates": [certificate_json(c) for c in found]})


async def _code_status(request: Request, *, suspend: bool) -> Response:
    code_id = request.path_params["code_id"].replace("-", "").upper()
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, CodeStatusForm)
        status = await approval.set_code_status(
            conn, actor, code_id, suspend=suspend, reason=form.reason, desk=_desk(request)
        )
    return JSONResponse({"code_id": group_code_id(code_id), "status": status})


async def suspend_code(request: Request) -> Response:
    return await _code_status(request, suspend=True)


async def reinstate_code(request: Request) -> Response:
    return await _code_status(request, suspend=False)


async def product_qr_svg(request: Request) -> Response:
    return await _product_qr(request, QrFormat.SVG)


async def product_qr_png(request: Request) -> Response:
    return await _product_qr(request, QrFormat.PNG)


async def product_qr_pdf(request: Request) -> Response:
    return await _product_qr(request, QrFormat.PDF)


async def _product_qr(request: Request, fmt: QrFormat) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await products.product(conn, actor, path_id(request, "product_id"))
        if found.code_id is None:
            raise NotFound("the product has no code yet: it gets one on its first approval")
        issued = await find_code(conn, found.code_id)
    url = scan_url(_desk(request).public_base_url, issued.code)
    body = render_qr(url, group_code_id(found.code_id), QrOptions(fmt, module_size=8))
    return Response(body, media_type=MEDIA_TYPES[fmt])


async def qr_sheet(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        summaries = await products.products_of(conn, actor, path_id(request, "enterprise_id"))
        code_ids = [s.product.code_id for s in summaries if s.product.code_id]
        found = {c.code.code_id: c for c in await find_codes(conn, code_ids)}
    codes = [found[code_id] for code_id in code_ids]  # in the products' order
    if not codes:
        raise NotFound("the enterprise has no codes yet: products get them on approval")
    base = _desk(request).public_base_url
    items = [SheetItem(scan_url(base, c.code), group_code_id(c.code.code_id)) for c in codes]
    return Response(render_print_sheet(items), media_type="application/pdf")
