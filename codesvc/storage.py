"""All of codesvc's SQL. Functions take a connection first and return dataclasses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from asyncpg import Connection as _Connection
from asyncpg.pool import PoolConnectionProxy

from codesvc.signing import KeyStatus

# What storage functions take: a connection of its own, or one borrowed from a pool.
Connection = _Connection | PoolConnectionProxy

# NOTIFY channel on which the relay waits for outbox rows.
OUTBOX_CHANNEL = "safecode_outbox"
# Key management (rotate, retire, revoke, first key) is rare: one at a time is enough.
_KEYS_LOCK = 0x5AFE_4B45


@dataclass(frozen=True, slots=True)
class SigningKeyRow:
    key_id: str
    sequence: int
    public_key: bytes
    sealed_private_key: bytes
    status: KeyStatus
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None


@dataclass(frozen=True, slots=True)
class CodeRow:
    code_id: str
    subject: str
    key_id: str
    signature: bytes
    status: str
    issued_at: datetime
    status_changed_at: datetime


@dataclass(frozen=True, slots=True)
class StatusChangeRow:
    code_id: str
    from_status: str | None
    to_status: str
    reason: str
    actor: str
    changed_at: datetime


_KEY_COLUMNS = (
    "key_id, sequence, public_key, sealed_private_key, status, created_at,"
    " retired_at, revoked_at, revoked_reason"
)
_CODE_COLUMNS = "code_id, subject, key_id, signature, status, issued_at, status_changed_at"


def _key(row: object) -> SigningKeyRow:
    values = dict(row)  # type: ignore[call-overload]
    values["status"] = KeyStatus(values["status"])
    return SigningKeyRow(**values)


def _code(row: object) -> CodeRow:
    return CodeRow(**dict(row))  # type: ignore[call-overload]


async def lock_keys(conn: Connection) -> None:
    """Serialise key management until the current transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _KEYS_LOCK)


async def fetch_keys(conn: Connection) -> list[SigningKeyRow]:
    rows = await conn.fetch(f"SELECT {_KEY_COLUMNS} FROM signing_keys ORDER BY sequence")
    return [_key(row) for row in rows]


async def fetch_key(conn: Connection, key_id: str) -> SigningKeyRow | None:
    row = await conn.fetchrow(f"SELECT {_KEY_COLUMNS} FROM signing_keys WHERE key_id = $1", key_id)
    return None if row is None else _key(row)


async def fetch_active_key(conn: Connection) -> SigningKeyRow | None:
    row = await conn.fetchrow(f"SELECT {_KEY_COLUMNS} FROM signing_keys WHERE status = 'active'")
    return None if row is None else _key(row)


async def next_key_sequence(conn: Connection) -> int:
    value: int = await conn.fetchval("SELECT coalesce(max(sequence), 0) + 1 FROM signing_keys")
    return value


async def insert_active_key(
    conn: Connection, *, key_id: str, sequence: int, public_key: bytes, sealed_private_key: bytes
) -> SigningKeyRow:
    row = await conn.fetchrow(
        f"""
        INSERT INTO signing_keys (key_id, sequence, public_key, sealed_private_key, status)
        VALUES ($1, $2, $3, $4, 'active')
        RETURNING {_KEY_COLUMNS}
        """,
        key_id,
        sequence,
        public_key,
        sealed_private_key,
    )
    return _key(row)


async def retire_key(conn: Connection, key_id: str) -> None:
    await conn.execute(
        "UPDATE signing_keys SET status = 'retired', retired_at = now() WHERE key_id = $1",
        key_id,
    )


async def revoke_key(conn: Connection, key_id: str, reason: str) -> None:
    await conn.execute(
        """
        UPDATE signing_keys
        SET status = 'revoked', revoked_at = now(), revoked_reason = $2,
            retired_at = coalesce(retired_at, now())
        WHERE key_id = $1
        """,
        key_id,
        reason,
    )


async def count_codes_signed_by(conn: Connection, key_id: str) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM codes WHERE key_id = $1", key_id)
    return count


async def fetch_revoked_public_keys(conn: Connection) -> dict[str, bytes]:
    """The public halves of revoked keys, by key_id (what the resolver watches)."""
    rows = await conn.fetch("SELECT key_id, public_key FROM signing_keys WHERE status = 'revoked'")
    return {row["key_id"]: bytes(row["public_key"]) for row in rows}


