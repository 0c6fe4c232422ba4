"""A product's code: the desk that issues and publishes it, and what publishing an approved
revision does. Called by the reviews domain's final approval, in the decision's
transaction: nothing reaches a scan before that transaction commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.storage import Connection
from registry_api.products import storage as db
from registry_api.products.filings import public_record


@dataclass(frozen=True, slots=True)
class CodeDesk:
    """What approving needs to issue and publish codes, and what QR downloads print."""

    keyring: KeyRing
    public_base_url: str
    province: str


async def publish_revision(conn: Connection, revision_id: int, today: date, desk: CodeDesk) -> None:
    """The revision becomes its product's current one (the previous superseded), the product's
    code is issued the first time, and the public record is published through codesvc."""
    revision = await db.make_current(conn, revision_id, today)
    product = await db.fetch_product(conn, revision.product_id)
    assert product is not None
    issued = await issue_code(
        conn, f"product/{product.id}", keyring=desk.keyring, province=desk.province
    )
    await db.set_product_code(conn, product.id, issued.code.code_id)
    await publish(
        conn,
        issued.code.code_id,
        public_record(product, revision, today),
        public_base_url=desk.public_base_url,
    )
