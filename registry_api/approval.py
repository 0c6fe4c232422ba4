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

from codesvc.errors import CodeStateError
from codesvc.issuance import CodeStatus, change_code_status, issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.storage import Connection
from registry_api import enterprises, storage
from registry_api.accounts import Role
from registry_api.audit import changed_fields
from registry_api.errors import Conflict, Forbidden, NotFound
from registry_api.filings import public_record
from registry_api.pipelines import (
    Pipeline,
    RegistrationKind,
    certificate_expiry,
    certificate_number,
)
from registry_api.services import Actor, audit
from registry_api.storage import products as products_db
from registry_api.storage import reviews as db
from registry_api.storage.reviews import Submission


@dataclass(frozen=True, slots=True)
class CodeDesk:
    """What approving needs to issue and publish codes."""

    keyring: KeyRing
    public_base_url: str
    province: str


def _submitter(actor: Actor) -> str:
    return f"account:{actor.account.id}"


async def carry_out(conn: Connection, actor: Actor, found: Submission, desk: CodeDesk) -> None:
    today = date.today()
    if found.pipeline == Pipeline.REGISTRATION:
        for revision_id in found.revision_ids:
            await _publish_revision(conn, revision_id, today, desk)
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
        current = await storage.fetch_enterprise(conn, found.enterprise_id)
        assert current is not None
        changes = found.payload["changes"]
        updated = await storage.update_enterprise(conn, current.id, current.version, changes)
        assert updated is not None  # the row is ours in this transaction
        await audit(
            conn, actor, "enterprise.update", "enterprise", str(current.id),
            changed_fields(enterprises.enterprise_fields(current),
                           enterprises.enterprise_fields(updated)),
        )  # fmt: skip
    else:
        await _deregister(conn, actor, found, desk, today)


async def _publish_revision(
    conn: Connection, revision_id: int, today: date, desk: CodeDesk
) -> None:
    revision = await products_db.make_current(conn, revision_id, today)
    product = await products_db.fetch_product(conn, revision.product_id)
    assert product is not None
    issued = await issue_code(
        conn, f"product/{product.id}", keyring=desk.keyring, province=desk.province
    )
    await products_db.set_product_code(conn, product.id, issued.code.code_id)
    await publish(
        conn,
        issued.code.code_id,
        public_record(product, revision, today),
        public_base_url=desk.public_base_url,
    )


async def _deregister(
    conn: Connection, actor: Actor, found: Submission, desk: CodeDesk, today: date
) -> None:
    reason = f"企业注销 Enterprise deregistered ({today}): {found.payload['reason']}"
    await db.set_enterprise_deregistered(conn, found.enterprise_id)
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
) -> str:
    """A regulator (admin or reviewer) suspends or reinstates one code in its jurisdiction."""
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
    return changed.status.value
