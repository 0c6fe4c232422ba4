"""Hypothesis strategies for valid identifiers, built from their standards' own check digit
rules (not from `registry_api.validators`): the formats the OpenAPI document names that no
pattern can say, for schemathesis to generate with, and for the validators' property tests."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from codesvc.codes import PROVINCE_CODES

# GB 32100-2015: the alphabet (no I, O, S, V, Z) and the weights of the 18th character.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [3**i % 31 for i in range(17)]
# GB 11714-1997: the organisation code's weights, its check character 11 - sum mod 11.
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
# GB 11643-1999: weights 2^(17-i) mod 11, check characters "10X98765432".
_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def _org_check(body: str) -> str:
    total = sum(
        (int(c) if c.isdigit() else ord(c) - ord("A") + 10) * w
        for c, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def credit_code(head: str, body: str) -> str:
    """The credit code of 8 characters of `head` and the 8 of an organisation code's `body`
    (all of the USCC alphabet), with both check characters."""
    first17 = head + body + _org_check(body)
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    """A unified social credit code with both check characters right."""
    head = draw(st.text(USCC_ALPHABET, min_size=8, max_size=8))
    # Organisation codes are digits and capital letters; keep those the USCC alphabet has.
    body = draw(st.text(USCC_ALPHABET, min_size=8, max_size=8))
    return credit_code(head, body)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    """A resident ID number: a province's region code, a past birth date, its check."""
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    region = province + draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(date(1900, 1, 1), date.today() - timedelta(days=1)))
    first17 = region + born.strftime("%Y%m%d") + draw(st.text("0123456789", min_size=3, max_size=3))
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


@st.composite
def cas_numbers(draw: st.DrawFn) -> str:
    """A CAS registry number with its check digit."""
    digits = draw(st.text("0123456789", min_size=4, max_size=9))
    total = sum(int(d) * i for i, d in enumerate(reversed(digits), start=1))
    return f"{digits[:-2]}-{digits[-2:]}-{total % 10}"


FORMATS = {
    "gb32100-uscc": credit_codes(),
    "gb11643-resident-id": resident_ids(),
    "cas-registry-number": cas_numbers(),
}
