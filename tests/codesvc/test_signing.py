from __future__ import annotations

import contextlib
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from codesvc.codes import CODE_LENGTH, CROCKFORD, new_code_id
from codesvc.signing import (
    JwksError,
    KeySealError,
    KeyStatus,
    jwk,
    key_id_for,
    new_private_key,
    open_private_key,
    parse_jwks,
    raw_public_key,
    seal_private_key,
    sign_code,
    verify,
)

PRIVATE_KEY = new_private_key()
CODE = sign_code(PRIVATE_KEY, new_code_id("14"), "01")


def _jwks(status: KeyStatus = KeyStatus.ACTIVE, key: Ed25519PrivateKey = PRIVATE_KEY) -> str:
    return json.dumps({"keys": [jwk("01", status, raw_public_key(key))]})


def test_a_signed_code_is_genuine_against_its_published_key() -> None:
    result = verify(CODE.text, _jwks())
    assert result.genuine
    assert (result.code_id, result.key_id) == (CODE.code_id, "01")


@given(st.integers(min_value=0, max_value=CODE_LENGTH - 1), st.sampled_from(CROCKFORD))
def test_changing_any_one_character_breaks_verification(position: int, replacement: str) -> None:
    text = CODE.text
    if text[position] == replacement:
        replacement = CROCKFORD[(CROCKFORD.index(replacement) + 1) % len(CROCKFORD)]
    forged = text[:position] + replacement + text[position + 1 :]
    assert not verify(forged, _jwks()).genuine


def test_a_retired_key_still_verifies_and_a_revoked_one_does_not() -> None:
    assert verify(CODE, _jwks(KeyStatus.RETIRED)).genuine
    revoked = verify(CODE, _jwks(KeyStatus.REVOKED))
    assert not revoked.genuine
    assert revoked.reason == "key 01 is revoked"


def test_a_code_signed_by_another_key_is_not_genuine() -> None:
    result = verify(CODE, _jwks(key=new_private_key()))
    assert not result.genuine
    assert result.reason == "signature does not match"


def test_an_unpublished_key_is_named() -> None:
    result = verify(CODE, json.dumps({"keys": []}))
    assert result.reason == "key 01 is not published"


def test_the_jwk_is_an_okp_ed25519_key() -> None:
    entry = json.loads(_jwks())["keys"][0]
    assert entry["kty"] == "OKP"
    assert entry["crv"] == "Ed25519"
    assert entry["kid"] == "01"
    assert entry["status"] == "active"
    assert "=" not in entry["x"]
    assert set(parse_jwks(_jwks()).keys) == {"01"}


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        '{"keys": {}}',
        '{"keys": [1]}',
        '{"keys": [{"kty": "RSA"}]}',
        '{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "0", "x": "AA"}]}',
        '{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "01", "x": "AA"}]}',
        '{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "01", "x": 5}]}',
    ],
)
def test_a_bad_key_set_gives_the_typed_error(document: str) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document)
    assert not verify(CODE, document).genuine  # verify says why instead of raising


@given(
    st.one_of(st.text(max_size=200), st.binary(max_size=200), st.dictionaries(st.text(), st.text()))
)
def test_junk_key_sets_never_raise_anything_else(document: object) -> None:
    with contextlib.suppress(JwksError):
        parse_jwks(document)  # type: ignore[arg-type]
    assert not verify(CODE, document).genuine  # type: ignore[arg-type]


@given(st.text(max_size=200))
def test_junk_codes_are_not_genuine_and_never_raise(text: str) -> None:
    assert not verify(text, _jwks()).genuine


def test_a_sealed_key_opens_only_with_its_master_key_and_key_id() -> None:
    master = os.urandom(32)
    sealed = seal_private_key(master, "01", PRIVATE_KEY)
    assert raw_public_key(open_private_key(master, "01", sealed)) == raw_public_key(PRIVATE_KEY)
    with pytest.raises(KeySealError, match="does not open"):
        open_private_key(os.urandom(32), "01", sealed)
    with pytest.raises(KeySealError):
        open_private_key(master, "02", sealed)  # a sealed key moved to another kid


def test_key_ids_count_up_in_crockford() -> None:
    assert [key_id_for(n) for n in (1, 2, 31, 32, 1023)] == ["01", "02", "0Z", "10", "ZZ"]
    with pytest.raises(ValueError):
        key_id_for(1024)