async def claim_codes_of_revoked_keys(conn: Connection, limit: int) -> list[CodeRow]:
    """Codes still signed by a revoked key, in code_id order, locked until the transaction
    ends (a concurrent re-signing run skips them)."""
    rows = await conn.fetch(
        f"""
        SELECT {", ".join("c." + column for column in _CODE_COLUMNS.split(", "))}
        FROM codes c JOIN signing_keys k ON k.key_id = c.key_id
        WHERE k.status = 'revoked'
        ORDER BY c.code_id LIMIT $1
        FOR UPDATE OF c SKIP LOCKED
        """,
        limit,
    )
    return [_code(row) for row in rows]


async def count_codes_of_revoked_keys(conn: Connection) -> int:
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM codes c JOIN signing_keys k ON k.key_id = c.key_id
        WHERE k.status = 'revoked'
        """
    )
    return count


async def resign_codes(
    conn: Connection, old: Sequence[CodeRow], key_id: str, signatures: Sequence[bytes]
) -> None:
    """Give each code of `old` its new signature by `key_id`, keeping the one it had."""
    await conn.execute(
        """
        INSERT INTO superseded_signatures (code_id, key_id, signature, replaced_by)
        SELECT code_id, old_key, signature, $4
        FROM unnest($1::text[], $2::text[], $3::bytea[]) AS o(code_id, old_key, signature)
        ON CONFLICT (code_id, key_id) DO NOTHING
        """,
        [row.code_id for row in old],
        [row.key_id for row in old],
        [row.signature for row in old],
        key_id,
    )
    await conn.execute(
        """
        UPDATE codes SET key_id = $2, signature = n.signature
        FROM unnest($1::text[], $3::bytea[]) AS n(code_id, signature)
        WHERE codes.code_id = n.code_id
        """,
        [row.code_id for row in old],
        key_id,
        list(signatures),
    )


@dataclass(frozen=True, slots=True)
class SupersededRow:
    code_id: str
    key_id: str  # the revoked key that had signed it
    signature: bytes
    replaced_by: str
    superseded_at: datetime


async def fetch_superseded_signatures(conn: Connection, code_id: str) -> list[SupersededRow]:
    rows = await conn.fetch(
        """
        SELECT code_id, key_id, signature, replaced_by, superseded_at
        FROM superseded_signatures WHERE code_id = $1 ORDER BY superseded_at
        """,
        code_id,
    )
    return [SupersededRow(**dict(row)) for row in rows]


async def fetch_codes_by_subject(conn: Connection, subjects: Sequence[str]) -> dict[str, CodeRow]:
    rows = await conn.fetch(
        f"SELECT {_CODE_COLUMNS} FROM codes WHERE subject = ANY($1::text[])", list(subjects)
    )
    return {row["subject"]: _code(row) for row in rows}


async def fetch_codes(conn: Connection, code_ids: Sequence[str]) -> list[CodeRow]:
    """The codes with these code_ids, in code_id order; unknown ones left out."""
    rows = await conn.fetch(
        f"SELECT {_CODE_COLUMNS} FROM codes WHERE code_id = ANY($1::text[]) ORDER BY code_id",
        list(code_ids),
    )
    return [_code(row) for row in rows]


async def fetch_code(conn: Connection, code_id: str) -> CodeRow | None:
    row = await conn.fetchrow(f"SELECT {_CODE_COLUMNS} FROM codes WHERE code_id = $1", code_id)
    return None if row is None else _code(row)


async def fetch_code_for_update(conn: Connection, code_id: str) -> CodeRow | None:
    row = await conn.fetchrow(
        f"SELECT {_CODE_COLUMNS} FROM codes WHERE code_id = $1 FOR UPDATE", code_id
    )
    return None if row is None else _code(row)


async def insert_codes(
    conn: Connection, rows: Sequence[tuple[str, str, str, bytes]], actor: str
) -> list[CodeRow]:
    """Insert (code_id, subject, key_id, signature) rows; a subject (or code_id) that exists
    already is skipped, waiting for a concurrent insert of it to commit or roll back.
    Returns the rows inserted here, each with its issuance recorded."""
    inserted = await conn.fetch(
        f"""
        INSERT INTO codes (code_id, subject, key_id, signature)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
        ON CONFLICT DO NOTHING
        RETURNING {_CODE_COLUMNS}
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
    if inserted:
        await conn.execute(
            """
            INSERT INTO code_status_changes (code_id, from_status, to_status, reason, actor)
            SELECT code_id, NULL, 'active', 'issued', $2 FROM unnest($1::text[]) AS code_id
            """,
            [row["code_id"] for row in inserted],
            actor,
        )
    return [_code(row) for row in inserted]


