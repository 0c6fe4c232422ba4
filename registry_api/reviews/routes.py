"""HTTP handlers of reviews, and their rows of the endpoint table: filing registrations,
info updates and deregistrations, the review queue, decisions, certificates, and the
suspension of codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from codesvc.codes import group_code_id
from codesvc.storage import Connection
from registry_api.accounts.operations import Actor
from registry_api.accounts.routes import signed_in
from registry_api.enterprises.forms import DecisionForm
from registry_api.errors import ValidationFailed
from registry_api.forms import read_form
from registry_api.products.codes import CodeDesk
from registry_api.requests import Endpoint, Link, QueryParameter, path_id, path_text, resources
from registry_api.reviews import approval, operations
from registry_api.reviews.forms import (
    CodeStatusForm,
    DeregistrationForm,
    InfoUpdateForm,
    RegistrationForm,
)
from registry_api.reviews.pipelines import PIPELINES, Pipeline
from registry_api.reviews.storage import Certificate, Decision, Submission

MAX_EXPIRY_WINDOW_DAYS = 3650
_Form = TypeVar("_Form", bound=BaseModel)


def _desk(request: Request) -> CodeDesk:
    desk: CodeDesk = request.app.state.code_desk
    return desk


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
    return JSONResponse({"submissions": [submission_json(s, d) for s, d in found]})


async def review_queue(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.queue(conn, actor)
    return JSONResponse({"submissions": [submission_json(s, d) for s, d in found]})


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
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_EXPIRY_WINDOW_DAYS:
            raise ValidationFailed(
                "expiring_within_days must be a whole number of days",
                {
                    "expiring_within_days": "must be a whole number from 0 to "
                    f"{MAX_EXPIRY_WINDOW_DAYS}"
                },
            )
        found = await operations.expiring_certificates(conn, actor, int(raw))
    return JSONResponse({"certificates": [certificate_json(c) for c in found]})


async def _code_status(request: Request, *, suspend: bool) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        code_id = path_text(request, "code_id").replace("-", "").upper()
        form = await read_form(request, CodeStatusForm)
        status = await approval.set_code_status(
            conn, actor, code_id, suspend=suspend, reason=form.reason, desk=_desk(request)
        )
    return JSONResponse({"code_id": group_code_id(code_id), "status": status})


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
             RegistrationForm, (201, 403, 404, 409, *_WRITE), links=_FILED),
    Endpoint("POST", "/enterprises/{enterprise_id}/info-updates", submit_info_update,
             "A registered enterprise files changes of its record for review", InfoUpdateForm,
             (201, 403, 404, 409, *_WRITE), links=_FILED),
    Endpoint("POST", "/enterprises/{enterprise_id}/deregistrations", submit_deregistration,
             "Report a closed enterprise for deregistration (the enterprise or its regulators)",
             DeregistrationForm, (201, 403, 404, 409, *_WRITE), links=_FILED),
    Endpoint("GET", "/enterprises/{enterprise_id}/submissions", enterprise_submissions,
             "The enterprise's submissions with every decision and reason", None, (200, 404)),
    Endpoint("GET", "/reviews", review_queue,
             "Submissions waiting at a step of the own level, inside the own jurisdiction",
             None, (200, 403), links=_submission_links("$response.body#/submissions/0/id")),
    Endpoint("GET", "/submissions/{submission_id}", get_submission,
             "A submission with its decisions", None, (200, 404)),
    Endpoint("POST", "/submissions/{submission_id}/approve", approve_submission,
             "Approve the step waiting (the last step carries the submission out)", None,
             (200, 403, 404, 409)),
    Endpoint("POST", "/submissions/{submission_id}/reject", reject_submission,
             "Reject with a reason: the submission returns to the enterprise", DecisionForm,
             (200, 403, 404, 409, *_WRITE)),
    Endpoint("GET", "/certificates", expiring_certificates,
             "Registration certificates in scope expiring within a number of days",
             None, (200, 403, 422),
             query=(QueryParameter("expiring_within_days",
                                   {"type": "integer", "minimum": 0,
                                    "maximum": MAX_EXPIRY_WINDOW_DAYS, "default": 90},
                                   "expiring on or before today plus this many days"),)),
    Endpoint("POST", "/codes/{code_id}/suspend", suspend_code,
             "Suspend a code with a reason (admins, reviewers)", CodeStatusForm,
             (200, 403, 404, 409, *_WRITE)),
    Endpoint("POST", "/codes/{code_id}/reinstate", reinstate_code,
             "Reinstate a suspended code with a reason (admins, reviewers)", CodeStatusForm,
             (200, 403, 404, 409, *_WRITE)),
)  # fmt: skip
