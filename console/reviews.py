"""Pages of the regulators' review work: the queue by pipeline and waiting time, a
submission's page with what it changes side by side, approve and reject-with-reason,
certificates expiring, and a code's page to suspend or reinstate it.

Every page calls the reviews domain's operations with the signed-in actor, as the JSON
handlers in `registry_api/reviews/routes.py` do; where the registry answers 409 because
someone else decided first, the reader is told so instead of an error. Enterprise
applications are in `applications.py` (their routes are served from here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.codes import group_code_id, scan_url
from codesvc.storage import Connection
from console import applications, notices
from console.forms import checked, field_errors, posted
from console.navigation import connection
from console.rendering import PREFIX, lang_of, page, see_other, tr
from console.review_changes import (
    RevisionChanges,
    base_revision,
    enterprise_record,
    field_label,
    record_rows,
    revision_rows,
)
from console.sessions import signed_in
from public_site.pages import Lang
from registry_api.accounts.operations import Actor
from registry_api.accounts.rules import Role
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises.forms import DecisionForm
from registry_api.errors import Conflict, Forbidden, ValidationFailed
from registry_api.products import operations as products
from registry_api.products.codes import CodeDesk
from registry_api.requests import path_id, path_text
from registry_api.reviews import approval, operations
from registry_api.reviews.forms import CodeStatusForm
from registry_api.reviews.pipelines import PIPELINES, Pipeline, may_decide
from registry_api.reviews.routes import MAX_EXPIRY_WINDOW_DAYS
from registry_api.reviews.storage import Submission

DEFAULT_EXPIRY_WINDOW_DAYS = 90
PIPELINE_NAMES: dict[str, tuple[str, str]] = {
    Pipeline.REGISTRATION: ("登记审核", "Registration"),
    Pipeline.INFO_UPDATE: ("信息变更", "Information update"),
    Pipeline.DEREGISTRATION: ("注销", "Deregistration"),
}
KIND_NAMES: dict[str, tuple[str, str]] = {
    "new": ("新登记", "New registration"),
    "change": ("变更登记", "Change"),
    "renewal": ("复核换证", "Renewal"),
    "info_update": ("企业信息变更", "Update of the record"),
    "deregistration": ("企业注销", "Deregistration"),
}


def _desk(request: Request) -> CodeDesk:
    desk: CodeDesk = request.app.state.code_desk
    return desk


def step_name(pipeline: str, step: int, lang: Lang) -> str:
    """A step's name in the reader's language (the pipelines name them "中文 English")."""
    zh, _, en = PIPELINES[Pipeline(pipeline)][step].name.partition(" ")
    return tr(lang, zh, en or zh)


def waiting_time(since: datetime, now: datetime, lang: Lang) -> str:
    """How long a submission has waited, to the hour ("2 天 3 小时", "2 d 3 h")."""
    waited = max(now - since, timedelta(0))
    days, hours = waited.days, waited.seconds // 3600
    if days:
        return tr(lang, f"{days} 天 {hours} 小时", f"{days} d {hours} h")
    if hours:
        return tr(lang, f"{hours} 小时", f"{hours} h")
    minutes = waited.seconds // 60
    return tr(lang, f"{minutes} 分钟", f"{minutes} min")


def filed_summary(submission: Submission, lang: Lang) -> str:
    """What a submission files, in a line: products, the fields to change, or the reason."""
    kind = tr(lang, *KIND_NAMES.get(submission.kind, (submission.kind, submission.kind)))
    if submission.pipeline == Pipeline.REGISTRATION:
        names = "、".join(submission.product_names)
        return f"{kind}: {names}" if names else kind
    if submission.pipeline == Pipeline.INFO_UPDATE:
        fields = submission.payload.get("changes", {})
        return f"{kind}: " + ", ".join(tr(lang, *field_label(name)) for name in fields)
    return f"{kind}: {submission.payload.get('reason', '')}"


@dataclass(frozen=True, slots=True)
class QueueRow:
    submission: Submission
    what: str
    step: str
    waiting: str


# A province's queue can hold thousands: a table shows this many at a time, oldest first.
QUEUE_PAGE_ROWS = 100


@dataclass(frozen=True, slots=True)
class QueueTable:
    pipeline: str
    names: tuple[str, str]
    rows: list[QueueRow]  # this page's
    total: int
    start: int  # the offset of the first row shown
    next_start: int | None
    previous_start: int | None


def _queue_start(text: str) -> int:
    """Where a page of a queue starts (`?from=`); anything but a small whole number is 0."""
    return int(text) if text.isdigit() and len(text) <= 7 else 0


async def review_queue(request: Request) -> Response:
    """`/console/reviews`: what waits for the reader, one table per pipeline, oldest first."""
    lang = lang_of(request)
    chosen = request.query_params.get("pipeline", "")
    errors: dict[str, str] = {}
    if chosen and chosen not in PIPELINE_NAMES:
        errors["pipeline"] = tr(lang, "没有这个审核流程。", "There is no such pipeline.")
        chosen = ""
    start = _queue_start(request.query_params.get("from", "0")) if chosen else 0
    shown = [p for p in Pipeline if not chosen or chosen == p]
    now = datetime.now(UTC)
    groups: list[QueueTable] = []
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        reviews = True
        for pipeline in shown:
            try:
                waiting, total = await operations.queue_page(
                    conn, actor, pipeline, offset=start, limit=QUEUE_PAGE_ROWS
                )
            except Forbidden:
                if actor.account.kind == "enterprise":
                    raise
                reviews = False  # a viewer: it reads, it does not review
                break
            after = start + QUEUE_PAGE_ROWS
            groups.append(
                QueueTable(
                    pipeline,
                    PIPELINE_NAMES[pipeline],
                    [
                        QueueRow(
                            s,
                            filed_summary(s, lang),
                            step_name(s.pipeline, s.step, lang),
                            waiting_time(s.submitted_at, now, lang),
                        )
                        for s in waiting
                    ],
                    total=total,
                    start=start,
                    next_start=after if after < total else None,
                    previous_start=max(0, start - QUEUE_PAGE_ROWS) if start > 0 else None,
                )
            )
        unread = await notices.unread_notices(conn, actor)  # the start page shows them
    return page(
        request,
        "reviews.html",
        status=422 if errors else 200,
        actor=actor,
        unread_notices=unread,
        reviews=reviews,
        groups=groups,
        pipelines=[("", tr(lang, "全部", "All"))]
        + [(p.value, tr(lang, *PIPELINE_NAMES[p])) for p in Pipeline],
        chosen=chosen,
        errors=errors,
    )


async def _submission_page(
    request: Request,
    conn: Connection,
    actor: Actor,
    submission_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    lang = lang_of(request)
    submission, decisions = await operations.submission_with_decisions(conn, actor, submission_id)
    enterprise = await enterprises.enterprise(conn, actor, submission.enterprise_id)
    revisions: list[RevisionChanges] = []
    if submission.pipeline == Pipeline.REGISTRATION:
        for revision_id in submission.revision_ids:
            product, filed = await products.revision(conn, actor, revision_id)
            summary = await products.product_summary(conn, actor, product.id)
            base = base_revision(summary.revisions, filed)
            rows = revision_rows(product, filed, base, lang)
            revisions.append(RevisionChanges(product, filed, base, rows))
    record_changes = (
        record_rows(enterprise, submission.payload.get("changes", {}), lang)
        if submission.pipeline == Pipeline.INFO_UPDATE
        else []
    )
    # Whether to offer the buttons; the operation decides again on the POST.
    deciding = (
        submission.status == "pending"
        and actor.account.kind != "enterprise"
        and may_decide(
            Pipeline(submission.pipeline), submission.step, actor.account.role, actor.account.level
        )
    )
    return page(
        request,
        "submission.html",
        status=status,
        actor=actor,
        submission=submission,
        kind=tr(lang, *KIND_NAMES.get(submission.kind, (submission.kind, submission.kind))),
        pipeline=tr(lang, *PIPELINE_NAMES[submission.pipeline]),
        waiting_at=step_name(submission.pipeline, submission.step, lang)
        if submission.status == "pending"
        else None,
        decisions=[(d, step_name(submission.pipeline, d.step, lang)) for d in decisions],
        enterprise=enterprise,
        record=enterprise_record(enterprise, lang),
        revisions=revisions,
        record_changes=record_changes,
        deciding=deciding,
        group_code_id=group_code_id,
        errors=errors or {},
        values=values or {},
    )


async def submission_page(request: Request) -> Response:
    """`/console/submissions/{id}`: what is filed, what it changes, the decisions so far."""
    submission_id = path_id(request, "submission_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        return await _submission_page(request, conn, actor, submission_id)


async def _decided_elsewhere(
    conn: Connection, actor: Actor, submission_id: int, step_seen: str
) -> bool:
    """Whether the submission left the step the reader saw: someone else decided first."""
    now = await operations.submission(conn, actor, submission_id)
    return now.status != "pending" or str(now.step) != step_seen


async def _decide(request: Request, *, approve: bool) -> Response:
    form = await posted(request)
    submission_id = path_id(request, "submission_id")
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        reason = None
        if not approve:
            try:
                reason = checked(DecisionForm, {"reason": form.get("reason")}).reason
            except ValidationFailed as exc:
                return await _submission_page(
                    request, conn, actor, submission_id, status=422,
                    errors=field_errors(request, exc.fields), values=form.values(),
                )  # fmt: skip
        try:
            await operations.decide(
                conn, actor, submission_id, approve=approve, reason=reason, desk=_desk(request)
            )
        except Conflict:
            if await _decided_elsewhere(conn, actor, submission_id, form.get("step")):
                return see_other(
                    request, f"{PREFIX}/submissions/{submission_id}", done="decided_elsewhere"
                )
            raise  # another conflict (the enterprise deregistered): the 409 page says which
    return see_other(request, f"{PREFIX}/reviews", done="approved" if approve else "rejected")


async def approve_submission(request: Request) -> Response:
    return await _decide(request, approve=True)


async def reject_submission(request: Request) -> Response:
    return await _decide(request, approve=False)


async def expiring_certificates(request: Request) -> Response:
    """`/console/certificates`: valid certificates in scope expiring within N days."""
    lang = lang_of(request)
    raw = request.query_params.get("expiring_within_days", "").strip()
    raw = raw or str(DEFAULT_EXPIRY_WINDOW_DAYS)
    errors: dict[str, str] = {}
    # The length first: int() refuses (ValueError) a text of thousands of digits.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_EXPIRY_WINDOW_DAYS))) or (
        int(raw) > MAX_EXPIRY_WINDOW_DAYS
    ):
        errors["expiring_within_days"] = tr(
            lang,
            f"请填写 0 到 {MAX_EXPIRY_WINDOW_DAYS} 之间的整数天数。",
            f"Give a whole number of days from 0 to {MAX_EXPIRY_WINDOW_DAYS}.",
        )
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = [] if errors else await operations.expiring_certificates(conn, actor, int(raw))
    today = date.today()
    return page(
        request,
        "certificates.html",
        status=422 if errors else 200,
        actor=actor,
        certificates=[(c, (c.expires_on - today).days) for c in found],
        days=raw,
        errors=errors,
        values={"expiring_within_days": raw},
    )


def _code_id(request: Request) -> str:
    return path_text(request, "code_id").replace("-", "").upper()


async def _code_page(
    request: Request,
    conn: Connection,
    actor: Actor,
    code_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    found = await approval.code_record(conn, actor, code_id)
    return page(
        request,
        "code_page.html",
        status=status,
        actor=actor,
        code=found,
        code_id=group_code_id(code_id),
        path_code_id=code_id,
        scan=scan_url(request.app.state.public_base_url, found.issued.code),
        # Whether to offer the form; `set_code_status` decides again on the POST.
        changing=actor.account.kind != "enterprise"
        and actor.account.role in (Role.ADMIN, Role.REVIEWER),
        errors=errors or {},
        values=values or {},
    )


async def code_page(request: Request) -> Response:
    """`/console/codes/{code_id}`: a code's product, enterprise, status and its changes."""
    code_id = _code_id(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        return await _code_page(request, conn, actor, code_id)


async def _set_code_status(request: Request, *, suspend: bool) -> Response:
    form = await posted(request)
    code_id = _code_id(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        try:
            reason = checked(CodeStatusForm, {"reason": form.get("reason")}).reason
        except ValidationFailed as exc:
            return await _code_page(
                request, conn, actor, code_id, status=422,
                errors=field_errors(request, exc.fields), values=form.values(),
            )  # fmt: skip
        await approval.set_code_status(
            conn, actor, code_id, suspend=suspend, reason=reason, desk=_desk(request)
        )
    done = "suspended" if suspend else "reinstated"
    return see_other(request, f"{PREFIX}/codes/{code_id}", done=done)


async def suspend_code(request: Request) -> Response:
    return await _set_code_status(request, suspend=True)


async def reinstate_code(request: Request) -> Response:
    return await _set_code_status(request, suspend=False)


ROUTES = [
    Route(f"{PREFIX}/reviews", review_queue, methods=["GET"]),
    Route(f"{PREFIX}/submissions/{{submission_id}}", submission_page, methods=["GET"]),
    Route(f"{PREFIX}/submissions/{{submission_id}}/approve", approve_submission, methods=["POST"]),
    Route(f"{PREFIX}/submissions/{{submission_id}}/reject", reject_submission, methods=["POST"]),
    Route(f"{PREFIX}/certificates", expiring_certificates, methods=["GET"]),
    Route(f"{PREFIX}/codes/{{code_id}}", code_page, methods=["GET"]),
    Route(f"{PREFIX}/codes/{{code_id}}/suspend", suspend_code, methods=["POST"]),
    Route(f"{PREFIX}/codes/{{code_id}}/reinstate", reinstate_code, methods=["POST"]),
    *applications.ROUTES,
]
