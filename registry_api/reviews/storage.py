"""SQL of submissions, review decisions and registration certificates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import asyncpg

from codesvc.storage import Connection

SubmissionStatus = Literal["pending", "approved", "rejected"]
CertificateStatus = Literal["valid", "renewed", "revoked"]


@dataclass(frozen=True, slots=True)
class Submission:
    id: int
    pipeline: str
    kind: str
    enterprise_id: int
    payload: dict[str, Any]
    step: int
    status: SubmissionStatus
    resubmission_of: int | None
    submitted_by: int
    submitted_at: datetime
    closed_at: datetime | None
    revision_ids: list[int]
    county_id: str  # the enterprise's, for scope
    county_path: str
    enterprise_name: str  # for queues and pages that list submissions
    product_names: list[str]  # of the filed revisions, in revision_ids order


@dataclass(frozen=True, slots=True)
class Decision:
    submission_id: int
    step: int
    decision: Literal["approve", "reject"]
    reason: str | None
    decided_by: int
    decider_name: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class Certificate:
    id: int
    number: str
    enterprise_id: int
    enterprise_name: str
    submission_id: int
    issued_on: date
    expires_on: date
    status: CertificateStatus


_SUBMISSION = """
    s.id, s.pipeline, s.kind, s.enterprise_id, s.payload, s.step, s.status, s.resubmission_of,
    s.submitted_by, s.submitted_at, s.closed_at,
    coalesce((SELECT array_agg(r.revision_id ORDER BY r.revision_id)
              FROM submission_revisions r WHERE r.submission_id = s.id), '{}') AS revision_ids,
    e.county_id, j.path AS county_path, e.name AS enterprise_name,
    coalesce((SELECT array_agg(p.name_zh ORDER BY r.revision_id)
              FROM submission_revisions r
              JOIN revisions v ON v.id = r.revision_id
              JOIN products p ON p.id = v.product_id
              WHERE r.submission_id = s.id), '{}') AS product_names
"""
_SUBMISSION_FROM = """
    FROM submissions s
    JOIN enterprises e ON e.id = s.enterprise_id
    JOIN jurisdictions j ON j.id = e.county_id
"""
_CERTIFICATE = """
    c.id, c.number, c.enterprise_id, e.name AS enterprise_name, c.submission_id, c.issued_on,
    c.expires_on, c.status
"""


def _submission(row: Any) -> Submission:
    values = dict(row)
    values["payload"] = json.loads(values["payload"])
    values["revision_ids"] = list(values["revision_ids"])
    values["product_names"] = list(values["product_names"])
    return Submission(**values)


async def insert_submission(
    conn: Connection,
    *,
    pipeline: str,
    kind: str,
    enterprise_id: int,
    payload: dict[str, Any],
    revision_ids: list[int],
    resubmission_of: int | None,
    submitted_by: int,
) -> int | None:
    """The new submission's id; None if the enterprise has one of this pipeline pending."""
    try:
        async with conn.transaction():
            submission_id: int = await conn.fetchval(
                """
                INSERT INTO submissions (pipeline, kind, enterprise_id, payload,
                                         resubmission_of, submitted_by)
                VALUES ($1, $2, $3, $4::jsonb, $5, $6) RETURNING id
                """,
                pipeline,
                kind,
                enterprise_id,
                json.dumps(payload, ensure_ascii=False),
                resubmission_of,
                submitted_by,
            )
    except asyncpg.UniqueViolationError:
        return None
    await conn.executemany(
        "INSERT INTO submission_revisions (submission_id, revision_id) VALUES ($1, $2)",
        [(submission_id, revision_id) for revision_id in revision_ids],
    )
    return submission_id


async def fetch_submission(conn: Connection, submission_id: int) -> Submission | None:
    row = await conn.fetchrow(
        f"SELECT {_SUBMISSION} {_SUBMISSION_FROM} WHERE s.id = $1", submission_id
    )
    return None if row is None else _submission(row)


async def fetch_enterprise_submissions(conn: Connection, enterprise_id: int) -> list[Submission]:
    rows = await conn.fetch(
        f"SELECT {_SUBMISSION} {_SUBMISSION_FROM} WHERE s.enterprise_id = $1 ORDER BY s.id DESC",
        enterprise_id,
    )
    return [_submission(row) for row in rows]


# The `= ANY` conditions let the planner walk the pending index (submissions_waiting)
# instead of every enterprise of a province; the pairs then keep the exact steps.
_WAITING = """
    FROM submissions s
    JOIN enterprises e ON e.id = s.enterprise_id
    JOIN jurisdictions j ON j.id = e.county_id
    WHERE s.status = 'pending' AND s.pipeline = ANY($1::text[]) AND s.step = ANY($2::int[])
      AND (s.pipeline, s.step) IN (SELECT * FROM unnest($1::text[], $2::int[]))
      AND (j.path = $3 OR j.path LIKE $3 || '/%')
"""


async def fetch_waiting(
    conn: Connection, steps: list[tuple[str, int]], path: str
) -> list[Submission]:
    """Pending submissions waiting at one of `steps`, of enterprises under `path`, oldest
    first."""
    submissions, _ = await fetch_waiting_page(conn, steps, path, offset=0, limit=None)
    return submissions


