"""Query parameters of oversight (search, the audit trail's pages), and what a search text
means: the keys it is matched by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from codesvc.codes import CodeFormatError, parse_code_id
from registry_api.forms import NOT_BLANK, TRIMMED

MAX_QUERY_LENGTH = 100
MAX_PAGE = 100
MAX_OFFSET = 10_000  # deep enough for any reading; a narrower query beats paging further
DEFAULT_SEARCH_LIMIT = 20
DEFAULT_AUDIT_LIMIT = 50
_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")
_CAS = re.compile(r"[0-9]{2,7}-[0-9]{2}-[0-9]")
_UN = re.compile(r"(?:UN)? ?([0-9]{4})", re.IGNORECASE)


class _Query(BaseModel):
    """Query parameters: the ones named are checked, others ignored (a cache-buster, the
    console's own)."""

    model_config = ConfigDict(extra="ignore", frozen=True, regex_engine="python-re")


SearchText = Annotated[
    str, Field(min_length=1, max_length=MAX_QUERY_LENGTH, pattern=NOT_BLANK), TRIMMED
]


class SearchQuery(_Query):
    q: SearchText
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = DEFAULT_SEARCH_LIMIT
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


class AuditQuery(_Query):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = DEFAULT_AUDIT_LIMIT
    # The `next_before` of the page read: entries older than this one.
    before: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None


@dataclass(frozen=True, slots=True)
class SearchKeys:
    """What a search text is matched by: always the names (substring, any case); each
    identifier only when the text has its shape."""

    text: str
    uscc: str | None = None  # 18 characters of the credit code alphabet
    cas: str | None = None  # as products store it: 67-64-1
    un_number: str | None = None  # as products store it: UN1090
    code_id: str | None = None  # 16 characters, without dashes


def search_keys(text: str) -> SearchKeys:
    compact = text.replace(" ", "").upper()
    uscc = compact if len(compact) == 18 and set(compact) <= _USCC_ALPHABET else None
    cas = text if _CAS.fullmatch(text) else None
    un = _UN.fullmatch(text)
    try:
        code_id: str | None = parse_code_id(text)
    except CodeFormatError:
        code_id = None
    return SearchKeys(
        text=text,
        uscc=uscc,
        cas=cas,
        un_number=None if un is None else f"UN{un.group(1)}",
        code_id=code_id,
    )
