"""Issuing codes, one per subject, and changing their status with every change kept.

A subject is the caller's name for what the code stands for (the registry passes an
enterprise/product pair). Issuing is idempotent and safe under concurrency: the unique
subject column decides, so any number of concurrent calls for one subject get one code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from codesvc import storage
from codesvc.codes import PROVINCE_CODES, Code, CodeFormatError, new_code_id, parse_code_id
from codesvc.errors import CodeStateError, InvalidArgument, NotFoundError
from codesvc.keyring import KeyRing
from codesvc.publishing import refresh_variants
from codesvc.signing import sign_code
from codesvc.storage import Connection

MAX_SUBJECT_LENGTH = 200
MAX_BATCH = 10_000
# A fresh code_id colliding with an existing one has odds of about n / 2**70; retrying
# a few times turns "unlikely" into "never" without a loop that could spin.
_ISSUE_ATTEMPTS = 4


class CodeStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # scans show the page under a warning
    REVOKED = "revoked"  # final: scans answer 410


_ALLOWED = {
    (CodeStatus.ACTIVE, CodeStatus.SUSPENDED),
    (CodeStatus.SUSPENDED, CodeStatus.ACTIVE),
    (CodeStatus.ACTIVE, CodeStatus.REVOKED),
    (CodeStatus.SUSPENDED, CodeStatus.REVOKED),
}


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: Code
    subject: str
    status: CodeStatus
    issued_at: datetime


def _issued(row: storage.CodeRow) -> IssuedCode:
    return IssuedCode(
        code=Code(row.code_id, row.key_id, row.signature),
        subject=row.subject,
        status=CodeStatus(row.status),
        issued_at=row.issued_at,
    )


async def issue_code(
    conn: Connection, subject: str, *, keyring: KeyRing, province: str, actor: str = "system"
) -> IssuedCode:
    """The subject's code, issuing it (in `province`) the first time it is asked for."""
    return (await issue_codes(conn, [subject], keyring=keyring, province=province, actor=actor))[
        subject
    ]


async def issue_codes(
    conn: Connection,
    subjects: Sequence[str],
    *,
    keyring: KeyRing,
    province: str,
    actor: str = "system",
) -> dict[str, IssuedCode]:
    """Codes for many subjects in one transaction (the caller's, if one is open)."""
    wanted = list(dict.fromkeys(_check_subject(s) for s in subjects))
    if len(wanted) > MAX_BATCH:
        raise InvalidArgument(f"at most {MAX_BATCH} subjects in one batch, got {len(wanted)}")
    if province not in PROVINCE_CODES:
        raise InvalidArgument(f"{province!r} is not a GB/T 2260 province code")
    _check_actor(actor)
    async with conn.transaction():
        found = await storage.fetch_codes_by_subject(conn, wanted)
        for _ in range(_ISSUE_ATTEMPTS):
            missing = [s for s in wanted if s not in found]
            if not missing:
                break
            signer = await keyring.active_signer(conn)
            rows = []
            for subject in missing:
                code = sign_code(signer.private_key, new_code_id(province), signer.key_id)
                rows.append((code.code_id, subject, code.key_id, code.signature))
            await storage.insert_codes(conn, rows, actor)
            # Also picks up subjects a concurrent call issued first (its insert won).
            found.update(await storage.fetch_codes_by_subject(conn, missing))
        if any(s not in found for s in wanted):
            raise RuntimeError("code_id collisions on every attempt; the random source is broken")
    return {subject: _issued(found[subject]) for subject in wanted}


async def find_codes(conn: Connection, code_ids: Sequence[str]) -> list[IssuedCode]:
    """The issued codes among `code_ids` (exact code_ids), in one query."""
    return [_issued(row) for row in await storage.fetch_codes(conn, code_ids)]


async def find_code(conn: Connection, code_id: str) -> IssuedCode:
    """The code with this code_id (as typed: any case, aliases, dashes allowed)."""
    code_id = _read_code_id(code_id)
    row = await storage.fetch_code(conn, code_id)
    if row is None:
        raise NotFoundError(f"no code {code_id}")
    return _issued(row)


async def change_code_status(
    conn: Connection,
    code_id: str,
    to_status: CodeStatus,
    *,
    reason: str,
    actor: str,
    public_base_url: str,
) -> IssuedCode:
    """Suspend, reinstate or revoke a code; the change is kept with its reason and actor,
    and what scans show is rendered again (a warning, or the revoked page) in the same
    transaction."""
    code_id = _read_code_id(code_id)
    if not isinstance(to_status, CodeStatus):
        raise InvalidArgument(f"status must be one of {', '.join(CodeStatus)}")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("a status change needs a reason")
    _check_actor(actor)
    async with conn.transaction():
        row = await storage.fetch_code_for_update(conn, code_id)
        if row is None:
            raise NotFoundError(f"no code {code_id}")
        current = CodeStatus(row.status)
        if (current, to_status) not in _ALLOWED:
            raise CodeStateError(
                f"code {code_id} is {current.value}; it cannot become {to_status.value}"
            )
        updated = await storage.change_code_status(
            conn,
            code_id,
            from_status=current.value,
            to_status=to_status.value,
            reason=reason.strip(),
            actor=actor,
        )
        await refresh_variants(conn, code_id, public_base_url=public_base_url)
    return _issued(updated)


async def code_history(conn: Connection, code_id: str) -> list[storage.StatusChangeRow]:
    """Every status the code has had, issuance first."""
    return await storage.fetch_status_changes(conn, _read_code_id(code_id))


def _read_code_id(code_id: object) -> str:
    try:
        return parse_code_id(code_id)  # type: ignore[arg-type]
    except CodeFormatError as exc:
        raise InvalidArgument(str(exc)) from None


def _check_subject(subject: object) -> str:
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidArgument("a subject must be non-empty text")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise InvalidArgument(f"a subject is at most {MAX_SUBJECT_LENGTH} characters")
    if any(not c.isprintable() for c in subject):
        raise InvalidArgument("a subject must be printable text")
    return subject


def _check_actor(actor: object) -> None:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_SUBJECT_LENGTH:
        raise InvalidArgument("an actor must be non-empty text of at most 200 characters")
