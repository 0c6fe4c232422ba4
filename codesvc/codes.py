"""The SC1 code format: pure encoding, parsing and normalising of codes and scan paths.

A code is `code_id (16) + key_id (2) + sig (103)`, 121 characters of Crockford base32:
- code_id: two digits, the GB/T 2260 code of the issuing province, then 14 characters
  carrying 70 random bits;
- key_id: the signing key's name;
- sig: the Ed25519 signature over `SC1|{code_id}|{key_id}`, written in base32 with
  RFC 4648's bit order but Crockford's alphabet and no padding (the last 3 bits are 0).

Reading is forgiving the way Crockford intends: any case, `O` read as `0`, `I` and `L`
as `1`. Every failure is a `CodeFormatError` naming the part that is wrong.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = str.maketrans(_RFC4648, CROCKFORD)
_FROM_CROCKFORD = str.maketrans(CROCKFORD, _RFC4648)
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})

CODE_ID_LENGTH = 16
KEY_ID_LENGTH = 2
SIGNATURE_BYTES = 64
SIGNATURE_LENGTH = 103  # ceil(512 / 5)
CODE_LENGTH = CODE_ID_LENGTH + KEY_ID_LENGTH + SIGNATURE_LENGTH
RANDOM_BITS = 70
FORMAT_TAG = "SC1"

# GB/T 2260 province-level divisions (incl. 71 Taiwan, 81 Hong Kong, 82 Macao).
PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64"}
    | {"65", "71", "81", "82"}
)
_EXTENSION = re.compile(r"[0-9A-Z-]{1,20}")
_CODE_SHAPE = re.compile(f"[{CROCKFORD}]{{{CODE_LENGTH}}}")
_MAX_INPUT = 512  # longer than any code or scan URL; refused before any other work


class CodeFormatError(ValueError):
    """Text that is not a well-formed SC1 code, code_id or scan path; `part` says where."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part
        self.message = message


@dataclass(frozen=True, slots=True)
class Code:
    code_id: str
    key_id: str
    signature: bytes  # 64 bytes, Ed25519

    @property
    def text(self) -> str:
        return self.code_id + self.key_id + encode_signature(self.signature)


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """What a scan path names: a code, and optionally a batch and an item serial in it.

    The code is kept as checked, normalised text: the resolver compares it with the issued
    code as it is, without decoding the signature (that is for offline verification).
    """

    text: str
    batch: str | None = None
    serial: str | None = None

    @property
    def code_id(self) -> str:
        return self.text[:CODE_ID_LENGTH]

    @property
    def code(self) -> Code:
        return parse_code(self.text)


def signed_message(code_id: str, key_id: str) -> bytes:
    """The bytes the signature covers."""
    return f"{FORMAT_TAG}|{code_id}|{key_id}".encode("ascii")


def new_code_id(province: str) -> str:
    """A fresh code_id for the province: its two digits and 70 random bits."""
    if province not in PROVINCE_CODES:
        raise CodeFormatError("province", f"{province!r} is not a GB/T 2260 province code")
    value = secrets.randbits(RANDOM_BITS)
    chars = [CROCKFORD[(value >> shift) & 31] for shift in range(65, -1, -5)]
    return province + "".join(chars)


def encode_signature(signature: bytes) -> str:
    if len(signature) != SIGNATURE_BYTES:
        raise CodeFormatError("sig", f"must be {SIGNATURE_BYTES} bytes, got {len(signature)}")
    return base64.b32encode(signature).decode("ascii").rstrip("=").translate(_TO_CROCKFORD)


def decode_signature(text: str) -> bytes:
    if len(text) != SIGNATURE_LENGTH:
        raise CodeFormatError("sig", f"must be {SIGNATURE_LENGTH} characters, got {len(text)}")
    _require_crockford("sig", text)
    # The 103rd character carries 2 bits of the signature and 3 bits that must be zero,
    # so each signature has exactly one spelling.
    if CROCKFORD.index(text[-1]) & 0b111:
        raise CodeFormatError("sig", "last character has padding bits set")
    padded = text.translate(_FROM_CROCKFORD) + "="
    return base64.b32decode(padded)


def normalise(text: str) -> str:
    """Upper case with Crockford's aliases applied (O->0, I/L->1)."""
    return text.upper().translate(_ALIASES)


def parse_code(text: str) -> Code:
    """A code as printed or typed, in any case, with Crockford's aliases."""
    if not isinstance(text, str):
        raise CodeFormatError("code", "must be text")
    if len(text) > _MAX_INPUT:
        raise CodeFormatError("code", f"too long ({len(text)} characters)")
    code = normalise(text.strip())
    if len(code) != CODE_LENGTH:
        raise CodeFormatError("code", f"must be {CODE_LENGTH} characters, got {len(code)}")
    code_id = _check_code_id(code[:CODE_ID_LENGTH])
    key_id = code[CODE_ID_LENGTH : CODE_ID_LENGTH + KEY_ID_LENGTH]
    _require_crockford("key_id", key_id)
    return Code(code_id, key_id, decode_signature(code[CODE_ID_LENGTH + KEY_ID_LENGTH :]))