async def change_code_status(
    conn: Connection, code_id: str, *, from_status: str, to_status: str, reason: str, actor: str
) -> CodeRow:
    row = await conn.fetchrow(
        f"""
        UPDATE codes SET status = $2, status_changed_at = now()
        WHERE code_id = $1
        RETURNING {_CODE_COLUMNS}
        """,
        code_id,
        to_status,
    )
    await conn.execute(
        """
        INSERT INTO code_status_changes (code_id, from_status, to_status, reason, actor)
        VALUES ($1, $2, $3, $4, $5)
        """,
        code_id,
        from_status,
        to_status,
        reason,
        actor,
    )
    return _code(row)


async def fetch_status_changes(conn: Connection, code_id: str) -> list[StatusChangeRow]:
    rows = await conn.fetch(
        """
        SELECT code_id, from_status, to_status, reason, actor, changed_at
        FROM code_status_changes WHERE code_id = $1 ORDER BY id
        """,
        code_id,
    )
    return [StatusChangeRow(**dict(row)) for row in rows]


# --- publishing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedRecordRow:
    code_id: str
    version: int
    revision: str
    approved_on: date
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VariantRow:
    name: str
    version: int
    body: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class ScanEntryRow:
    """A code as the resolver needs it: the issued code, its status and its variants."""

    code_id: str
    key_id: str
    signature: bytes
    status: str
    variants: list[VariantRow]


async def fetch_published_record(conn: Connection, code_id: str) -> PublishedRecordRow | None:
    row = await conn.fetchrow(
        """
        SELECT code_id, version, revision, approved_on, record
        FROM published_records WHERE code_id = $1
        """,
        code_id,
    )
    if row is None:
        return None
    values = dict(row)
    values["record"] = json.loads(values["record"])
    return PublishedRecordRow(**values)


async def fetch_latest_status_change(conn: Connection, code_id: str) -> StatusChangeRow:
    row = await conn.fetchrow(
        """
        SELECT code_id, from_status, to_status, reason, actor, changed_at
        FROM code_status_changes WHERE code_id = $1 ORDER BY id DESC LIMIT 1
        """,
        code_id,
    )
    assert row is not None, "every code has its issuance recorded"
    return StatusChangeRow(**dict(row))


async def next_variant_version(conn: Connection, code_id: str) -> int:
    """One more than any version the code's variants had; the caller holds the code's lock."""
    value: int = await conn.fetchval(
        """
        SELECT greatest(
            (SELECT max(version) FROM published_variants WHERE code_id = $1),
            (SELECT max(version) FROM published_history WHERE code_id = $1),
            0
        ) + 1
        """,
        code_id,
    )
    return value


async def save_published_record(
    conn: Connection,
    code_id: str,
    *,
    version: int,
    revision: str,
    approved_on: date,
    record: dict[str, Any],
) -> None:
    document = json.dumps(record, ensure_ascii=False)
    await conn.execute(
        """
        INSERT INTO published_records (code_id, version, revision, approved_on, record)
        VALUES ($1, $2, $3, $4, $5::jsonb)
        ON CONFLICT (code_id) DO UPDATE SET version = $2, revision = $3, approved_on = $4,
            record = $5::jsonb, published_at = now()
        """,
        code_id,
        version,
        revision,
        approved_on,
        document,
    )
    await conn.execute(
        """
        INSERT INTO published_history (code_id, version, revision, approved_on, record)
        VALUES ($1, $2, $3, $4, $5::jsonb)
        """,
        code_id,
        version,
        revision,
        approved_on,
        document,
    )


async def replace_variants(
    conn: Connection, code_id: str, version: int, variants: dict[str, tuple[bytes, str]]
) -> None:
    """The code's variants become exactly these, and the relay is told to copy them."""
    await conn.execute("DELETE FROM published_variants WHERE code_id = $1", code_id)
    await conn.executemany(
        """
        INSERT INTO published_variants (code_id, name, version, body, etag)
        VALUES ($1, $2, $3, $4, $5)
        """,
        [(code_id, name, version, body, etag) for name, (body, etag) in variants.items()],
    )
    await conn.execute(
        "INSERT INTO cache_outbox (code_id, version) VALUES ($1, $2)", code_id, version
    )
    # Delivered at commit: wakes the relay at once instead of at its next poll.
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")


