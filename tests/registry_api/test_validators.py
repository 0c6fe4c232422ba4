from __future__ import annotations

import contextlib
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_api.validators import (
    CAS,
    MOBILE,
    PHONE,
    RESIDENT_ID,
    USCC,
    InvalidValue,
    cas_number,
    document_pattern,
    mask_resident_id,
    mobile_number,
    phone_number,
    resident_id_number,
    unified_social_credit_code,
)
from tests.registry_api.identifiers import cas_numbers, credit_codes, resident_ids

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@pytest.mark.parametrize("value", ["91350100M000100Y43", "91350100m000100y43 "])
def test_a_known_credit_code_is_valid(value: str) -> None:
    assert unified_social_credit_code(value) == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("91350100M000100Y44", "last character"),
        ("91350100M000101Y43", "organisation code"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M0001O0Y43", "not used in credit codes: O"),
        (None, "text"),
    ],
)
def test_bad_credit_codes_say_why(value: object, fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        unified_social_credit_code(value)  # type: ignore[arg-type]


@given(st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_changing_one_character_of_a_credit_code_is_caught(position: int, char: str) -> None:
    valid = "91350100M000100Y43"
    if valid[position] == char:
        return
    with pytest.raises(InvalidValue):
        unified_social_credit_code(valid[:position] + char + valid[position + 1 :])


def test_a_known_resident_id_is_valid_and_masked() -> None:
    assert resident_id_number("11010519491231002x") == "11010519491231002X"
    assert mask_resident_id("11010519491231002X") == "110105********002X"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("110105194912310021", "check digit"),
        ("110105194913310029", "birth date"),
        ("990105194912310021", "province code"),
        ("11010520991231002X", "possible birth date"),
        ("1101051949123100", "17 digits"),
    ],
)
def test_bad_resident_ids_say_why(value: str, fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        resident_id_number(value, today=date(2026, 11, 28))


@given(st.integers(0, 16), st.sampled_from("0123456789"))
def test_changing_one_digit_of_a_resident_id_is_caught(position: int, digit: str) -> None:
    valid = "11010519491231002X"
    if valid[position] == digit:
        return
    with pytest.raises(InvalidValue):
        resident_id_number(valid[:position] + digit + valid[position + 1 :])


@pytest.mark.parametrize(
    ("value", "normal"),
    [("13912345678", "13912345678"), ("+86 139-1234-5678", "13912345678")],
)
def test_mobile_numbers(value: str, normal: str) -> None:
    assert mobile_number(value) == normal


@pytest.mark.parametrize("value", ["12912345678", "1391234567", "phone", "0351-1234567"])
def test_bad_mobile_numbers(value: str) -> None:
    with pytest.raises(InvalidValue, match="11-digit mobile"):
        mobile_number(value)


@pytest.mark.parametrize(
    "value", ["0351-1234567", "03517654321", "010-12345678-123", "400-123-4567", "13912345678"]
)
def test_phone_numbers(value: str) -> None:
    assert phone_number(value)


@pytest.mark.parametrize("value", ["1234567", "351-1234567", "call us"])
def test_bad_phone_numbers(value: str) -> None:
    with pytest.raises(InvalidValue, match="landline"):
        phone_number(value)


@pytest.mark.parametrize("value", ["7732-18-5", "67-64-1", "64-17-5", "7664-93-9"])
def test_cas_numbers(value: str) -> None:
    assert cas_number(value) == value


@pytest.mark.parametrize(
    ("value", "fragment"), [("7732-18-4", "check digit"), ("7732185", "look like")]
)
def test_bad_cas_numbers(value: str, fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        cas_number(value)


@given(st.one_of(st.text(max_size=80), st.none(), st.integers()))
def test_junk_gives_only_the_typed_error(value: object) -> None:
    for validate in (
        unified_social_credit_code,
        resident_id_number,
        mobile_number,
        phone_number,
        cas_number,
    ):
        with contextlib.suppress(InvalidValue):
            validate(value)  # type: ignore[arg-type]


# The OpenAPI document publishes `document_pattern(...)` of each kind: whatever a client
# checks with it, the server must agree (a pattern can say all of a mobile or phone number;
# of the codes with check characters, only the shape).
_SHAPES = st.text(alphabet=st.sampled_from("0123456789+- \t\u3000xX-Aa"), max_size=40)


@given(st.one_of(_SHAPES, st.text(max_size=40)))
def test_the_published_phone_patterns_say_exactly_what_is_accepted(value: str) -> None:
    for expression, validate in ((MOBILE, mobile_number), (PHONE, phone_number)):
        matches = re.search(document_pattern(expression), value) is not None
        try:
            validate(value)
            accepted = True
        except InvalidValue:
            accepted = False
        assert matches == accepted, (expression, value)


@given(st.one_of(_SHAPES, st.text(max_size=40)))
def test_what_is_accepted_matches_the_published_shape(value: str) -> None:
    for expression, validate in (
        (USCC, unified_social_credit_code),
        (RESIDENT_ID, resident_id_number),
        (CAS, cas_number),
    ):
        with contextlib.suppress(InvalidValue):
            validate(value)
            assert re.search(document_pattern(expression), value), (expression, value)


@given(credit_codes(), resident_ids(), cas_numbers())
def test_valid_identifiers_are_accepted_and_match_their_shape(
    uscc: str, resident_id: str, cas: str
) -> None:
    """The generators schemathesis uses for the formats make values the server takes."""
    assert unified_social_credit_code(uscc) == uscc
    assert resident_id_number(resident_id) == resident_id
    assert cas_number(cas) == cas
    for expression, value in ((USCC, uscc), (RESIDENT_ID, resident_id), (CAS, cas)):
        assert re.search(document_pattern(expression), value)


@pytest.mark.parametrize("value", ["１３８００００００００", "13８00000000", "١٣٨٠٠٠٠٠٠٠٠"])
def test_digits_of_other_scripts_are_refused(value: str) -> None:
    """Python's \\d takes them; the database and every reader of the number would not."""
    with pytest.raises(InvalidValue):
        mobile_number(value)
    with pytest.raises(InvalidValue):
        phone_number(value)
