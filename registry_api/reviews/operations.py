"""Operations of reviews: filing registrations (new, change, renewal), updates of registered
enterprises and deregistrations; the queue; decisions. The steps are
`pipelines.PIPELINES`; a final approval is carried out by `approval.carry_out` in the
decision's transaction.

A rejection closes the submission with its reason and returns the revisions to the
enterprise as drafts; a resubmission names the rejected submission it follows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from codesvc.storage import Connection
from registry_api.accounts.operations import Actor, audit
from registry_api.accounts.rules import Jurisdiction, Role
from registry_api.audit import changed_fields
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises import storage as enterprises_db
from registry_api.errors import Conflict, Forbidden, NotFound, ValidationFailed
from registry_api.products import storage as products_db
from registry_api.products.codes import CodeDesk
from registry_api.products.filings import revision_problems
from registry_api.reviews import storage as db
from registry_api.reviews.approval import carry_out
from registry_api.reviews.forms import DeregistrationForm, InfoUpdateForm, RegistrationForm
from registry_api.reviews.pipelines import (
    Pipeline,
    RegistrationKind,
    is_final,
    may_decide,
    renewal_opens_on,
    step_of,
    steps_for_level,
)
from registry_api.reviews.storage import Certificate, Decision, Submission

# A submission with every decision taken on it, in step order.
Reviewed = tuple[Submission, list[Decision]]


async def _resubmission(
    conn: Connection, enterprise_id: int, pipeline: Pipeline, resubmission_of: int | None
) -> dict[str, str]:
    if resubmission_of is None:
        return {}
    earlier = await db.fetch_submission(conn, resubmission_of)
    if (
        earlier is None
        or earlier.enterprise_id != enterprise_id
        or earlier.pipeline != pipeline
        or earlier.status != "rejected"
    ):
        return {"resubmission_of": f"must be a rejected {pipeline} submission of the enterprise"}
    return {}


async def _file(
    conn: Connection,
    actor: Actor,
    *,
    pipeline: Pipeline,
    kind: str,
    enterprise_id: int,
    payload: dict[str, Any],
    revision_ids: list[int],
    resubmission_of: int | None,
) -> Submission:
    created = await db.insert_submission(
        conn,
        pipeline=pipeline,
        kind=kind,
        enterprise_id=enterprise_id,
        payload=payload,
        revision_ids=revision_ids,
        resubmission_of=resubmission_of,
        submitted_by=actor.account.id,
    )
    if created is None:
        raise Conflict(f"the enterprise has a {pipeline} submission under review already")
    await audit(
        conn, actor, f"submission.{pipeline}", "submission", str(created),
        changed_fields(None, {"kind": kind, "revision_ids": revision_ids, **payload,
                              "resubmission_of": resubmission_of}),
    )  # fmt: skip
    found = await db.fetch_submission(conn, created)
    assert found is not None
    return found


async def submit_registration(
    conn: Connection, actor: Actor, enterprise_id: int, form: RegistrationForm
) -> Submission:
    """File products' revisions for registration; every problem of every revision named."""
    async with conn.transaction():
        enterprise = await enterprises.enterprise(conn, actor, enterprise_id)
        if actor.account.kind != "enterprise":
            raise Forbidden("an enterprise files its own registration")
        if enterprise.status != "active":
            raise Conflict("the enterprise is deregistered")
        kind = RegistrationKind(form.kind)
        certificate = await db.fetch_valid_certificate(conn, enterprise_id)
        _check_kind(kind, certificate, date.today())
        problems = await _resubmission(
            conn, enterprise_id, Pipeline.REGISTRATION, form.resubmission_of
        )
        if kind is not RegistrationKind.RENEWAL and not form.revision_ids:
            problems["revision_ids"] = f"a {kind} registration files at least one revision"
        if len(set(form.revision_ids)) != len(form.revision_ids):
            problems["revision_ids"] = "names a revision twice"
        for i, revision_id in enumerate(form.revision_ids):
            problems |= await _revision_problems(conn, enterprise_id, revision_id, i)
        if problems:
            raise ValidationFailed(f"{len(problems)} problem(s) in the registration", problems)
        submission = await _file(
            conn, actor, pipeline=Pipeline.REGISTRATION, kind=kind, enterprise_id=enterprise_id,
            payload={}, revision_ids=form.revision_ids, resubmission_of=form.resubmission_of,
        )  # fmt: skip
        await products_db.set_revision_status(
            conn, form.revision_ids, from_status="draft", to_status="submitted"
        )
    return submission