# --- the scan path and the relay --------------------------------------------------------


async def fetch_scan_entry(conn: Connection, code_id: str) -> ScanEntryRow | None:
    """The code and all its variants in one round trip (for the relay); None if unknown."""
    rows = await conn.fetch(
        """
        SELECT c.code_id, c.key_id, c.signature, c.status, v.name, v.version, v.body, v.etag
        FROM codes c LEFT JOIN published_variants v ON v.code_id = c.code_id
        WHERE c.code_id = $1
        """,
        code_id,
    )
    if not rows:
        return None
    first = rows[0]
    variants = [
        VariantRow(row["name"], row["version"], row["body"], row["etag"])
        for row in rows
        if row["name"] is not None
    ]
    return ScanEntryRow(
        first["code_id"], first["key_id"], first["signature"], first["status"], variants
    )


@dataclass(frozen=True, slots=True)
class ScanVariantRow:
    """A code and one of its variants, as a resolver reads it after a miss."""

    code_id: str
    key_id: str
    signature: bytes
    status: str
    version: int  # the variants' version; 0 when nothing was ever rendered
    variant: tuple[bytes, str] | None  # (body, etag)
    published: bool  # whether the code has any variants at all


async def fetch_scan_variants(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ScanVariantRow]:
    """Each (code_id, variant name) asked, with its code, in one round trip however many
    are asked; unknown code_ids are absent from the answer."""
    rows = await conn.fetch(
        """
        SELECT k.code_id, k.name, c.key_id, c.signature, c.status, v.version, v.body, v.etag,
               v.name IS NOT NULL
               OR EXISTS (SELECT 1 FROM published_variants p WHERE p.code_id = c.code_id)
               AS published
        FROM unnest($1::text[], $2::text[]) AS k(code_id, name)
        JOIN codes c ON c.code_id = k.code_id
        LEFT JOIN published_variants v ON v.code_id = c.code_id AND v.name = k.name
        """,
        [code_id for code_id, _ in keys],
        [name for _, name in keys],
    )
    return {
        (row["code_id"], row["name"]): ScanVariantRow(
            code_id=row["code_id"],
            key_id=row["key_id"],
            signature=row["signature"],
            status=row["status"],
            version=row["version"] or 0,
            variant=None if row["body"] is None else (row["body"], row["etag"]),
            published=row["published"],
        )
        for row in rows
    }


async def rendered_code_ids(conn: Connection, *, after: str, limit: int) -> list[str]:
    """Codes that have rendered variants, in code_id order after `after` (for paging)."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT code_id FROM published_variants
        WHERE code_id > $1 ORDER BY code_id LIMIT $2
        """,
        after,
        limit,
    )
    return [row["code_id"] for row in rows]


async def claim_outbox(conn: Connection, limit: int) -> list[tuple[int, str, int]]:
    """(id, code_id, version) of the oldest outbox rows, locked until the transaction ends."""
    rows = await conn.fetch(
        """
        SELECT id, code_id, version FROM cache_outbox
        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
        """,
        limit,
    )
    return [(row["id"], row["code_id"], row["version"]) for row in rows]


async def delete_outbox(conn: Connection, ids: Sequence[int]) -> None:
    await conn.execute("DELETE FROM cache_outbox WHERE id = ANY($1::bigint[])", list(ids))


async def add_scan_counts(conn: Connection, counts: Sequence[tuple[str, date, str, int]]) -> None:
    """Add (code_id, day, view, scans) to the totals."""
    await conn.executemany(
        """
        INSERT INTO scan_counts (code_id, day, view, scans) VALUES ($1, $2, $3, $4)
        ON CONFLICT (code_id, day, view) DO UPDATE SET scans = scan_counts.scans + $4
        """,
        counts,
    )


# --- lifecycle: batches, recalls, items -------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: int
    code_id: str
    batch_no: str
    produced_on: date
    use_by: date
    use_by_kind: str  # expiry | retest
    quantity: Decimal
    unit: str
    packaging: dict[str, Any]
    site: str | None
    declared_by: str
    declared_at: datetime


