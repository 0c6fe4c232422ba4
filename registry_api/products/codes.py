"""A product's code: the desk that issues and publishes it, what publishing an approved
revision does (called by the reviews domain's final approval, in the decision's
transaction: nothing reaches a scan before that transaction commits), and what revoking a
signing key does to the products whose codes it signed."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from codesvc.codes import group_code_id, scan_url
from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.resigning import Resigned, resign_revoked_codes
from codesvc.storage import Connection
from registry_api.audit import append_audit
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


@dataclass(frozen=True, slots=True)
class Revocation:
    key_id: str
    codes_signed: int  # codes the key had signed when it was revoked


async def revoke_signing_key(
    conn: Connection, keyring: KeyRing, key_id: str, reason: str
) -> Revocation:
    """Revoke the key, audited (the operator's command: no account acts). Its codes are
    re-signed by `resign_codes`, which the caller runs next."""
    async with conn.transaction():
        signed = await keyring.revoke(conn, key_id, reason)
        key_id = key_id.upper()
        await append_audit(
            conn,
            actor_id=None,
            action="signing_key.revoke",
            subject_type="signing_key",
            subject_id=key_id,
            changes={"reason": reason.strip(), "codes_signed": signed},
        )
    return Revocation(key_id, signed)


async def resign_codes(conn: Connection, desk: CodeDesk, batch: int = 200) -> int:
    """Re-sign every code still signed by a revoked key with the active key; each batch
    (its own transaction) leaves a reprint notice for every product code in it and an
    audit entry. Resumable: returns how many this run re-signed."""

    async def on_batch(conn: Connection, resigned: list[Resigned]) -> None:
        await db.insert_reprint_notices(
            conn,
            [
                (r.new.code_id, r.old.key_id, r.new.key_id, scan_url(desk.public_base_url, r.new))
                for r in resigned
            ],
        )
        by_key: dict[str, list[Resigned]] = defaultdict(list)
        for r in resigned:
            by_key[r.old.key_id].append(r)
        for revoked, codes in by_key.items():
            await append_audit(
                conn,
                actor_id=None,
                action="signing_key.resign_codes",
                subject_type="signing_key",
                subject_id=revoked,
                changes={
                    "codes": len(codes),
                    "new_key": codes[0].new.key_id,
                    "first_code": codes[0].new.code_id,
                    "last_code": codes[-1].new.code_id,
                },
            )

    return await resign_revoked_codes(
        conn, keyring=desk.keyring, public_base_url=desk.public_base_url,
        on_batch=on_batch, batch=batch,
    )  # fmt: skip


async def reprint_notices_of_key(conn: Connection, key_id: str) -> list[db.ReprintNotice]:
    return await db.fetch_reprint_notices_of_key(conn, key_id.upper())


REPRINT_COLUMNS = (
    "统一社会信用代码 USCC", "企业名称 Enterprise", "产品编号 Product ID", "产品名称 Product",
    "安全码编号 Code", "撤销的密钥 Revoked key", "新密钥 New key",
    "新二维码地址 New QR URL", "通知日期 Notice date",
)  # fmt: skip


def reprint_csv(notices: list[db.ReprintNotice]) -> bytes:
    """The products to reprint, one row per code, with the URL the new QR must carry.

    UTF-8 with a byte order mark (spreadsheet programs then read the Chinese right); a
    value a spreadsheet would take for a formula is quoted with an apostrophe.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPRINT_COLUMNS)
    for notice in notices:
        writer.writerow(
            [
                _cell(value)
                for value in (
                    notice.uscc,
                    notice.enterprise_name,
                    str(notice.product_id),
                    notice.product_name,
                    group_code_id(notice.code_id),
                    notice.revoked_key_id,
                    notice.new_key_id,
                    notice.scan_url,
                    notice.created_at.date().isoformat(),
                )
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