def _check_kind(kind: RegistrationKind, certificate: Certificate | None, today: date) -> None:
    if kind is RegistrationKind.NEW and certificate is not None:
        raise Conflict(
            f"the enterprise holds certificate {certificate.number}; file a change or a renewal"
        )
    if kind is not RegistrationKind.NEW and certificate is None:
        raise Conflict(f"a {kind} needs a valid certificate; file a new registration")
    if kind is RegistrationKind.RENEWAL and certificate is not None:
        opens = renewal_opens_on(certificate.expires_on)
        if today < opens:
            raise Conflict(
                f"certificate {certificate.number} expires on {certificate.expires_on}; "
                f"renewal opens on {opens}"
            )


async def _revision_problems(
    conn: Connection, enterprise_id: int, revision_id: int, index: int
) -> dict[str, str]:
    path = f"revision_ids[{index}]"
    found = await products_db.fetch_revision(conn, revision_id)
    owner = None if found is None else await products_db.fetch_product(conn, found.product_id)
    if found is None or owner is None or owner.enterprise_id != enterprise_id:
        return {path: f"{revision_id} is not a revision of the enterprise's products"}
    if found.status != "draft":
        return {path: f"revision {found.number} of {owner.name_zh} is {found.status}, not a draft"}
    return {
        f"revisions[{index}].{field}": message
        for field, message in revision_problems(owner, found).items()
    }


async def submit_info_update(
    conn: Connection, actor: Actor, enterprise_id: int, form: InfoUpdateForm
) -> Submission:
    """A registered enterprise asks to change its record; the changes apply on approval."""
    async with conn.transaction():
        current = await enterprises.enterprise(conn, actor, enterprise_id)
        if actor.account.kind != "enterprise":
            raise Forbidden("an enterprise files changes of its own record")
        if await db.fetch_valid_certificate(conn, enterprise_id) is None:
            raise Conflict(
                "the enterprise is not registered yet: it changes its record directly "
                f"(PATCH /api/v1/enterprises/{enterprise_id})"
            )
        changes = form.changes.model_dump(exclude_unset=True, mode="json")
        problems = await _resubmission(
            conn, enterprise_id, Pipeline.INFO_UPDATE, form.resubmission_of
        )
        try:
            await enterprises.check_changes(conn, current, changes)
        except ValidationFailed as exc:
            problems |= {f"changes.{path}": message for path, message in exc.fields.items()}
        if problems:
            raise ValidationFailed(f"{len(problems)} problem(s) in the update", problems)
        return await _file(
            conn, actor, pipeline=Pipeline.INFO_UPDATE, kind=Pipeline.INFO_UPDATE,
            enterprise_id=enterprise_id, payload={"changes": changes}, revision_ids=[],
            resubmission_of=form.resubmission_of,
        )  # fmt: skip


async def submit_deregistration(
    conn: Connection, actor: Actor, enterprise_id: int, form: DeregistrationForm
) -> Submission:
    """A closed enterprise is reported, by itself or by an admin or reviewer of a
    regulator above it (the first review step is its county's or city's)."""
    async with conn.transaction():
        found = await enterprises.enterprise(conn, actor, enterprise_id)
        if actor.account.kind != "enterprise" and actor.account.role not in (
            Role.ADMIN,
            Role.REVIEWER,
        ):
            raise Forbidden("viewers do not report closed enterprises")
        if found.status != "active":
            raise Conflict("the enterprise is deregistered already")
        problems = await _resubmission(
            conn, enterprise_id, Pipeline.DEREGISTRATION, form.resubmission_of
        )
        if problems:
            raise ValidationFailed("the deregistration cannot be filed", problems)
        return await _file(
            conn, actor, pipeline=Pipeline.DEREGISTRATION, kind=Pipeline.DEREGISTRATION,
            enterprise_id=enterprise_id, payload={"reason": form.reason}, revision_ids=[],
            resubmission_of=form.resubmission_of,
        )  # fmt: skip


def _regulator(actor: Actor) -> Jurisdiction:
    if actor.unit is None or actor.account.role is None:
        raise Forbidden("regulators review submissions; an enterprise sees its own")
    return actor.unit


def _queue_of(actor: Actor) -> tuple[Jurisdiction, list[tuple[str, int]]]:
    """The reviewer's unit and the (pipeline, step) pairs its level decides."""
    unit = _regulator(actor)
    if actor.account.role not in (Role.ADMIN, Role.REVIEWER):
        raise Forbidden("viewers do not review; admins and reviewers do")
    return unit, [(pipeline.value, index) for pipeline, index in steps_for_level(unit.level)]


async def queue(conn: Connection, actor: Actor) -> list[Reviewed]:
    """What waits for the actor: submissions at a step of its level, inside its unit."""
    unit, steps = _queue_of(actor)
    waiting = await db.fetch_waiting(conn, steps, unit.path) if steps else []
    return await with_decisions(conn, waiting)