@dataclass(frozen=True, slots=True)
class RecallRow:
    id: int
    batch_id: int
    reason: str
    instructions: str
    started_by: str
    started_at: datetime
    ended_by: str | None
    ended_at: datetime | None
    end_note: str | None


@dataclass(frozen=True, slots=True)
class ItemIssueRow:
    id: int
    batch_id: int
    kind: str  # item | case | pallet
    count: int
    issued_by: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class ItemRow:
    serial: str
    batch_id: int
    issue_id: int
    seq: int
    kind: str
    state: str
    state_at: datetime | None
    holder: int | None
    parent: str | None
    alerted_at: datetime | None


_BATCH_COLUMNS = (
    "id, code_id, batch_no, produced_on, use_by, use_by_kind, quantity, unit, packaging, "
    "site, declared_by, declared_at"
)
_RECALL_COLUMNS = (
    "id, batch_id, reason, instructions, started_by, started_at, ended_by, ended_at, end_note"
)
_ITEM_COLUMNS = "serial, batch_id, issue_id, seq, kind, state, state_at, holder, parent, alerted_at"


def _batch(row: Any) -> BatchRow:
    values = dict(row)
    values["packaging"] = json.loads(values["packaging"])
    return BatchRow(**values)


async def insert_batch(
    conn: Connection,
    *,
    code_id: str,
    batch_no: str,
    produced_on: date,
    use_by: date,
    use_by_kind: str,
    quantity: Decimal,
    unit: str,
    packaging: dict[str, Any],
    site: str | None,
    declared_by: str,
) -> BatchRow | None:
    """The batch declared; None when the code already has a batch of that number."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO batches (code_id, batch_no, produced_on, use_by, use_by_kind, quantity,
                             unit, packaging, site, declared_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (code_id, batch_no) DO NOTHING
        RETURNING {_BATCH_COLUMNS}
        """,
        code_id, batch_no, produced_on, use_by, use_by_kind, quantity, unit,
        json.dumps(packaging, ensure_ascii=False), site, declared_by,
    )  # fmt: skip
    return None if row is None else _batch(row)


async def fetch_batch(conn: Connection, code_id: str, batch_no: str) -> BatchRow | None:
    row = await conn.fetchrow(
        f"SELECT {_BATCH_COLUMNS} FROM batches WHERE code_id = $1 AND batch_no = $2",
        code_id,
        batch_no,
    )
    return None if row is None else _batch(row)


async def fetch_batch_by_id(conn: Connection, batch_id: int) -> BatchRow | None:
    row = await conn.fetchrow(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id = $1", batch_id)
    return None if row is None else _batch(row)


async def fetch_batches_by_id(conn: Connection, batch_ids: Sequence[int]) -> dict[int, BatchRow]:
    rows = await conn.fetch(
        f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id = ANY($1::bigint[])", list(batch_ids)
    )
    return {row["id"]: _batch(row) for row in rows}


async def fetch_batches(
    conn: Connection, code_id: str, *, limit: int, before: int | None = None
) -> list[BatchRow]:
    """The code's batches, the newest first, `limit` of them older than batch `before`."""
    rows = await conn.fetch(
        f"""
        SELECT {_BATCH_COLUMNS} FROM batches
        WHERE code_id = $1 AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3
        """,
        code_id,
        before,
        limit,
    )
    return [_batch(row) for row in rows]


async def fetch_recalls(conn: Connection, batch_id: int) -> list[RecallRow]:
    """Every recall of the batch, the newest first (an open one is first)."""
    rows = await conn.fetch(
        f"SELECT {_RECALL_COLUMNS} FROM batch_recalls WHERE batch_id = $1 ORDER BY id DESC",
        batch_id,
    )
    return [RecallRow(**dict(row)) for row in rows]


async def fetch_open_recalls(conn: Connection, batch_ids: Sequence[int]) -> dict[int, RecallRow]:
    rows = await conn.fetch(
        f"""
        SELECT {_RECALL_COLUMNS} FROM batch_recalls
        WHERE batch_id = ANY($1::bigint[]) AND ended_at IS NULL
        """,
        list(batch_ids),
    )
    return {row["batch_id"]: RecallRow(**dict(row)) for row in rows}


async def start_recall(
    conn: Connection, batch_id: int, *, reason: str, instructions: str, started_by: str
) -> RecallRow | None:
    """The recall started; None when the batch is under a recall already."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO batch_recalls (batch_id, reason, instructions, started_by)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (batch_id) WHERE ended_at IS NULL DO NOTHING
        RETURNING {_RECALL_COLUMNS}
        """,
        batch_id,
        reason,
        instructions,
        started_by,
    )
    return None if row is None else RecallRow(**dict(row))