async def fetch_waiting_page(
    conn: Connection, steps: list[tuple[str, int]], path: str, *, offset: int, limit: int | None
) -> tuple[list[Submission], int]:
    """`limit` (None: all) of the pending submissions waiting at one of `steps`, of
    enterprises under `path`, oldest first from `offset`; and how many wait in all (0 when
    the page is empty). The page is chosen before its rows are read whole, so a long
    queue costs a page's reading, not the queue's."""
    rows = await conn.fetch(
        f"""
        WITH page AS (
            SELECT s.id, s.submitted_at, count(*) OVER () AS total {_WAITING}
            ORDER BY s.submitted_at, s.id LIMIT $5 OFFSET $4
        )
        SELECT {_SUBMISSION}, page.total {_SUBMISSION_FROM}
        JOIN page ON page.id = s.id
        ORDER BY page.submitted_at, page.id
        """,
        [pipeline for pipeline, _ in steps],
        [step for _, step in steps],
        path,
        offset,
        limit,
    )
    total = rows[0]["total"] if rows else 0
    return [_submission({k: v for k, v in row.items() if k != "total"}) for row in rows], total


async def count_waiting(conn: Connection, steps: list[tuple[str, int]], path: str) -> int:
    """How many submissions wait at `steps` under `path`."""
    total: int = await conn.fetchval(
        f"SELECT count(*) {_WAITING}",
        [pipeline for pipeline, _ in steps],
        [step for _, step in steps],
        path,
    )
    return total


async def record_decision(
    conn: Connection,
    submission_id: int,
    *,
    step: int,
    decision: str,
    reason: str | None,
    decided_by: int,
    final: bool,
) -> bool:
    """Decide `step` of a pending submission: approve moves it to the next step (or closes it
    approved when `final`), reject closes it. False when the submission is no longer waiting
    at `step`: someone decided it first."""
    moved = await conn.fetchval(
        """
        UPDATE submissions
        SET step = CASE WHEN $3 = 'approve' AND NOT $4 THEN step + 1 ELSE step END,
            status = CASE WHEN $3 = 'reject' THEN 'rejected'
                          WHEN $4 THEN 'approved' ELSE 'pending' END,
            closed_at = CASE WHEN $3 = 'reject' OR $4 THEN now() END
        WHERE id = $1 AND step = $2 AND status = 'pending'
        RETURNING id
        """,
        submission_id,
        step,
        decision,
        final,
    )
    if moved is None:
        return False
    await conn.execute(
        """
        INSERT INTO review_decisions (submission_id, step, decision, reason, decided_by)
        VALUES ($1, $2, $3, $4, $5)
        """,
        submission_id,
        step,
        decision,
        reason,
        decided_by,
    )
    return True


async def fetch_decisions(conn: Connection, submission_ids: list[int]) -> list[Decision]:
    rows = await conn.fetch(
        """
        SELECT d.submission_id, d.step, d.decision, d.reason, d.decided_by,
               a.name AS decider_name, d.decided_at
        FROM review_decisions d JOIN accounts a ON a.id = d.decided_by
        WHERE d.submission_id = ANY($1::bigint[])
        ORDER BY d.submission_id, d.step
        """,
        submission_ids,
    )
    return [Decision(**dict(row)) for row in rows]


async def fetch_valid_certificate(conn: Connection, enterprise_id: int) -> Certificate | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_CERTIFICATE} FROM certificates c JOIN enterprises e ON e.id = c.enterprise_id
        WHERE c.enterprise_id = $1 AND c.status = 'valid'
        """,
        enterprise_id,
    )
    return None if row is None else Certificate(**dict(row))


async def issue_certificate(
    conn: Connection,
    *,
    enterprise_id: int,
    submission_id: int,
    issued_on: date,
    expires_on: date,
    number_of: Callable[[int], str],
) -> Certificate:
    """A new valid certificate; the one it renews, if any, becomes `renewed`.
    `number_of(sequence)` formats the certificate number."""
    await conn.execute(
        "UPDATE certificates SET status = 'renewed' WHERE enterprise_id = $1 AND status = 'valid'",
        enterprise_id,
    )
    sequence = await conn.fetchval("SELECT nextval('certificate_numbers')")
    certificate_id = await conn.fetchval(
        """
        INSERT INTO certificates (number, enterprise_id, submission_id, issued_on, expires_on)
        VALUES ($1, $2, $3, $4, $5) RETURNING id
        """,
        number_of(sequence),
        enterprise_id,
        submission_id,
        issued_on,
        expires_on,
    )
    row = await conn.fetchrow(
        f"""
        SELECT {_CERTIFICATE} FROM certificates c JOIN enterprises e ON e.id = c.enterprise_id
        WHERE c.id = $1
        """,
        certificate_id,
    )
    assert row is not None
    return Certificate(**dict(row))


async def revoke_certificates(conn: Connection, enterprise_id: int) -> None:
    await conn.execute(
        "UPDATE certificates SET status = 'revoked' WHERE enterprise_id = $1 AND status = 'valid'",
        enterprise_id,
    )


async def fetch_expiring(conn: Connection, path: str, until: date) -> list[Certificate]:
    """Valid certificates of enterprises under `path` expiring on or before `until`."""
    rows = await conn.fetch(
        f"""
        SELECT {_CERTIFICATE}
        FROM certificates c
        JOIN enterprises e ON e.id = c.enterprise_id
        JOIN jurisdictions j ON j.id = e.county_id
        WHERE c.status = 'valid' AND c.expires_on <= $2
          AND (j.path = $1 OR j.path LIKE $1 || '/%')
        ORDER BY c.expires_on, c.id
        """,
        path,
        until,
    )
    return [Certificate(**dict(row)) for row in rows]