async def queue_page(
    conn: Connection, actor: Actor, pipeline: Pipeline, *, offset: int, limit: int
) -> tuple[list[Submission], int]:
    """One page of what waits for the actor in `pipeline`, oldest first (as `queue`), and
    how many wait in it in all."""
    unit, steps = _queue_of(actor)
    steps = [(name, index) for name, index in steps if name == pipeline.value]
    if not steps:
        return [], 0
    shown, total = await db.fetch_waiting_page(conn, steps, unit.path, offset=offset, limit=limit)
    if not shown and offset > 0:  # past the end: the total is still worth saying
        total = await db.count_waiting(conn, steps, unit.path)
    return shown, total


async def submission(conn: Connection, actor: Actor, submission_id: int) -> Submission:
    found = await db.fetch_submission(conn, submission_id)
    if found is None:
        raise NotFound(f"no submission {submission_id}")
    if actor.account.kind == "enterprise":
        visible = actor.account.enterprise_id == found.enterprise_id
    else:
        path = _regulator(actor).path
        visible = found.county_path == path or found.county_path.startswith(path + "/")
    if not visible:
        raise NotFound(f"no submission {submission_id}")
    return found


async def submission_with_decisions(conn: Connection, actor: Actor, submission_id: int) -> Reviewed:
    [reviewed] = await with_decisions(conn, [await submission(conn, actor, submission_id)])
    return reviewed


async def history(conn: Connection, actor: Actor, enterprise_id: int) -> list[Reviewed]:
    """The enterprise's submissions, newest first, each with its decisions and reasons."""
    await enterprises.enterprise(conn, actor, enterprise_id)
    submissions = await db.fetch_enterprise_submissions(conn, enterprise_id)
    return await with_decisions(conn, submissions)


async def with_decisions(conn: Connection, submissions: list[Submission]) -> list[Reviewed]:
    by_submission: dict[int, list[Decision]] = {s.id: [] for s in submissions}
    for decision in await db.fetch_decisions(conn, [s.id for s in submissions]):
        by_submission[decision.submission_id].append(decision)
    return [(s, by_submission[s.id]) for s in submissions]


async def decide(
    conn: Connection,
    actor: Actor,
    submission_id: int,
    *,
    approve: bool,
    reason: str | None,
    desk: CodeDesk,
) -> Reviewed:
    """Approve or reject the step the submission waits at. Of two deciding at once, one
    wins and the other gets 409; the final approval carries the submission out."""
    async with conn.transaction():
        found = await submission(conn, actor, submission_id)
        unit = _regulator(actor)
        pipeline = Pipeline(found.pipeline)
        role = actor.account.role
        if role not in (Role.ADMIN, Role.REVIEWER):
            raise Forbidden("viewers do not review; admins and reviewers do")
        if found.status != "pending":
            raise Conflict(f"the submission was {found.status} already")
        if not may_decide(pipeline, found.step, role, unit.level):
            if any(may_decide(pipeline, i, role, unit.level) for i in range(found.step)):
                raise Conflict("the step was decided already; the submission has moved on")
            raise Forbidden(f"the step waiting is {step_of(pipeline, found.step).name}")
        if approve and pipeline is not Pipeline.DEREGISTRATION:
            owner = await enterprises_db.fetch_enterprise(conn, found.enterprise_id)
            if owner is None or owner.status != "active":
                raise Conflict("the enterprise is deregistered: reject the submission instead")
        final = is_final(pipeline, found.step)
        decided = await db.record_decision(
            conn, submission_id, step=found.step, decision="approve" if approve else "reject",
            reason=reason, decided_by=actor.account.id, final=final,
        )  # fmt: skip
        if not decided:
            raise Conflict("someone decided this step first; the submission has moved on")
        if not approve:
            await products_db.set_revision_status(
                conn, found.revision_ids, from_status="submitted", to_status="draft"
            )
        elif final:
            await carry_out(conn, actor, found, desk)
        await audit(
            conn, actor, "submission.approve" if approve else "submission.reject",
            "submission", str(submission_id),
            {"step": {"before": found.step, "after": step_of(pipeline, found.step).name},
             "reason": {"before": None, "after": reason}},
        )  # fmt: skip
        after = await db.fetch_submission(conn, submission_id)
        assert after is not None
        [reviewed] = await with_decisions(conn, [after])
    return reviewed


async def expiring_certificates(conn: Connection, actor: Actor, days: int) -> list[Certificate]:
    unit = _regulator(actor)
    until = date.fromordinal(date.today().toordinal() + days)
    return await db.fetch_expiring(conn, unit.path, until)