async def end_recall(
    conn: Connection, batch_id: int, *, ended_by: str, note: str | None
) -> RecallRow | None:
    """The batch's open recall, ended; None when none was open."""
    row = await conn.fetchrow(
        f"""
        UPDATE batch_recalls SET ended_by = $2, ended_at = now(), end_note = $3
        WHERE batch_id = $1 AND ended_at IS NULL
        RETURNING {_RECALL_COLUMNS}
        """,
        batch_id,
        ended_by,
        note,
    )
    return None if row is None else RecallRow(**dict(row))


async def insert_item_issue(
    conn: Connection, batch_id: int, *, kind: str, count: int, issued_by: str
) -> ItemIssueRow:
    row = await conn.fetchrow(
        """
        INSERT INTO item_issues (batch_id, kind, count, issued_by) VALUES ($1, $2, $3, $4)
        RETURNING id, batch_id, kind, count, issued_by, issued_at
        """,
        batch_id,
        kind,
        count,
        issued_by,
    )
    assert row is not None  # INSERT ... RETURNING gives its row
    return ItemIssueRow(**dict(row))


async def fetch_item_issue(conn: Connection, issue_id: int) -> ItemIssueRow | None:
    row = await conn.fetchrow(
        "SELECT id, batch_id, kind, count, issued_by, issued_at FROM item_issues WHERE id = $1",
        issue_id,
    )
    return None if row is None else ItemIssueRow(**dict(row))


async def fetch_item_issues(conn: Connection, batch_id: int) -> list[ItemIssueRow]:
    rows = await conn.fetch(
        """
        SELECT id, batch_id, kind, count, issued_by, issued_at FROM item_issues
        WHERE batch_id = $1 ORDER BY id
        """,
        batch_id,
    )
    return [ItemIssueRow(**dict(row)) for row in rows]


async def copy_items(conn: Connection, issue: ItemIssueRow, serials: Sequence[str]) -> None:
    """Store the issue's serials with COPY (a million in a few seconds); a serial that
    exists already (odds about n / 2**60) fails the whole COPY, and the caller retries."""
    batch_id, issue_id, kind = issue.batch_id, issue.id, issue.kind
    await conn.copy_records_to_table(
        "items",
        records=((serial, batch_id, issue_id, seq, kind) for seq, serial in enumerate(serials, 1)),
        columns=("serial", "batch_id", "issue_id", "seq", "kind"),
    )


async def analyze_items(conn: Connection) -> None:
    await conn.execute("ANALYZE items")


@dataclass(frozen=True, slots=True)
class ItemRefRow:
    """What names an item in an event: its code (as issued) and batch."""

    serial: str
    code_id: str
    key_id: str
    signature: bytes
    batch_no: str


async def fetch_item_refs(conn: Connection, serials: Sequence[str]) -> dict[str, ItemRefRow]:
    """Each issued serial's code and batch, in one query; serials never issued are absent."""
    rows = await conn.fetch(
        """
        SELECT i.serial, c.code_id, c.key_id, c.signature, b.batch_no
        FROM items i JOIN batches b ON b.id = i.batch_id JOIN codes c ON c.code_id = b.code_id
        WHERE i.serial = ANY($1::text[])
        """,
        list(serials),
    )
    return {row["serial"]: ItemRefRow(**dict(row)) for row in rows}


async def fetch_issue_serials(
    conn: Connection, issue_id: int, *, after_seq: int, limit: int
) -> list[tuple[int, str]]:
    """(seq, serial) of the issue after `after_seq`, in seq order, `limit` of them."""
    rows = await conn.fetch(
        """
        SELECT seq, serial FROM items WHERE issue_id = $1 AND seq > $2
        ORDER BY seq LIMIT $3
        """,
        issue_id,
        after_seq,
        limit,
    )
    return [(row["seq"], row["serial"]) for row in rows]


