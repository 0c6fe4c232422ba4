"""The registry's English field messages as a Chinese reader of the console sees them.

Each message is produced by the registry itself (its validators and its check of a
revision), so a message reworded there without its translation fails here instead of
reaching a county clerk in English."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from console.forms import error_text
from registry_api import validators
from registry_api.products.filings import revision_problems
from registry_api.products.storage import Product, Revision

_HAN = re.compile(r"[\u4e00-\u9fff]")


def _message_of(check: Callable[[str], str], value: str) -> str:
    with pytest.raises(validators.InvalidValue) as raised:
        check(value)
    return str(raised.value)


BAD_VALUES = [
    (validators.unified_social_credit_code, "9114010"),  # too short
    (validators.unified_social_credit_code, "91140105MA0H2CR4OF"),  # O is not used
    (validators.unified_social_credit_code, "91140105MA0H2CR40E"),  # last check character
    (validators.unified_social_credit_code, "91140105MA0H2CR41F"),  # organisation code's
    (validators.resident_id_number, "14010519900230123"),  # 17 characters
    (validators.resident_id_number, "990105199001011234"),  # no such province
    (validators.resident_id_number, "140105199002301234"),  # 30 February
    (validators.resident_id_number, "140105199001011230"),  # check digit
    (validators.mobile_number, "12345"),
    (validators.phone_number, "12345"),
    (validators.cas_number, "67641"),
    (validators.cas_number, "67-64-2"),
]


@pytest.mark.parametrize(("check", "value"), BAD_VALUES)
def test_each_identifier_message_reads_in_chinese(check: Callable[[str], str], value: str) -> None:
    message = _message_of(check, value)
    shown = error_text(message, "zh")
    assert _HAN.search(shown), f"{message!r} reaches a Chinese reader as {shown!r}"
    assert error_text(message, "en") == message  # English readers get the registry's words


def test_what_blocks_a_bare_draft_reads_in_chinese() -> None:
    now = datetime.now(UTC)
    product = Product(
        1, 1, "丙酮", None, ["67-64-1"], [], "UN1090", None, False, "liquid", None, 1, now, now
    )
    sds = {"sections": [{"number": 1, "body": {"zh": "第1部分。"}}]}
    revision = Revision(1, 1, 1, "draft", [], None, sds, 1, now, now, None)
    problems = revision_problems(product, revision)
    for path in ("sds.sections", "sds.supplier", "sds.transport.proper_shipping_name"):
        shown = error_text(problems[path], "zh")
        assert _HAN.search(shown), f"{path}: {problems[path]!r} shown as {shown!r}"
    assert "2, 3" in error_text(problems["sds.sections"], "zh")  # which sections: kept
    assert "UN1090" in error_text(problems["sds.transport.proper_shipping_name"], "zh")
