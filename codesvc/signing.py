"""Ed25519 signing of codes, sealing of private keys, and offline verification against a JWKS.

Pure: no database, no network. `verify(code, jwks)` is all anyone needs to tell a
genuine code from a forged one, given the published keys.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from codesvc.codes import (
    CROCKFORD,
    KEY_ID_LENGTH,
    Code,
    CodeFormatError,
    parse_code,
    signed_message,
)

_NONCE_BYTES = 12
_MAX_JWKS_BYTES = 1024 * 1024


class KeyStatus(StrEnum):
    ACTIVE = "active"  # signs new codes
    RETIRED = "retired"  # signs no more; its codes stay genuine
    REVOKED = "revoked"  # its codes are no longer genuine


class JwksError(ValueError):
    """A key set that cannot be read; the message says what is wrong with it."""


class KeySealError(ValueError):
    """A sealed private key that does not open under this master key."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: str
    status: KeyStatus
    key: Ed25519PublicKey


@dataclass(frozen=True, slots=True)
class KeySet:
    """Published public keys by key_id, as read from a JWKS."""

    keys: dict[str, PublicKey]


@dataclass(frozen=True, slots=True)
class Verification:
    genuine: bool
    reason: str  # why not, or "signature matches"
    code_id: str | None = None
    key_id: str | None = None


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes_raw()


def sign_code(private_key: Ed25519PrivateKey, code_id: str, key_id: str) -> Code:
    return Code(code_id, key_id, private_key.sign(signed_message(code_id, key_id)))


def seal_private_key(master_key: bytes, key_id: str, private_key: Ed25519PrivateKey) -> bytes:
    """AES-GCM under the master key, bound to the key_id: nonce + ciphertext + tag."""
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(master_key).encrypt(
        nonce, private_key.private_bytes_raw(), key_id.encode("ascii")
    )
    return nonce + ciphertext


def open_private_key(master_key: bytes, key_id: str, sealed: bytes) -> Ed25519PrivateKey:
    """Raises `KeySealError` unless sealed under this master key and key_id."""
    try:
        raw = AESGCM(master_key).decrypt(
            sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], key_id.encode("ascii")
        )
    except (InvalidTag, ValueError):
        raise KeySealError(
            f"signing key {key_id} does not open with this SAFECODE_MASTER_KEY"
        ) from None
    return Ed25519PrivateKey.from_private_bytes(raw)


def key_id_for(sequence: int) -> str:
    """The n-th key's name, `01`, `02`, ... in Crockford base32 (1023 keys at most)."""
    if not 1 <= sequence < 32**KEY_ID_LENGTH:
        raise ValueError(f"key sequence {sequence} does not fit in {KEY_ID_LENGTH} characters")
    return CROCKFORD[sequence // 32] + CROCKFORD[sequence % 32]


def jwk(key_id: str, status: KeyStatus, public_key: bytes) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": key_id,
        "x": base64.urlsafe_b64encode(public_key).decode("ascii").rstrip("="),
        "status": status.value,
    }


def parse_jwks(document: bytes | str | Mapping[str, Any]) -> KeySet:
    """The keys of a JWKS (as published at /.well-known/safecode-keys.json), by kid."""
    if isinstance(document, bytes | str):
        if len(document) > _MAX_JWKS_BYTES:
            raise JwksError("key set is larger than 1 MiB")
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise JwksError(f"key set is not JSON ({exc})") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksError('key set must be an object with a "keys" list')
    keys: dict[str, PublicKey] = {}
    for index, entry in enumerate(document["keys"]):
        key = _parse_jwk(index, entry)
        keys[key.key_id] = key
    return KeySet(keys)


def verify(code: Code | str, jwks: KeySet | bytes | str | Mapping[str, Any]) -> Verification:
    """Whether the code was signed by a published key that is not revoked.

    Never raises for bad input: a code that does not parse, or an unreadable key set,
    is simply not genuine, and the reason says why.
    """
    if isinstance(code, str):
        try:
            code = parse_code(code)
        except CodeFormatError as exc:
            return Verification(False, f"not a code: {exc}")
    if not isinstance(jwks, KeySet):
        try:
            jwks = parse_jwks(jwks)
        except JwksError as exc:
            return Verification(False, f"key set unreadable: {exc}", code.code_id, code.key_id)

    def not_genuine(reason: str) -> Verification:
        return Verification(False, reason, code.code_id, code.key_id)

    key = jwks.keys.get(code.key_id)
    if key is None:
        return not_genuine(f"key {code.key_id} is not published")
    if key.status is KeyStatus.REVOKED:
        return not_genuine(f"key {code.key_id} is revoked")
    try:
        key.key.verify(code.signature, signed_message(code.code_id, code.key_id))
    except InvalidSignature:
        return not_genuine("signature does not match")
    return Verification(True, "signature matches", code.code_id, code.key_id)


def _parse_jwk(index: int, entry: object) -> PublicKey:
    where = f"keys[{index}]"
    if not isinstance(entry, Mapping):
        raise JwksError(f"{where} must be an object")
    if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
        raise JwksError(f'{where} must have kty "OKP" and crv "Ed25519"')
    kid = entry.get("kid")
    if (
        not isinstance(kid, str)
        or len(kid) != KEY_ID_LENGTH
        or any(c not in CROCKFORD for c in kid)
    ):
        raise JwksError(f"{where}.kid must be {KEY_ID_LENGTH} Crockford base32 characters")
    try:
        status = KeyStatus(entry.get("status", KeyStatus.ACTIVE.value))
    except ValueError:
        raise JwksError(f"{where}.status must be active, retired or revoked") from None
    x = entry.get("x")
    if not isinstance(x, str):
        raise JwksError(f"{where}.x must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise JwksError(f"{where}.x is not a 32-byte Ed25519 public key") from None
    return PublicKey(kid, status, public_key)