async def fetch_item(conn: Connection, serial: str) -> ItemRow | None:
    row = await conn.fetchrow(f"SELECT {_ITEM_COLUMNS} FROM items WHERE serial = $1", serial)
    return None if row is None else ItemRow(**dict(row))


async def fetch_items_for_update(conn: Connection, serials: Sequence[str]) -> dict[str, ItemRow]:
    """The items named that exist, locked until the transaction ends (in serial order, so
    two transactions locking overlapping sets cannot deadlock)."""
    rows = await conn.fetch(
        f"""
        SELECT {_ITEM_COLUMNS} FROM items WHERE serial = ANY($1::text[])
        ORDER BY serial FOR UPDATE
        """,
        list(serials),
    )
    # By position: _ITEM_COLUMNS are ItemRow's fields in order (thousands of rows a document).
    return {row[0]: ItemRow(*row) for row in rows}


async def fetch_children(conn: Connection, parents: Sequence[str]) -> dict[str, list[str]]:
    """The serials packed directly in each parent named."""
    rows = await conn.fetch(
        "SELECT parent, serial FROM items WHERE parent = ANY($1::text[]) ORDER BY serial",
        list(parents),
    )
    children: dict[str, list[str]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row["serial"])
    return children


async def update_items(
    conn: Connection,
    changes: Sequence[tuple[str, str, datetime | None, int | None, str | None]],
) -> None:
    """Write (serial, state, state_at, holder, parent) of each item, in one statement."""
    if not changes:
        return
    serials, states, times, holders, parents = zip(*changes, strict=True)
    await conn.execute(
        """
        UPDATE items i SET state = c.state, state_at = c.state_at, holder = c.holder,
                           parent = c.parent
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::text[])
             AS c(serial, state, state_at, holder, parent)
        WHERE i.serial = c.serial
        """,
        serials,
        states,
        times,
        holders,
        parents,
    )


async def mark_items_alerted(conn: Connection, serials: Sequence[str]) -> None:
    """The first alert about each item is dated (its scan page shows a caution from then)."""
    await conn.execute(
        """
        UPDATE items SET alerted_at = now()
        WHERE serial = ANY($1::text[]) AND alerted_at IS NULL
        """,
        list(serials),
    )


@dataclass(frozen=True, slots=True)
class BatchScanRow:
    """What a scan of a batch shows of it: the batch and its open recall."""

    batch: BatchRow
    recall: RecallRow | None


@dataclass(frozen=True, slots=True)
class ItemScanRow:
    """What a scan of an item shows of it: the item, the batch and code it belongs to."""

    item: ItemRow
    code_id: str
    batch_no: str


async def fetch_batch_scan(conn: Connection, code_id: str, batch_no: str) -> BatchScanRow | None:
    batch = await fetch_batch(conn, code_id, batch_no)
    if batch is None:
        return None
    recalls = await fetch_open_recalls(conn, [batch.id])
    return BatchScanRow(batch, recalls.get(batch.id))


async def fetch_item_scan(conn: Connection, serial: str) -> ItemScanRow | None:
    row = await conn.fetchrow(
        f"""
        SELECT {", ".join("i." + c for c in _ITEM_COLUMNS.split(", "))}, b.code_id, b.batch_no
        FROM items i JOIN batches b ON b.id = i.batch_id WHERE i.serial = $1
        """,
        serial,
    )
    if row is None:
        return None
    values = dict(row)
    code_id, batch_no = values.pop("code_id"), values.pop("batch_no")
    return ItemScanRow(ItemRow(**values), code_id, batch_no)


async def queue_lifecycle_invalidation(conn: Connection, keys: Sequence[str]) -> None:
    """Ask the relay to drop these lifecycle cache keys from Redis and announce them, once
    this transaction commits (and never if it does not)."""
    if not keys:
        return
    await conn.execute("INSERT INTO lifecycle_outbox (keys) VALUES ($1::text[])", list(keys))
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")


