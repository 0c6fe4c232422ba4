"""Query parameters of oversight (search, the audit trail's pages), what a search text
means (the keys it is matched by), and the bodies and queries of notices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from codesvc.codes import CodeFormatError, parse_code_id
from registry_api.forms import NOT_BLANK, TRIMMED, Form

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


# --- notices ------------------------------------------------------------------------------

MAX_NOTICE_TITLE = 100
MAX_NOTICE_BODY = 5000
DEFAULT_NOTICE_LIMIT = 20
DEFAULT_RECEIPT_LIMIT = 100
MAX_RECEIPT_PAGE = 500  # a province's readers run to thousands: a page is a screenful or two


class NoticeForm(Form):
    """A notice an admin publishes to its own unit and every unit below it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "关于开展危险化学品安全码赋码工作的通知",
                    "body": "各县（区）应急管理局：请于本月底前完成辖区企业账号配置。",
                    "to_enterprises": False,
                }
            ]
        }
    )

    title: Annotated[
        str, Field(min_length=1, max_length=MAX_NOTICE_TITLE, pattern=NOT_BLANK), TRIMMED
    ]
    body: Annotated[
        str, Field(min_length=1, max_length=MAX_NOTICE_BODY, pattern=NOT_BLANK), TRIMMED
    ]
    # Also to the enterprises of the unit and below (else to the regulators only).
    to_enterprises: StrictBool = False


def _query_flag(value: object) -> object:
    """A yes/no query parameter as JSON writes one: `true` or `false`, nothing looser (no
    `1`, `yes` or `on`, which the document's boolean does not allow)."""
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    return value


QueryFlag = Annotated[StrictBool, BeforeValidator(_query_flag)]


class NoticeListQuery(_Query):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = DEFAULT_NOTICE_LIMIT
    # The `next_before` of the page read: notices older than this one.
    before: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    # Only those the caller has not read yet.
    unread: QueryFlag = False


class ReceiptsQuery(_Query):
    limit: Annotated[int, Field(ge=1, le=MAX_RECEIPT_PAGE)] = DEFAULT_RECEIPT_LIMIT
    # The `next_before` of the page read: readings older than this one.
    before: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
