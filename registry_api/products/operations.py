"""Operations of products: an enterprise's products, their SDS and label revisions, and
their codes for printing.

An enterprise keeps its products; each has one code (issued when its first revision is
approved) and a series of revisions: at most one in the works (a draft the enterprise
edits, or one under review, read-only) besides the current, published one. Regulators
read the products of enterprises in their jurisdiction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from codesvc.issuance import IssuedCode, find_code, find_codes
from codesvc.storage import Connection
from registry_api.accounts.operations import Actor, audit
from registry_api.audit import changed_fields
from registry_api.enterprises import operations as enterprises
from registry_api.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from registry_api.products import storage as db
from registry_api.products.forms import ProductForm, RevisionForm
from registry_api.products.storage import Product, Revision


@dataclass(frozen=True, slots=True)
class ProductSummary:
    product: Product
    revisions: list[Revision]  # in number order

    @property
    def current(self) -> Revision | None:
        return next((r for r in self.revisions if r.status == "current"), None)

    @property
    def open(self) -> Revision | None:
        """The revision in the works: a draft, or one under review."""
        return next((r for r in self.revisions if r.status in ("draft", "submitted")), None)


# Kinds of enterprise that hold others' products only.
_NO_PRODUCTS = frozenset({"logistics", "user"})


def _owner_only(actor: Actor, enterprise_id: int) -> None:
    if actor.account.kind != "enterprise" or actor.account.enterprise_id != enterprise_id:
        raise Forbidden("only the enterprise files its products; regulators review them")


async def create_product(
    conn: Connection, actor: Actor, enterprise_id: int, form: ProductForm
) -> Product:
    async with conn.transaction():
        enterprise = await enterprises.enterprise(conn, actor, enterprise_id)
        _owner_only(actor, enterprise_id)
        if enterprise.status != "active":
            raise Conflict("a deregistered enterprise files no products")
        if set(enterprise.kinds) <= _NO_PRODUCTS:
            raise Forbidden(
                "logistics companies and user enterprises file no products of their own: "
                "they record the receipts and use of others' packages"
            )
        _check_identity(form)
        fields = form.model_dump(mode="json")
        created = await db.insert_product(conn, enterprise_id, fields)
        if created is None:
            raise Conflict(
                "the enterprise has a product of this name already",
                {"name_zh": "is the name of another product of the enterprise"},
            )
        await audit(
            conn, actor, "product.create", "product", str(created.id),
            changed_fields(None, fields),
        )  # fmt: skip
    return created


def _check_identity(form: ProductForm) -> None:
    if not form.cas_numbers and not form.components:
        raise ValidationFailed(
            "a product names what it is",
            {"cas_numbers": "name at least one CAS number, or the components of a mixture"},
        )


async def update_product(
    conn: Connection, actor: Actor, product_id: int, version: int, form: ProductForm
) -> ProductSummary:
    """Correct a product's details; scans show them from its next approved revision on (the
    published record changes only by approval). A stale `version` changes nothing (412)."""
    async with conn.transaction():
        current = await product(conn, actor, product_id)
        _owner_only(actor, current.enterprise_id)
        _check_identity(form)
        fields = form.model_dump(mode="json")
        try:
            async with conn.transaction():
                updated = await db.update_product(conn, product_id, version, fields)
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "the enterprise has a product of this name already",
                {"name_zh": "is the name of another product of the enterprise"},
            ) from None
        if updated is None:
            raise PreconditionFailed(
                f"the product changed since version {version}; read it again and redo the change"
            )
        before = {name: getattr(current, name) for name in db.PRODUCT_FIELDS}
        await audit(
            conn, actor, "product.update", "product", str(product_id),
            changed_fields(before, {name: getattr(updated, name) for name in db.PRODUCT_FIELDS}),
        )  # fmt: skip
        return ProductSummary(updated, await db.fetch_revisions(conn, product_id))


async def product(conn: Connection, actor: Actor, product_id: int) -> Product:
    """A product of an enterprise the actor may see (404 otherwise, as if absent)."""
    found = await db.fetch_product(conn, product_id)
    if found is None:
        raise NotFound(f"no product {product_id}")
    try:
        await enterprises.enterprise(conn, actor, found.enterprise_id)
    except NotFound:
        raise NotFound(f"no product {product_id}") from None
    return found


async def products_of(conn: Connection, actor: Actor, enterprise_id: int) -> list[ProductSummary]:
    await enterprises.enterprise(conn, actor, enterprise_id)
    revisions = await db.fetch_enterprise_revisions(conn, enterprise_id)
    return [
        ProductSummary(item, [r for r in revisions if r.product_id == item.id])
        for item in await db.fetch_products(conn, enterprise_id)
    ]


async def reprint_notices(
    conn: Connection, actor: Actor, enterprise_id: int
) -> list[db.ReprintNotice]:
    """The enterprise's products whose codes were re-signed after a key was revoked: each
    label must be reprinted with the new QR."""
    await enterprises.enterprise(conn, actor, enterprise_id)
    return await db.fetch_reprint_notices(conn, enterprise_id)


async def product_summary(conn: Connection, actor: Actor, product_id: int) -> ProductSummary:
    found = await product(conn, actor, product_id)
    return ProductSummary(found, await db.fetch_revisions(conn, found.id))


def revision_content(form: RevisionForm) -> dict[str, Any]:
    """A revision form as stored: the classification, the label (None: derived) and SDS."""
    return {
        "classification": [
            c.model_dump(by_alias=True, exclude_none=True) for c in form.classification
        ],
        "label": None if form.label is None else form.label.model_dump(exclude_none=True),
        "sds": form.sds.model_dump(exclude_none=True, mode="json"),
    }


async def create_revision(
    conn: Connection, actor: Actor, product_id: int, form: RevisionForm
) -> tuple[Product, Revision]:
    async with conn.transaction():
        found = await product(conn, actor, product_id)
        _owner_only(actor, found.enterprise_id)
        created = await db.insert_revision(conn, product_id, revision_content(form))
        if created is None:
            raise Conflict(
                "the product has a revision in the works already (a draft or one under "
                "review); edit that one"
            )
        await audit(
            conn, actor, "revision.create", "revision", str(created.id),
            {"product_id": {"before": None, "after": product_id},
             "number": {"before": None, "after": created.number}},
        )  # fmt: skip
    return found, created


async def revision(conn: Connection, actor: Actor, revision_id: int) -> tuple[Product, Revision]:
    found = await db.fetch_revision(conn, revision_id)
    if found is None:
        raise NotFound(f"no revision {revision_id}")
    try:
        return await product(conn, actor, found.product_id), found
    except NotFound:
        raise NotFound(f"no revision {revision_id}") from None


async def update_revision(
    conn: Connection, actor: Actor, revision_id: int, version: int, form: RevisionForm
) -> tuple[Product, Revision]:
    """Replace a draft's content; a submitted or approved revision is read-only (409), and a
    stale `version` changes nothing (412)."""
    async with conn.transaction():
        owner, current = await revision(conn, actor, revision_id)
        _owner_only(actor, owner.enterprise_id)
        if current.status != "draft":
            raise Conflict(
                f"revision {current.number} is {current.status} and read-only; "
                "start a new revision to change it"
            )
        updated = await db.update_draft(conn, revision_id, version, revision_content(form))
        if updated is None:
            raise PreconditionFailed(
                f"the draft changed since version {version}; read it again and redo the change"
            )
        await audit(
            conn, actor, "revision.update", "revision", str(revision_id),
            {"version": {"before": current.version, "after": updated.version}},
        )  # fmt: skip
    return owner, updated


async def product_code(conn: Connection, actor: Actor, product_id: int) -> IssuedCode:
    """The code of a product the actor may see, for its QR (404 until its first approval)."""
    found = await product(conn, actor, product_id)
    if found.code_id is None:
        raise NotFound("the product has no code yet: it gets one on its first approval")
    return await find_code(conn, found.code_id)


async def enterprise_codes(conn: Connection, actor: Actor, enterprise_id: int) -> list[IssuedCode]:
    """The codes of the enterprise's products, in the products' order, for a print sheet."""
    summaries = await products_of(conn, actor, enterprise_id)
    code_ids = [s.product.code_id for s in summaries if s.product.code_id]
    if not code_ids:
        raise NotFound("the enterprise has no codes yet: products get them on approval")
    found = {c.code.code_id: c for c in await find_codes(conn, code_ids)}
    return [found[code_id] for code_id in code_ids]
