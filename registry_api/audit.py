"""The audit log's chain: what an entry's hash covers, and checking a whole chain.

An entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical
JSON (id, time, actor, action, subject, changes). The first entry follows 32 zero bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
