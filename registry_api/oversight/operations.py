"""Operations of oversight: search of the enterprises and products in scope, an enterprise's
audit trail, and its whole file as a regulator reads it.

Search and the file are the regulators' (every role: they read, they change nothing), over
their own unit and the units below it, as every domain measures scope: an enterprise in a
county outside it is absent (404 for one asked by id, left out of a search). An enterprise
account is told there is nothing here, as for every regulators' list. The audit trail is
read by the regulators in scope and by the enterprise's own account: it is the history of
its own record, products and filings, all of which it sees already.
"""

from __future__ import annotations

from dataclasses import dataclass

from codesvc.storage import Connection
from registry_api.accounts.operations import Actor, regulator_unit
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises.storage import Enterprise, HeldCertificate
from registry_api.oversight import storage as db
from registry_api.oversight.forms import DEFAULT_AUDIT_LIMIT, AuditQuery, SearchQuery, search_keys
from registry_api.products import operations as products
from registry_api.products.operations import ProductSummary
from registry_api.reviews import operations as reviews
from registry_api.reviews.operations import Reviewed


@dataclass(frozen=True, slots=True)
class SearchResults:
    enterprises: list[db.EnterpriseHit]
    products: list[db.ProductHit]
    next_offset: int | None  # where the next page starts, when either kind has more


@dataclass(frozen=True, slots=True)
class AuditTrail:
    entries: list[db.AuditTrailEntry]  # the newest first
    next_before: int | None  # `before` of the next (older) page, when there is one


@dataclass(frozen=True, slots=True)
class EnterpriseFile:
    """An enterprise as its regulators read it on one page."""

    record: Enterprise
    certificates: list[HeldCertificate]  # the newest first
    products: list[ProductSummary]
    history: list[Reviewed]  # every submission with its decisions
    audit: AuditTrail

    @property
    def certificate(self) -> HeldCertificate | None:
        """The certificate in force."""
        return next((c for c in self.certificates if c.status == "valid"), None)


async def search(conn: Connection, actor: Actor, query: SearchQuery) -> SearchResults:
    """Enterprises and products in the regulator's scope matching `query.q`: by name (a
    substring, any case), credit code, CAS number (of the product or a component), UN
    number or code_id (each exactly, when the text has its shape). Each kind by id, a page
    of `query.limit` from `query.offset`."""
    path = regulator_unit(actor).path
    keys = search_keys(query.q)
    # One more than the page: whether there is a next one.
    found_enterprises = await db.search_enterprises(
        conn, path, keys, limit=query.limit + 1, offset=query.offset
    )
    found_products = await db.search_products(
        conn, path, keys, limit=query.limit + 1, offset=query.offset
    )
    more = len(found_enterprises) > query.limit or len(found_products) > query.limit
    return SearchResults(
        enterprises=found_enterprises[: query.limit],
        products=found_products[: query.limit],
        next_offset=query.offset + query.limit if more else None,
    )


async def audit_trail(
    conn: Connection, actor: Actor, enterprise_id: int, query: AuditQuery
) -> AuditTrail:
    """The enterprise's audit trail, the newest entry first, a page of `query.limit` older
    than `query.before`: for regulators in scope and the enterprise itself (404 else)."""
    await enterprises.enterprise(conn, actor, enterprise_id)
    found = await db.fetch_audit_trail(
        conn, enterprise_id, before=query.before, limit=query.limit + 1
    )
    more = len(found) > query.limit
    entries = found[: query.limit]
    return AuditTrail(entries, entries[-1].id if more and entries else None)


async def enterprise_file(
    conn: Connection, actor: Actor, enterprise_id: int, audit_before: int | None = None
) -> EnterpriseFile:
    """A regulator's page of an enterprise in scope: its record, certificates, products
    with their revisions, submissions with their decisions, and a page of its audit trail
    (older than `audit_before`). What it reads is what the JSON API's GETs of the
    enterprise give the same account."""
    regulator_unit(actor)  # the enterprise's own pages are elsewhere
    record = await enterprises.enterprise(conn, actor, enterprise_id)
    return EnterpriseFile(
        record=record,
        certificates=await enterprises.certificates(conn, actor, enterprise_id),
        products=await products.products_of(conn, actor, enterprise_id),
        history=await reviews.history(conn, actor, enterprise_id),
        audit=await audit_trail(
            conn,
            actor,
            enterprise_id,
            AuditQuery(limit=DEFAULT_AUDIT_LIMIT, before=audit_before),
        ),
    )