def check_code_text(text: str) -> str:
    """The code in normalised form (upper case, aliases applied), checked as `parse_code`
    checks it but without decoding the signature: the scan path's fast check."""
    if isinstance(text, str) and len(text) <= _MAX_INPUT:
        code = normalise(text.strip())
        if (
            _CODE_SHAPE.fullmatch(code)
            and code[:2] in PROVINCE_CODES
            and not CROCKFORD.index(code[-1]) & 0b111
        ):
            return code
    return parse_code(text).text  # raises the error that names the part


def parse_code_id(text: str) -> str:
    """A code_id as a person types it: any case, aliases, with or without dashes and spaces."""
    if not isinstance(text, str):
        raise CodeFormatError("code_id", "must be text")
    if len(text) > 64:
        raise CodeFormatError("code_id", f"too long ({len(text)} characters)")
    compact = normalise(re.sub(r"[\s-]", "", text))
    if len(compact) != CODE_ID_LENGTH:
        raise CodeFormatError(
            "code_id", f"must be {CODE_ID_LENGTH} characters without dashes, got {len(compact)}"
        )
    return _check_code_id(compact)


def group_code_id(code_id: str) -> str:
    """The code_id as printed under the QR for people: `14AB-CDEF-GHJK-MNPQ`."""
    return "-".join(code_id[i : i + 4] for i in range(0, len(code_id), 4))


def scan_path(code: Code, batch: str | None = None, serial: str | None = None) -> str:
    """`/C/{code}[/B/{batch}[/S/{serial}]]`, upper case."""
    if serial is not None and batch is None:
        raise CodeFormatError("serial", "an item serial needs a batch")
    path = f"/C/{code.text}"
    if batch is not None:
        path += f"/B/{_check_extension('batch', batch.upper())}"
    if serial is not None:
        path += f"/S/{_check_extension('serial', serial.upper())}"
    return path


def scan_url(base_url: str, code: Code, batch: str | None = None, serial: str | None = None) -> str:
    """The URL printed in the QR, all upper case so the symbol uses alphanumeric mode."""
    return (base_url.rstrip("/") + scan_path(code, batch, serial)).upper()


def parse_scan_path(path: str) -> ScanTarget:
    """`/C/{code}`, `/c/{code}`, with optional `/B/{batch}` and `/B/{batch}/S/{serial}`."""
    if not isinstance(path, str):
        raise CodeFormatError("path", "must be text")
    if len(path) > _MAX_INPUT:
        raise CodeFormatError("path", f"too long ({len(path)} characters)")
    parts = path.rstrip("/").split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1] not in ("C", "c"):
        raise CodeFormatError("path", "must start with /C/ followed by the code")
    code = check_code_text(parts[2])
    rest = parts[3:]
    if not rest:
        return ScanTarget(code)
    if (
        len(rest) not in (2, 4)
        or rest[0].upper() != "B"
        or (len(rest) == 4 and rest[2].upper() != "S")
    ):
        raise CodeFormatError("path", "after the code only /B/{batch} and /B/{batch}/S/{serial}")
    batch = _check_extension("batch", rest[1].upper())
    serial = _check_extension("serial", rest[3].upper()) if len(rest) == 4 else None
    return ScanTarget(code, batch, serial)


def parse_code_or_url(text: str) -> ScanTarget:
    """A bare code, a scan path, or a whole scan URL (any host)."""
    if not isinstance(text, str):
        raise CodeFormatError("code", "must be text")
    stripped = text.strip()
    if "/" not in stripped:
        return ScanTarget(check_code_text(stripped))
    if "://" in stripped:
        try:
            stripped = urlsplit(stripped).path
        except ValueError as exc:
            raise CodeFormatError("url", f"not a URL ({exc})") from None
    return parse_scan_path(stripped)


def _check_code_id(code_id: str) -> str:
    _require_crockford("code_id", code_id)
    if code_id[:2] not in PROVINCE_CODES:
        raise CodeFormatError(
            "code_id", f"must start with a GB/T 2260 province code, got {code_id[:2]!r}"
        )
    return code_id


def _check_extension(part: str, value: str) -> str:
    if not _EXTENSION.fullmatch(value):
        raise CodeFormatError(part, "must be 1 to 20 of 0-9, A-Z and -")
    return value


def _require_crockford(part: str, text: str) -> None:
    bad = sorted({c for c in text if c not in CROCKFORD})
    if bad:
        shown = "".join(bad[:5])
        raise CodeFormatError(part, f"characters outside Crockford base32: {shown!r}")
