"""HTTP handlers of reviews, and their rows of the endpoint table: filing registrations,
info updates and deregistrations, the review queue, decisions, certificates, and the
suspension of codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from codesvc.codes import group_code_id
from codesvc.issuance import CodeStatus
from codesvc.storage import Connection
from registry_api.accounts.operations import Actor
from registry_api.accounts.routes import signed_in
from registry_api.accounts.rules import Level
from registry_api.enterprises.forms import DecisionForm
from registry_api.errors import ValidationFailed
from registry_api.forms import read_form
from registry_api.products.codes import CodeDesk
from registry_api.requests import (
    Day,
    Endpoint,
    Link,
    QueryParameter,
    Timestamp,
    answer,
    path_id,
    path_text,
    resources,
)
from registry_api.reviews import approval, operations
from registry_api.reviews.forms import (
    CodeStatusForm,
    DeregistrationForm,
    InfoUpdateForm,
    RegistrationForm,
)
from registry_api.reviews.pipelines import PIPELINES, Pipeline
from registry_api.reviews.storage import (
    Certificate,
    CertificateStatus,
    Decision,
    Submission,
    SubmissionStatus,
)

MAX_EXPIRY_WINDOW_DAYS = 3650
_Form = TypeVar("_Form", bound=BaseModel)


def _desk(request: Request) -> CodeDesk:
    desk: CodeDesk = request.app.state.code_desk
    return desk


@answer
class StepView(TypedDict):
    step: int
    name: str
    levels: list[Level]  # who decides it


@answer
class DeciderView(TypedDict):
    id: int
    name: str


@answer
class DecisionView(TypedDict):
    step: int
    step_name: str
    decision: Literal["approve", "reject"]
    reason: str | None
    decided_by: DeciderView
    decided_at: Timestamp


@answer
class SubmissionView(TypedDict):
    id: int
    pipeline: Pipeline
    kind: str  # new, change, renewal; or the pipeline's name
    enterprise_id: int
    status: SubmissionStatus
    waiting_at: StepView | None  # the step it waits at, while pending
    payload: dict[str, Any]  # what was filed besides revisions (changes, a reason)
    revision_ids: list[int]
    resubmission_of: int | None
    submitted_at: Timestamp
    closed_at: Timestamp | None
    decisions: list[DecisionView]


@answer
class SubmissionList(TypedDict):
    submissions: list[SubmissionView]


@answer
class CertificateView(TypedDict):
    number: str
    enterprise_id: int
    enterprise_name: str
    issued_on: Day
    expires_on: Day
    status: CertificateStatus


@answer
class CertificateList(TypedDict):
    certificates: list[CertificateView]


@answer
class CodeStatusView(TypedDict):
    code_id: str
    status: CodeStatus


@answer
class CodeStatusChangeView(TypedDict):
    from_status: CodeStatus | None  # None: the code's issuance
    to_status: CodeStatus
    reason: str
    changed_at: Timestamp


@answer
class CodeView(TypedDict):
    code_id: str
    status: CodeStatus
    product_id: int
    product_name: str
    enterprise_id: int
    enterprise_name: str
    changes: list[CodeStatusChangeView]  # issuance first


def submission_json(submission: Submission, decisions: list[Decision]) -> SubmissionView:
    pipeline = Pipeline(submission.pipeline)
    steps = PIPELINES[pipeline]
    waiting = steps[submission.step] if submission.status == "pending" else None
    return {
        "id": submission.id,
        "pipeline": pipeline,
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


def certificate_json(certificate: Certificate) -> CertificateView:
    return {
        "number": certificate.number,
        "enterprise_id": certificate.enterprise_id,
        "enterprise_name": certificate.enterprise_name,
        "issued_on": certificate.issued_on.isoformat(),
        "expires_on": certificate.expires_on.isoformat(),
        "status": certificate.status,
    }


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
    return await _file(request, RegistrationForm, operations.submit_registration)


async def submit_info_update(request: Request) -> Response:
    return await _file(request, InfoUpdateForm, operations.submit_info_update)


async def submit_deregistration(request: Request) -> Response:
    return await _file(request, DeregistrationForm, operations.submit_deregistration)


async def enterprise_submissions(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.history(conn, actor, path_id(request, "enterprise_id"))
    listed: SubmissionList = {"submissions": [submission_json(s, d) for s, d in found]}
    return JSONResponse(listed)


async def review_queue(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.queue(conn, actor)
    listed: SubmissionList = {"submissions": [submission_json(s, d) for s, d in found]}
    return JSONResponse(listed)


async def get_submission(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        submission, decisions = await operations.submission_with_decisions(
            conn, actor, path_id(request, "submission_id")
        )
    return JSONResponse(submission_json(submission, decisions))


async def _decide(request: Request, *, approve: bool) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        reason = None if approve else (await read_form(request, DecisionForm)).reason
        submission, decisions = await operations.decide(
            conn, actor, path_id(request, "submission_id"),
            approve=approve, reason=reason, desk=_desk(request),
        )  # fmt: skip
    return JSONResponse(submission_json(submission, decisions))


async def approve_submission(request: Request) -> Response:
    return await _decide(request, approve=True)


async def reject_submission(request: Request) -> Response:
    return await _decide(request, approve=False)


async def expiring_certificates(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        raw = request.query_params.get("expiring_within_days", "90")
        # The length first: int() refuses (ValueError) a text of thousands of digits.
        if not (
            raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_EXPIRY_WINDOW_DAYS))
        ) or (int(raw) > MAX_EXPIRY_WINDOW_DAYS):
            raise ValidationFailed(
                "expiring_within_days must be a whole number of days",
                {
                    "expiring_within_days": "must be a whole number from 0 to "
                    f"{MAX_EXPIRY_WINDOW_DAYS}"
                },
            )
        found = await operations.expiring_certificates(conn, actor, int(raw))
    listed: CertificateList = {"certificates": [certificate_json(c) for c in found]}
    return JSONResponse(listed)


async def get_code(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        code_id = path_text(request, "code_id").replace("-", "").upper()
        found = await approval.code_record(conn, actor, code_id)
    body: CodeView = {
        "code_id": group_code_id(code_id),
        "status": found.issued.status,
        "product_id": found.product.id,
        "product_name": found.product.name_zh,
        "enterprise_id": found.enterprise.id,
        "enterprise_name": found.enterprise.name,
        "changes": [
            {
                "from_status": None if c.from_status is None else CodeStatus(c.from_status),
                "to_status": CodeStatus(c.to_status),
                "reason": c.reason,
                "changed_at": c.changed_at.isoformat(),
            }
            for c in found.changes
        ],
    }
    return JSONResponse(body)


async def _code_status(request: Request, *, suspend: bool) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        code_id = path_text(request, "code_id").replace("-", "").upper()
        form = await read_form(request, CodeStatusForm)
        status = await approval.set_code_status(
            conn, actor, code_id, suspend=suspend, reason=form.reason, desk=_desk(request)
        )
    body: CodeStatusView = {"code_id": group_code_id(code_id), "status": status}
    return JSONResponse(body)


async def suspend_code(request: Request) -> Response:
    return await _code_status(request, suspend=True)


async def reinstate_code(request: Request) -> Response:
    return await _code_status(request, suspend=False)


def _submission_links(submission_id: str) -> tuple[Link, ...]:
    return (
        Link("GetSubmission", "GET", "/submissions/{submission_id}",
             {"submission_id": submission_id}),
        Link("ApproveSubmission", "POST", "/submissions/{submission_id}/approve",
             {"submission_id": submission_id}),
        Link("RejectSubmission", "POST", "/submissions/{submission_id}/reject",
             {"submission_id": submission_id}),
    )  # fmt: skip


_FILED = _submission_links("$response.body#/id")
_WRITE = (422,)
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/enterprises/{enterprise_id}/registrations", submit_registration,
             "File a registration (new, change, renewal) with product revisions",
             RegistrationForm, (201, 403, 404, 409, *_WRITE), SubmissionView, links=_FILED),
    Endpoint("POST", "/enterprises/{enterprise_id}/info-updates", submit_info_update,
             "A registered enterprise files changes of its record for review", InfoUpdateForm,
             (201, 403, 404, 409, *_WRITE), SubmissionView, links=_FILED),
    Endpoint("POST", "/enterprises/{enterprise_id}/deregistrations", submit_deregistration,
             "Report a closed enterprise for deregistration (the enterprise or its regulators)",
             DeregistrationForm, (201, 403, 404, 409, *_WRITE), SubmissionView, links=_FILED),
    Endpoint("GET", "/enterprises/{enterprise_id}/submissions", enterprise_submissions,
             "The enterprise's submissions with every decision and reason", None, (200, 404),
             SubmissionList),
    Endpoint("GET", "/reviews", review_queue,
             "Submissions waiting at a step of the own level, inside the own jurisdiction",
             None, (200, 403), SubmissionList,
             links=_submission_links("$response.body#/submissions/0/id")),
    Endpoint("GET", "/submissions/{submission_id}", get_submission,
             "A submission with its decisions", None, (200, 404), SubmissionView),
    Endpoint("POST", "/submissions/{submission_id}/approve", approve_submission,
             "Approve the step waiting (the last step carries the submission out)", None,
             (200, 403, 404, 409), SubmissionView),
    Endpoint("POST", "/submissions/{submission_id}/reject", reject_submission,
             "Reject with a reason: the submission returns to the enterprise", DecisionForm,
             (200, 403, 404, 409, *_WRITE), SubmissionView),
    Endpoint("GET", "/certificates", expiring_certificates,
             "Registration certificates in scope expiring within a number of days",
             None, (200, 403, 422), CertificateList,
             query=(QueryParameter("expiring_within_days",
                                   {"type": "integer", "minimum": 0,
                                    "maximum": MAX_EXPIRY_WINDOW_DAYS, "default": 90},
                                   "expiring on or before today plus this many days"),)),
    Endpoint("GET", "/codes/{code_id}", get_code,
             "A code: its product, enterprise, status and every status change with its reason",
             None, (200, 404), CodeView),
    Endpoint("POST", "/codes/{code_id}/suspend", suspend_code,
             "Suspend a code with a reason (admins, reviewers)", CodeStatusForm,
             (200, 403, 404, 409, *_WRITE), CodeStatusView),
    Endpoint("POST", "/codes/{code_id}/reinstate", reinstate_code,
             "Reinstate a suspended code with a reason (admins, reviewers)", CodeStatusForm,
             (200, 403, 404, 409, *_WRITE), CodeStatusView),
)  # fmt: skip
