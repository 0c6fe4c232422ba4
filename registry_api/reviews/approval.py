"""What decisions do to codes and records: the final approval of a submission carried out,
and a regulator's suspension or reinstatement of one code.

- registration: each revision becomes its product's current one (the previous superseded),
  the product's code is issued the first time, the public record is published through
  `codesvc.publish`; a new registration or a renewal issues the certificate;
- info_update: the changes are applied to the enterprise record;
- deregistration: the enterprise is deregistered, every code of it revoked (scans answer
  410 with the date and reason), its certificate revoked.

All of it in the caller's transaction, and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from codesvc.errors import CodeStateError, InvalidArgument
from codesvc.errors import NotFoundError as CodeNotFound
from codesvc.issuance import CodeStatus, IssuedCode, change_code_status, code_history, find_code
from codesvc.storage import Connection, StatusChangeRow
from registry_api.accounts.operations import Actor, audit
from registry_api.accounts.rules import Role
from registry_api.audit import changed_fields
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises import storage as enterprises_db
from registry_api.errors import Conflict, Forbidden, NotFound
from registry_api.products import storage as products_db
from registry_api.products.codes import CodeDesk, publish_revision
from registry_api.products.storage import Product
from registry_api.reviews import storage as db
from registry_api.reviews.pipelines import (
    Pipeline,
    RegistrationKind,
    certificate_expiry,
    certificate_number,
)
from registry_api.reviews.storage import Submission


def _submitter(actor: Actor) -> str:
    return f"account:{actor.account.id}"


async def carry_out(conn: Connection, actor: Actor, found: Submission, desk: CodeDesk) -> None:
    today = date.today()
    if found.pipeline == Pipeline.REGISTRATION:
        for revision_id in found.revision_ids:
            await publish_revision(conn, revision_id, today, desk)
        if found.kind in (RegistrationKind.NEW, RegistrationKind.RENEWAL):
            certificate = await db.issue_certificate(
                conn, enterprise_id=found.enterprise_id, submission_id=found.id,
                issued_on=today, expires_on=certificate_expiry(today),
                number_of=lambda n: certificate_number(desk.province, today, n),
            )  # fmt: skip
            await audit(
                conn, actor, "certificate.issue", "certificate", certificate.number,
                changed_fields(None, {"enterprise_id": found.enterprise_id,
                                      "expires_on": certificate.expires_on.isoformat()}),
            )  # fmt: skip
    elif found.pipeline == Pipeline.INFO_UPDATE:
        current = await enterprises_db.fetch_enterprise(conn, found.enterprise_id)
        assert current is not None
        changes = found.payload["changes"]
        updated = await enterprises_db.update_enterprise(conn, current.id, current.version, changes)
        assert updated is not None  # the row is ours in this transaction
        await audit(
            conn, actor, "enterprise.update", "enterprise", str(current.id),
            changed_fields(enterprises.enterprise_fields(current),
                           enterprises.enterprise_fields(updated)),
        )  # fmt: skip
    else:
        await _deregister(conn, actor, found, desk, today)


async def _deregister(
    conn: Connection, actor: Actor, found: Submission, desk: CodeDesk, today: date
) -> None:
    reason = f"企业注销 Enterprise deregistered ({today}): {found.payload['reason']}"
    await enterprises_db.set_deregistered(conn, found.enterprise_id)
    await db.revoke_certificates(conn, found.enterprise_id)
    for code_id in await products_db.enterprise_code_ids(conn, found.enterprise_id):
        await change_code_status(
            conn, code_id, CodeStatus.REVOKED, reason=reason, actor=_submitter(actor),
            public_base_url=desk.public_base_url,
        )  # fmt: skip
    await audit(
        conn, actor, "enterprise.deregister", "enterprise", str(found.enterprise_id),
        changed_fields({"status": "active"}, {"status": "deregistered", "reason": reason}),
    )  # fmt: skip


async def set_code_status(
    conn: Connection, actor: Actor, code_id: str, *, suspend: bool, reason: str, desk: CodeDesk
) -> CodeStatus:
    """A regulator (admin or reviewer) suspends or reinstates one code in its jurisdiction;
    the code's status after it."""
    async with conn.transaction():
        product = await products_db.fetch_product_by_code(conn, code_id)
        if product is None:
            raise NotFound(f"no code {code_id[:40]}")
        try:
            await enterprises.enterprise(conn, actor, product.enterprise_id)
        except NotFound:
            raise NotFound(f"no code {code_id[:40]}") from None
        if actor.account.kind == "enterprise" or actor.account.role not in (
            Role.ADMIN,
            Role.REVIEWER,
        ):
            raise Forbidden("admins and reviewers of the enterprise's regulators suspend codes")
        target = CodeStatus.SUSPENDED if suspend else CodeStatus.ACTIVE
        try:
            changed = await change_code_status(
                conn, code_id, target, reason=reason, actor=_submitter(actor),
                public_base_url=desk.public_base_url,
            )  # fmt: skip
        except CodeStateError as exc:  # revoked, or already in the status asked for
            raise Conflict(str(exc)) from None
        await audit(
            conn, actor, "code.suspend" if suspend else "code.reinstate", "code", code_id,
            {"status": {"before": None, "after": target.value},
             "reason": {"before": None, "after": reason}},
        )  # fmt: skip
    return changed.status


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """A product's code as its regulators (and its enterprise) see it: what it stands for,
    its status, and every status change with its reason."""

    issued: IssuedCode
    product: Product
    enterprise: enterprises_db.Enterprise
    changes: list[StatusChangeRow]  # issuance first


async def code_record(conn: Connection, actor: Actor, code_id: str) -> CodeRecord:
    """The code of a product the actor may see (404 otherwise, as if absent)."""
    product = await products_db.fetch_product_by_code(conn, code_id)
    if product is None:
        raise NotFound(f"no code {code_id[:40]}")
    try:
        enterprise = await enterprises.enterprise(conn, actor, product.enterprise_id)
        issued = await find_code(conn, code_id)
    except (NotFound, CodeNotFound, InvalidArgument):
        raise NotFound(f"no code {code_id[:40]}") from None
    return CodeRecord(issued, product, enterprise, await code_history(conn, code_id))
