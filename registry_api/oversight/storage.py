"""SQL of oversight: search of enterprises and products below a unit, an enterprise's audit
trail (the indexes they rely on are in migration 0010), and notices with their read
receipts (migration 0013)."""

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


# --- notices ------------------------------------------------------------------------------
# Their tables are in migration 0013. A reader's notices are read by the ids of the units
# on its way up (`notices_unit`); who a notice reaches is counted from its unit's path down.


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    unit_id: str  # the publishing unit
    unit_name: str
    unit_path: str
    author_id: int
    author_name: str
    title: str
    body: str
    to_enterprises: bool
    published_at: datetime
    read_at: datetime | None  # when the reader it was read for read it; None: not yet


@dataclass(frozen=True, slots=True)
class NoticeReader:
    receipt_id: int
    account_id: int
    name: str
    kind: Literal["regulator", "enterprise"]
    where: str  # a regulator's unit, an enterprise account's enterprise
    read_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeReach:
    reached: int  # the accounts the notice reaches (disabled ones left out)
    unread: int  # of those, the ones without a receipt


_NOTICE = """
    SELECT n.id, n.unit_id, u.name AS unit_name, u.path AS unit_path, n.author_id,
           a.name AS author_name, n.title, n.body, n.to_enterprises, n.published_at,
           r.read_at
    FROM notices n
    JOIN jurisdictions u ON u.id = n.unit_id
    JOIN accounts a ON a.id = n.author_id
    LEFT JOIN notice_receipts r ON r.notice_id = n.id AND r.account_id = $1
"""


async def insert_notice(
    conn: Connection,
    *,
    unit_id: str,
    author_id: int,
    title: str,
    body: str,
    to_enterprises: bool,
) -> int:
    notice_id: int = await conn.fetchval(
        """
        INSERT INTO notices (unit_id, author_id, title, body, to_enterprises)
        VALUES ($1, $2, $3, $4, $5) RETURNING id
        """,
        unit_id,
        author_id,
        title,
        body,
        to_enterprises,
    )
    return notice_id


async def fetch_notice(conn: Connection, notice_id: int, *, reader_id: int) -> Notice | None:
    """The notice, with when `reader_id` read it."""
    row = await conn.fetchrow(f"{_NOTICE} WHERE n.id = $2", reader_id, notice_id)
    return None if row is None else Notice(**dict(row))


async def fetch_notices(
    conn: Connection,
    unit_ids: list[str],
    *,
    enterprises_only: bool,
    reader_id: int,
    unread: bool,
    before: int | None,
    limit: int,
) -> list[Notice]:
    """Notices published by the units `unit_ids` (those meant for enterprises too, when
    `enterprises_only`), the newest first: older than `before`, unread by `reader_id` only
    when `unread`, at most `limit`."""
    rows = await conn.fetch(
        f"""
        {_NOTICE}
        WHERE n.unit_id = ANY($2::text[]) AND (n.to_enterprises OR NOT $3::boolean)
          AND ($4::bigint IS NULL OR n.id < $4) AND (r.id IS NULL OR NOT $5::boolean)
        ORDER BY n.id DESC LIMIT $6
        """,
        reader_id,
        unit_ids,
        enterprises_only,
        before,
        unread,
        limit,
    )
    return [Notice(**dict(row)) for row in rows]


async def count_unread_notices(
    conn: Connection, unit_ids: list[str], *, enterprises_only: bool, reader_id: int
) -> int:
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM notices n
        WHERE n.unit_id = ANY($1::text[]) AND (n.to_enterprises OR NOT $2::boolean)
          AND NOT EXISTS (SELECT 1 FROM notice_receipts r
                          WHERE r.account_id = $3 AND r.notice_id = n.id)
        """,
        unit_ids,
        enterprises_only,
        reader_id,
    )
    return count


async def fetch_enterprise_unit_paths(conn: Connection, enterprise_id: int) -> list[str]:
    """The paths of the enterprise's county and of its chemical park, when it is in one."""
    row = await conn.fetchrow(
        """
        SELECT c.path AS county_path, p.path AS park_path
        FROM enterprises e
        JOIN jurisdictions c ON c.id = e.county_id
        LEFT JOIN jurisdictions p ON p.id = e.park_id
        WHERE e.id = $1
        """,
        enterprise_id,
    )
    if row is None:
        return []
    return [path for path in (row["county_path"], row["park_path"]) if path is not None]


async def insert_receipt(conn: Connection, notice_id: int, account_id: int) -> None:
    """The account's read receipt of the notice; the first reading stands."""
    await conn.execute(
        """
        INSERT INTO notice_receipts (notice_id, account_id) VALUES ($1, $2)
        ON CONFLICT (notice_id, account_id) DO NOTHING
        """,
        notice_id,
        account_id,
    )


async def fetch_readers(
    conn: Connection, notice_id: int, *, before: int | None, limit: int
) -> list[NoticeReader]:
    """Who read the notice and when, the latest reading first: older than the receipt
    `before`, at most `limit`."""
    rows = await conn.fetch(
        """
        SELECT r.id AS receipt_id, a.id AS account_id, a.name, a.kind,
               coalesce(j.name, e.name, '') AS "where", r.read_at
        FROM notice_receipts r
        JOIN accounts a ON a.id = r.account_id
        LEFT JOIN jurisdictions j ON j.id = a.jurisdiction_id
        LEFT JOIN enterprises e ON e.id = a.enterprise_id
        WHERE r.notice_id = $1 AND ($2::bigint IS NULL OR r.id < $2)
        ORDER BY r.id DESC LIMIT $3
        """,
        notice_id,
        before,
        limit,
    )
    return [NoticeReader(**dict(row)) for row in rows]


async def count_reach(
    conn: Connection, notice_id: int, unit_path: str, *, to_enterprises: bool
) -> NoticeReach:
    """The accounts the notice of the unit at `unit_path` reaches, and how many of them have
    not read it: the regulators of that unit and below, and when `to_enterprises` the
    enterprise accounts whose county or park is there. Disabled accounts are not counted:
    they read nothing any more."""
    row = await conn.fetchrow(
        """
        WITH reached AS (
            SELECT a.id FROM accounts a JOIN jurisdictions j ON j.id = a.jurisdiction_id
            WHERE a.kind = 'regulator' AND a.disabled_at IS NULL
              AND (j.path = $2 OR j.path LIKE $2 || '/%')
            UNION
            SELECT a.id FROM accounts a
            JOIN enterprises e ON e.id = a.enterprise_id
            JOIN jurisdictions c ON c.id = e.county_id
            LEFT JOIN jurisdictions p ON p.id = e.park_id
            WHERE $3::boolean AND a.kind = 'enterprise' AND a.disabled_at IS NULL
              AND (c.path = $2 OR c.path LIKE $2 || '/%'
                   OR p.path = $2 OR p.path LIKE $2 || '/%')
        )
        SELECT count(*) AS reached,
               count(*) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM notice_receipts r
                   WHERE r.notice_id = $1 AND r.account_id = reached.id)) AS unread
        FROM reached
        """,
        notice_id,
        unit_path,
        to_enterprises,
    )
    assert row is not None  # an aggregate without GROUP BY: always one row
    return NoticeReach(reached=row["reached"], unread=row["unread"])
