"""Validators for the identifiers the registry takes in: pure functions, one per kind.

Each returns the value in its normal form or raises `InvalidValue` with a message a
person can act on. Check digits follow the standards: GB 32100-2015 (unified social
credit code) with GB 11714 (the organisation code inside it), GB 11643-1999 (resident ID
number) and the CAS registry's own check digit.
"""

from __future__ import annotations

import re
from datetime import date

from codesvc.codes import PROVINCE_CODES

# Annex 1 of the source document: the GB/T 4754-2017 classes of the chemical and
# pharmaceutical enterprises that must register (石油煤炭燃料加工、化学原料和化学制品、
# 化学药品原料药、化学纤维).
CHEMICAL_AND_PHARMA_CLASSES = frozenset(
    {"2511", "2519", "2521", "2522", "2523"}
    | {"2611", "2612", "2613", "2614", "2619", "2621", "2622", "2623", "2631", "2641", "2645"}
    | {"2651", "2652", "2653", "2661", "2662", "2663", "2666", "2669", "2684"}
    | {"2710", "2811", "2821", "2822", "2823", "2824", "2825", "2826"}
)


class InvalidValue(ValueError):
    """A value that is not valid for its kind; the message says why."""


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")
_SERVICE_NUMBER = re.compile(r"[48]00-?\d{3}-?\d{4}")
_CAS = re.compile(r"(\d{2,7})-(\d{2})-(\d)")


def unified_social_credit_code(value: str) -> str:
    """GB 32100-2015: 18 characters, two check characters (positions 17 and 18)."""
    code = _text(value).upper().replace(" ", "")
    if len(code) != 18:
        raise InvalidValue(f"must be 18 characters, got {len(code)}")
    bad = sorted({c for c in code if c not in _USCC_ALPHABET})
    if bad:
        raise InvalidValue(f"has characters not used in credit codes: {''.join(bad)}")
    values = [_USCC_ALPHABET.index(c) for c in code]
    organisation = code[8:17]
    org_sum = sum(_org_value(c) * w for c, w in zip(organisation[:8], _ORG_WEIGHTS, strict=True))
    org_check = 11 - org_sum % 11
    expected_org = {10: "X", 11: "0"}.get(org_check, str(org_check))
    if organisation[8] != expected_org:
        raise InvalidValue(
            "the organisation code inside it (characters 9-17) has a wrong check digit"
        )
    check = 31 - sum(v * w for v, w in zip(values[:17], _USCC_WEIGHTS, strict=True)) % 31
    if values[17] != (0 if check == 31 else check):
        raise InvalidValue("the last character (check digit) does not match")
    return code


def resident_id_number(value: str, *, today: date | None = None) -> str:
    """GB 11643-1999: 6-digit region, 8-digit birth date, 3-digit sequence, check digit."""
    number = _text(value).upper().replace(" ", "")
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise InvalidValue("must be 17 digits followed by a digit or X")
    if number[:2] not in PROVINCE_CODES:
        raise InvalidValue("does not start with a province code")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue("characters 7-14 are not a birth date") from None
    if born > (today or date.today()) or born.year < 1900:
        raise InvalidValue("characters 7-14 are not a possible birth date")
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if number[17] != _ID_CHECK[total % 11]:
        raise InvalidValue("the last character (check digit) does not match")
    return number


def mask_resident_id(number: str) -> str:
    """What responses show of a resident ID number: region and last four, `140105********123X`."""
    return number[:6] + "*" * 8 + number[-4:]


def mobile_number(value: str) -> str:
    """A mainland mobile number, 11 digits from 13x to 19x; +86, spaces and dashes allowed."""
    digits = re.sub(r"[\s-]", "", _text(value)).removeprefix("+86")
    if not _MOBILE.fullmatch(digits):
        raise InvalidValue("must be an 11-digit mobile number starting 13-19")
    return digits


def phone_number(value: str) -> str:
    """A landline (0351-1234567, optional extension), a mobile, or a 400/800 number."""
    text = re.sub(r"\s", "", _text(value))
    if _LANDLINE.fullmatch(text) or _SERVICE_NUMBER.fullmatch(text):
        return text
    try:
        return mobile_number(text)
    except InvalidValue:
        raise InvalidValue(
            "must be a landline with area code (0351-1234567), a mobile or a 400/800 number"
        ) from None


def cas_number(value: str) -> str:
    """A CAS registry number, `7732-18-5`, with its check digit."""
    match = _CAS.fullmatch(_text(value).strip())
    if match is None:
        raise InvalidValue("must look like 7732-18-5")
    digits = match.group(1) + match.group(2)
    total = sum(int(d) * weight for weight, d in enumerate(reversed(digits), start=1))
    if total % 10 != int(match.group(3)):
        raise InvalidValue("the check digit does not match")
    return match.group(0)


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be text")
    if len(value) > 64:
        raise InvalidValue("is too long")
    return value.strip()
