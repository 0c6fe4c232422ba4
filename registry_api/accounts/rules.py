"""Who may do what, where, and the rules for passwords and sign-in: pure functions.

Annex 2 of the source document: three regulator roles (admin 系统管理员, reviewer
信息审核员, viewer 一般用户) at five levels. An admin creates accounts of any role at its
own level and unit, and admin accounts one level down, in a unit directly below its own.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Role(StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class Level(StrEnum):
    NATIONAL = "national"
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    PARK = "park"


# The levels directly below each: parks hang from a county or a city.
LEVELS_BELOW: dict[Level, frozenset[Level]] = {
    Level.NATIONAL: frozenset({Level.PROVINCE}),
    Level.PROVINCE: frozenset({Level.CITY}),
    Level.CITY: frozenset({Level.COUNTY, Level.PARK}),
    Level.COUNTY: frozenset({Level.PARK}),
    Level.PARK: frozenset(),
}


def levels_below(level: Level) -> frozenset[Level]:
    """Every level under `level`, however far down."""
    found: set[Level] = set()
    frontier = set(LEVELS_BELOW[level])
    while frontier:
        found |= frontier
        frontier = {lower for upper in frontier for lower in LEVELS_BELOW[upper]} - found
    return frozenset(found)


MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
ADMINS_PER_UNIT = 2  # "原则上每个单位 1-2 人": more draws a warning, not a refusal

_hasher = PasswordHasher()  # argon2id, 64 MiB, 3 passes


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """A unit of the GB/T 2260 tree (or a chemical park): what an account answers for, and
    what scope is measured in. `path` runs from the nation down, `000000/140000/140100`."""

    id: str
    name: str
    level: Level
    parent_id: str | None
    path: str

    def contains(self, other: Jurisdiction) -> bool:
        return other.path == self.path or other.path.startswith(self.path + "/")


def creation_refused(
    creator_role: Role, creator_unit: Jurisdiction, role: Role, level: Level, unit: Jurisdiction
) -> str | None:
    """Why an account with this creator may not create (role, level, unit); None if it may."""
    if creator_role is not Role.ADMIN:
        return "only an admin creates accounts"
    if unit.level is not level:
        return f"the unit is at {unit.level.value} level, not {level.value}"
    if unit.id == creator_unit.id:
        return None
    if level in LEVELS_BELOW[creator_unit.level] and unit.parent_id == creator_unit.id:
        if role is not Role.ADMIN:
            return "one level down an admin creates admins only; they create the rest"
        return None
    return "an admin creates accounts in its own unit, and admins in the units directly below"


def password_problems(password: str, mobile: str | None = None) -> list[str]:
    """What is wrong with a new password; empty when it is acceptable."""
    problems = []
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        problems.append(f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long")
    classes = sum(
        any(test(c) for c in password)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    if classes < 3:
        problems.append("must mix at least three of: lower case, upper case, digits, symbols")
    if mobile and mobile in password:
        problems.append("must not contain the mobile number")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def temporary_password() -> str:
    """A password an admin hands over; it must be changed at the first sign-in."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    core = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{core}-{secrets.randbelow(90) + 10}"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def lockout_until(failed_logins: int, now: datetime) -> datetime | None:
    """When the account unlocks after this many failures in a row; None while it may retry."""
    return now + LOCKOUT if failed_logins >= MAX_FAILED_LOGINS else None


class PersonalDataCipher:
    """Seals resident ID numbers with a key derived from the master key (never the key itself)."""

    def __init__(self, master_key: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"safecode resident-id v1"
        ).derive(master_key)
        self._aead = AESGCM(key)

    def seal(self, number: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, number.encode("ascii"), b"resident-id")

    def open(self, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], b"resident-id").decode("ascii")


def token_digest(token: str) -> bytes:
    """What the sessions table keeps of a token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()
