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


class InvalidValue(ValueError):
    """A value that is not valid for its kind; the message says why."""


# What each kind accepts as typed, spaces and separators included: the validators below
# check these first, and the OpenAPI document publishes the same expressions (`pattern`,
# with `^(?:...)` and `END` around them), so the document and the server cannot differ on
# the shape of a value. What no pattern can say (check digits, birth dates, province
# codes) is the document's `format` for the field, described in words.
END = r"(?![\s\S])"  # the end of the text; `$` would also match before a final newline
# White space as Python's `str.isspace` (and so `str.strip`) has it, spelt out: `\s` means
# slightly different sets to different regular expression engines and generators.
WHITE_SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Between the characters of a number one separator at most (so its length is bounded:
# fuzzers need not throw away long draws, and people write one space or one dash).
_SEP = rf"[{WHITE_SPACE}-]?"  # white space or a dash, as people write numbers
_WS = rf"[{WHITE_SPACE}]?"
MOBILE = rf"{_SEP}(?:\+{_SEP}8{_SEP}6{_SEP})?1{_SEP}[3-9](?:{_SEP}[0-9]){{9}}{_SEP}"
_LANDLINE = rf"0(?:{_WS}[0-9]){{2,3}}{_WS}-?(?:{_WS}[0-9]){{7,8}}(?:{_WS}-(?:{_WS}[0-9]){{1,6}})?"
_SERVICE_NUMBER = rf"[48]{_WS}0{_WS}0{_WS}-?(?:{_WS}[0-9]){{3}}{_WS}-?(?:{_WS}[0-9]){{4}}"
_FIXED_LINE = rf"{_WS}(?:{_LANDLINE}|{_SERVICE_NUMBER}){_WS}"
PHONE = rf"{_FIXED_LINE}|{MOBILE}"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
# Codes with a check character: a space between characters, a little white space around;
# the pattern bounds their length, so the document needs no maxLength (whose boundary
# values, drawn from the pattern alone, would have wrong check characters).
_EDGE = rf"[{WHITE_SPACE}]{{0,2}}"
USCC = rf"{_EDGE}(?: ?[0-9A-HJ-NP-RTUW-Ya-hj-np-rtuw-y]){{18}}{_EDGE}"
RESIDENT_ID = rf"{_EDGE}(?: ?[0-9]){{17}} ?[0-9Xx]{_EDGE}"
CAS = rf"{_EDGE}[0-9]{{2,7}}-[0-9]{{2}}-[0-9]{_EDGE}"

_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def document_pattern(expression: str) -> str:
    """An expression above as a JSON Schema `pattern` of the whole value."""
    return f"^(?:{expression}){END}"


def unified_social_credit_code(value: str) -> str:
    """GB 32100-2015: 18 characters, two check characters (positions 17 and 18)."""
    text = _text(value)
    code = text.strip().upper().replace(" ", "")
    if not re.fullmatch(USCC, text):
        if len(code) != 18:
            raise InvalidValue(f"must be 18 characters, got {len(code)}")
        bad = sorted({c for c in code if c not in _USCC_ALPHABET})
        if bad:
            raise InvalidValue(f"has characters not used in credit codes: {''.join(bad)}")
        raise InvalidValue("one space at most may separate its characters")
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
    text = _text(value)
    if not re.fullmatch(RESIDENT_ID, text):
        raise InvalidValue("must be 17 digits followed by a digit or X")
    number = text.strip().upper().replace(" ", "")
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


def mask_mobile(typed: str) -> str:
    """What the audit log keeps of a mobile typed at sign-in: `138****0000`, whatever was
    typed (at most its first three and last four characters)."""
    text = typed.strip()[:32]
    return text[:3] + "****" + text[-4:] if len(text) > 7 else "****"


def mobile_number(value: str) -> str:
    """A mainland mobile number, 11 digits from 13x to 19x; +86, spaces and dashes allowed."""
    text = _text(value)
    if not re.fullmatch(MOBILE, text):
        raise InvalidValue("must be an 11-digit mobile number starting 13-19")
    return re.sub(r"[^0-9]", "", text)[-11:]  # the last 11: without the 86 of +86


def phone_number(value: str) -> str:
    """A landline (0351-1234567, optional extension), a mobile, or a 400/800 number."""
    text = _text(value)
    if re.fullmatch(_FIXED_LINE, text):
        return re.sub(r"\s", "", text)
    if re.fullmatch(MOBILE, text):
        return mobile_number(text)
    raise InvalidValue(
        "must be a landline with area code (0351-1234567), a mobile or a 400/800 number"
    )


def cas_number(value: str) -> str:
    """A CAS registry number, `7732-18-5`, with its check digit."""
    text = _text(value)
    if not re.fullmatch(CAS, text):
        raise InvalidValue("must look like 7732-18-5")
    number = text.strip()
    digits = number[:-2].replace("-", "")
    total = sum(int(d) * weight for weight, d in enumerate(reversed(digits), start=1))
    if total % 10 != int(number[-1]):
        raise InvalidValue("the check digit does not match")
    return number


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def _text(value: object) -> str:
    """The value as typed (the patterns above say what may surround it; none matches more
    than 41 characters)."""
    if not isinstance(value, str):
        raise InvalidValue("must be text")
    if len(value) > 64:
        raise InvalidValue("is too long")
    return value
