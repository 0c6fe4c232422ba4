"""SQL of oversight: search of enterprises and products below a unit, and an enterprise's
audit trail. The indexes they rely on are in migration 0010."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from codesvc.storage import Connection
from registry_api.enterprises.storage import EnterpriseStatus
from registry_api.oversight.forms import SearchKeys

# A product's state, from its revisions: one approved (registered), one under review, a
# draft only, or none yet.
ProductStatus = Literal["registered", "under_review", "draft", "new"]

# The enterprises of a county in the unit whose path is $1 (the unit itself or below).
_IN_SCOPE = "(j.path = $1 OR j.path LIKE $1 || '/%')"
# A name holds the text: every bigram of it (migration 0010's index), then the substring.
_NAME_GRAMS = "search_grams({column}) @> search_grams($2)"
_NAME_HOLDS = "strpos(lower({column}), lower($2)) > 0"
_PRODUCT_NAMES = "p.name_zh || ' ' || coalesce(p.name_en, '')"


@dataclass(frozen=True, slots=True)
class EnterpriseHit:
    id: int
    name: str
    uscc: str
    county_id: str
    county_name: str
    status: EnterpriseStatus


@dataclass(frozen=True, slots=True)
class ProductHit:
    id: int
    name_zh: str
    name_en: str | None
    cas_numbers: list[str]
    un_number: str | None
    code_id: str | None
    status: ProductStatus
    enterprise_id: int
    enterprise_name: str


@dataclass(frozen=True, slots=True)
class AuditTrailEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    subject_type: str
    subject_id: str
    changes: dict[str, Any]


def _name_match(column: str, text: str) -> str:
    """The condition on a name; a single character has no bigram, so it is read whole."""
    holds = _NAME_HOLDS.format(column=column)
    if len(text) < 2:
        return holds
    return f"({_NAME_GRAMS.format(column=column)} AND {holds})"


async def search_enterprises(
    conn: Connection, path: str, keys: SearchKeys, *, limit: int, offset: int
) -> list[EnterpriseHit]:
    """Enterprises of the unit at `path` and below whose name holds the text or whose
    credit code is it, by id; `limit` from `offset`."""
    values: list[Any] = [path, keys.text, limit, offset]
    matches = [_name_match("e.name", keys.text)]
    if keys.uscc is not None:
        values.append(keys.uscc)
        matches.append(f"e.uscc = ${len(values)}")
    rows = await conn.fetch(
        f"""
        SELECT e.id, e.name, e.uscc, e.county_id, j.name AS county_name, e.status
        FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id
        WHERE {_IN_SCOPE} AND ({" OR ".join(matches)})
        ORDER BY e.id LIMIT $3 OFFSET $4
        """,
        *values,
    )
    return [EnterpriseHit(**dict(row)) for row in rows]


async def search_products(
    conn: Connection, path: str, keys: SearchKeys, *, limit: int, offset: int
) -> list[ProductHit]:
    """Products of the enterprises of the unit at `path` and below whose Chinese or English
    name holds the text, or whose CAS number (its own or a component's), UN number or
    code_id is it; by id, `limit` from `offset`."""
    values: list[Any] = [path, keys.text, limit, offset]
    matches = [_name_match(f"({_PRODUCT_NAMES})", keys.text)]
    if keys.cas is not None:
        values.append(keys.cas)
        matches.append(f"p.cas_numbers @> ARRAY[${len(values)}::text]")
        values.append(json.dumps([{"cas": keys.cas}]))
        matches.append(f"p.components @> ${len(values)}::jsonb")
    if keys.un_number is not None:
        values.append(keys.un_number)
        matches.append(f"p.un_number = ${len(values)}")
    if keys.code_id is not None:
        values.append(keys.code_id)
        matches.append(f"p.code_id = ${len(values)}")
    rows = await conn.fetch(
        f"""
        SELECT p.id, p.name_zh, p.name_en, p.cas_numbers, p.un_number, p.code_id,
               (SELECT CASE WHEN bool_or(r.status = 'current') THEN 'registered'
                            WHEN bool_or(r.status = 'submitted') THEN 'under_review'
                            WHEN bool_or(r.status = 'draft') THEN 'draft'
                            ELSE 'new' END
                FROM revisions r WHERE r.product_id = p.id) AS status,
               p.enterprise_id, e.name AS enterprise_name
        FROM products p JOIN enterprises e ON e.id = p.enterprise_id
        JOIN jurisdictions j ON j.id = e.county_id
        WHERE {_IN_SCOPE} AND ({" OR ".join(matches)})
        ORDER BY p.id LIMIT $3 OFFSET $4
        """,
        *values,
    )
    return [ProductHit(**dict(row)) for row in rows]


async def fetch_audit_trail(
    conn: Connection, enterprise_id: int, *, before: int | None, limit: int
) -> list[AuditTrailEntry]:
    """The audit log's entries about the enterprise, its applications, products, their
    revisions, its submissions, certificates, codes and batches (declared, serials issued,
    recalled): the newest first, older than the entry `before` when given, at most
    `limit`."""
    rows = await conn.fetch(
        """
        WITH subjects (subject_type, subject_id) AS (
            SELECT 'enterprise', $1::bigint::text
            UNION ALL SELECT 'enterprise_application', id::text
                FROM enterprise_applications WHERE enterprise_id = $1::bigint
            UNION ALL SELECT 'product', id::text FROM products WHERE enterprise_id = $1::bigint
            UNION ALL SELECT 'code', code_id FROM products
                WHERE enterprise_id = $1::bigint AND code_id IS NOT NULL
            UNION ALL SELECT 'revision', r.id::text
                FROM revisions r JOIN products p ON p.id = r.product_id
                WHERE p.enterprise_id = $1::bigint
            UNION ALL SELECT 'submission', id::text FROM submissions
                WHERE enterprise_id = $1::bigint
            UNION ALL SELECT 'certificate', number FROM certificates
                WHERE enterprise_id = $1::bigint
            UNION ALL SELECT 'batch', b.id::text
                FROM batches b JOIN products p ON p.code_id = b.code_id
                WHERE p.enterprise_id = $1::bigint
        )
        SELECT a.id, a.at, a.actor_id, acc.name AS actor_name, a.action, a.subject_type,
               a.subject_id, a.changes
        FROM subjects s
        JOIN audit_log a ON a.subject_type = s.subject_type AND a.subject_id = s.subject_id
        LEFT JOIN accounts acc ON acc.id = a.actor_id
        WHERE $2::bigint IS NULL OR a.id < $2
        ORDER BY a.id DESC LIMIT $3
        """,
        enterprise_id,
        before,
        limit,
    )
    entries = []
    for row in rows:
        values = dict(row)
        values["changes"] = json.loads(values["changes"])
        entries.append(AuditTrailEntry(**values))
    return entries
