"""The audit log: its chain (what an entry's hash covers, checking a whole chain) and its SQL
(appending in the caller's transaction, reading in order). Shared by every domain.

An entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical
JSON (id, time, actor, action, subject, changes). The first entry follows 32 zero bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from codesvc.storage import Connection

GENESIS = bytes(32)
# Never written into an entry, whatever the field is called in a change.
_SECRET_FIELDS = frozenset({"password", "password_hash", "resident_id_sealed", "token"})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: str
    changes: dict[str, Any]
    prev_hash: bytes
    hash: bytes


def entry_hash(
    prev_hash: bytes,
    *,
    entry_id: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
    changes: Mapping[str, Any],
) -> bytes:
    body = json.dumps(
        {
            "id": entry_id,
            "at": at.isoformat(),
            "actor_id": actor_id,
            "action": action,
            "subject": [subject_type, subject_id],
            "changes": changes,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    ).encode()
    return hashlib.sha256(prev_hash + body).digest()


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """{field: {"before", "after"}} for the fields whose value changed (all, when created)."""
    before = before or {}
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if name not in _SECRET_FIELDS and before.get(name) != value
    }


def first_broken_link(entries: Iterable[AuditEntry]) -> tuple[int, str] | None:
    """(id, what is wrong) of the first entry that does not chain; None if all do."""
    previous = GENESIS
    for entry in entries:
        if entry.prev_hash != previous:
            return entry.id, "it does not follow the entry before it (one was removed or changed)"
        expected = entry_hash(
            previous,
            entry_id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            changes=entry.changes,
        )
        if entry.hash != expected:
            return entry.id, "its content does not match its hash (it was edited)"
        previous = entry.hash
    return None


_AUDIT = "id, at, actor_id, action, subject_type, subject_id, changes, prev_hash, hash"
# Appends take turns: each entry's hash covers the one before it.
_AUDIT_LOCK = 0x5AFE_A0D1


async def append_audit(
    conn: Connection,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
    changes: dict[str, Any],
) -> None:
    """Add an entry in the caller's transaction (it is kept only if the write is)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _AUDIT_LOCK)
    last = await conn.fetchrow("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    entry_id = 1 if last is None else last["id"] + 1
    prev_hash = GENESIS if last is None else bytes(last["hash"])
    at = datetime.now(UTC)
    digest = entry_hash(
        prev_hash,
        entry_id=entry_id,
        at=at,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        changes=changes,
    )
    await conn.execute(
        """
        INSERT INTO audit_log (id, at, actor_id, action, subject_type, subject_id, changes,
            prev_hash, hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
        """,
        entry_id,
        at,
        actor_id,
        action,
        subject_type,
        subject_id,
        json.dumps(changes, ensure_ascii=False, default=str),
        prev_hash,
        digest,
    )


async def iter_audit_entries(conn: Connection, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    """Every entry in order, read a batch at a time."""
    after = 0
    while True:
        rows = await conn.fetch(
            f"""
            SELECT {_AUDIT} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2
            """,
            after,
            batch,
        )
        for row in rows:
            yield _audit_entry(row)
        if len(rows) < batch:
            return
        after = rows[-1]["id"]


def _audit_entry(row: Any) -> AuditEntry:
    values = dict(row)
    values["changes"] = json.loads(values["changes"])
    values["prev_hash"] = bytes(values["prev_hash"])
    values["hash"] = bytes(values["hash"])
    return AuditEntry(**values)
