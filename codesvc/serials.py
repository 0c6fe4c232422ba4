"""Item serials (一企一物一码): what the service issues for each package, case and pallet.

A serial is 13 characters of Crockford base32: 12 carrying 60 random bits, then a check
character, so a mistyped serial is caught before any lookup. The check is the Luhn mod N
algorithm over the 32 symbols: it catches every single wrong character and every swap of
two neighbours but those of `0` and `Z` (values 0 and 31), which Luhn mod 32 cannot tell
apart. Crockford's own check symbol (mod 37) was not used: four of its extra symbols
(`* ~ $ =`) are outside the scan path's `[0-9A-Z-]` and outside the QR alphanumeric mode.

Serials are random rather than counted so that a batch's serials cannot be guessed from
one label: a copier has to copy each one, and each copy of a received serial is seen.
"""

from __future__ import annotations

import base64
import os

from codesvc.codes import CROCKFORD, CodeFormatError

SERIAL_RANDOM_BITS = 60
_DATA_LENGTH = 12  # 60 bits
SERIAL_LENGTH = _DATA_LENGTH + 1
_VALUE = {symbol: value for value, symbol in enumerate(CROCKFORD)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = str.maketrans(_RFC4648, CROCKFORD)


class SerialError(CodeFormatError):
    """Text that is not a serial the service could have issued."""

    def __init__(self, message: str) -> None:
        super().__init__("serial", message)


def check_character(data: str) -> str:
    """The Luhn mod 32 check character of `data` (Crockford symbols, upper case)."""
    total = 0
    factor = 2
    for symbol in reversed(data):
        addend = factor * _VALUE[symbol]
        total += addend // 32 + addend % 32
        factor = 3 - factor
    return CROCKFORD[-total % 32]


def new_serials(count: int) -> list[str]:
    """`count` fresh serials. Random bytes are encoded in bulk (15 bytes are 24 symbols,
    two serials' data), which keeps a million serials to about a second."""
    if count < 0:
        raise ValueError("count must not be negative")
    pairs = (count + 1) // 2
    symbols = base64.b32encode(os.urandom(15 * pairs)).decode("ascii").translate(_TO_CROCKFORD)
    serials = []
    for start in range(0, 2 * pairs * _DATA_LENGTH, _DATA_LENGTH):
        data = symbols[start : start + _DATA_LENGTH]
        serials.append(data + check_character(data))
    del serials[count:]
    return serials


def parse_serial(text: str) -> str:
    """A serial as typed or scanned, normalised (any case; `O` read as `0`, `I` and `L` as
    `1`); `SerialError` naming what is wrong otherwise."""
    serial = text.strip().upper().translate(_ALIASES)
    if len(serial) != SERIAL_LENGTH:
        raise SerialError(f"must be {SERIAL_LENGTH} characters, got {len(serial)}")
    strange = sorted({symbol for symbol in serial if symbol not in _VALUE})
    if strange:
        raise SerialError(f"{''.join(strange)!r} not in Crockford base32")
    if check_character(serial[:-1]) != serial[-1]:
        raise SerialError("check character does not match: the serial was mistyped or misread")
    return serial