async def claim_lifecycle_outbox(conn: Connection, limit: int) -> list[tuple[int, list[str]]]:
    """(id, keys) of the oldest lifecycle outbox rows, locked until the transaction ends."""
    rows = await conn.fetch(
        "SELECT id, keys FROM lifecycle_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [(row["id"], list(row["keys"])) for row in rows]


async def delete_lifecycle_outbox(conn: Connection, ids: Sequence[int]) -> None:
    await conn.execute("DELETE FROM lifecycle_outbox WHERE id = ANY($1::bigint[])", list(ids))


# --- the scans of batches and items, and their flags -------------------------------------


async def fetch_batch_scans(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], BatchScanRow]:
    """`fetch_batch_scan` of many (code_id, batch_no) in one query (a resolver's misses of
    one turn); undeclared batches are absent from the answer."""
    columns = ", ".join("b." + column for column in _BATCH_COLUMNS.split(", "))
    recall_columns = ", ".join(f"r.{c} AS r_{c}" for c in _RECALL_COLUMNS.split(", "))
    rows = await conn.fetch(
        f"""
        SELECT {columns}, {recall_columns}
        FROM unnest($1::text[], $2::text[]) AS k(code_id, batch_no)
        JOIN batches b ON b.code_id = k.code_id AND b.batch_no = k.batch_no
        LEFT JOIN batch_recalls r ON r.batch_id = b.id AND r.ended_at IS NULL
        """,
        [code_id for code_id, _ in keys],
        [batch_no for _, batch_no in keys],
    )
    found = {}
    for row in rows:
        values = dict(row)
        recall = {c: values.pop(f"r_{c}") for c in _RECALL_COLUMNS.split(", ")}
        batch = _batch(values)
        open_recall = None if recall["id"] is None else RecallRow(**recall)
        found[batch.code_id, batch.batch_no] = BatchScanRow(batch, open_recall)
    return found


async def fetch_item_scans(conn: Connection, serials: Sequence[str]) -> dict[str, ItemScanRow]:
    """`fetch_item_scan` of many serials in one query; serials never issued are absent."""
    rows = await conn.fetch(
        f"""
        SELECT {", ".join("i." + c for c in _ITEM_COLUMNS.split(", "))}, b.code_id, b.batch_no
        FROM items i JOIN batches b ON b.id = i.batch_id
        WHERE i.serial = ANY($1::text[])
        """,
        list(serials),
    )
    found = {}
    for row in rows:
        values = dict(row)
        code_id, batch_no = values.pop("code_id"), values.pop("batch_no")
        found[values["serial"]] = ItemScanRow(ItemRow(**values), code_id, batch_no)
    return found


@dataclass(frozen=True, slots=True)
class ScanFlagRow:
    """Scans of one day that the registry may raise an alert about (`scan_flags`)."""

    id: int
    kind: str  # after_end | not_issued | other_batch | batch_scans
    code_id: str
    batch_no: str
    serial: str | None
    day: date
    scans: int
    first_at: datetime
    last_at: datetime


async def add_scan_flags(
    conn: Connection,
    flags: Sequence[tuple[str, str, str, str | None, date, int, datetime, datetime]],
) -> None:
    """Add (kind, code_id, batch_no, serial, day, scans, first_at, last_at) to the day's
    flags: scans summed, the earliest first_at and the latest last_at kept."""
    await conn.execute(
        """
        INSERT INTO scan_flags (kind, code_id, batch_no, serial, day, scans, first_at, last_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[],
                             $6::bigint[], $7::timestamptz[], $8::timestamptz[])
        ON CONFLICT (code_id, batch_no, kind, serial, day) DO UPDATE SET
            scans = scan_flags.scans + excluded.scans,
            first_at = least(scan_flags.first_at, excluded.first_at),
            last_at = greatest(scan_flags.last_at, excluded.last_at)
        """,
        *([flag[i] for flag in flags] for i in range(8)),
    )


async def fetch_scan_flags(
    conn: Connection,
    *,
    code_ids: Sequence[str] | None,
    since: datetime | None,
    limit: int,
) -> list[ScanFlagRow]:
    """The flags of these codes (None: of every code) last seen at or after `since` (None:
    ever), the most recently seen first, `limit` of them."""
    rows = await conn.fetch(
        """
        SELECT id, kind, code_id, batch_no, serial, day, scans, first_at, last_at
        FROM scan_flags
        WHERE ($1::text[] IS NULL OR code_id = ANY($1::text[]))
          AND ($2::timestamptz IS NULL OR last_at >= $2)
        ORDER BY last_at DESC, id DESC LIMIT $3
        """,
        None if code_ids is None else list(code_ids),
        since,
        limit,
    )
    return [ScanFlagRow(**dict(row)) for row in rows]
