"""What the lifecycle's event and alert endpoints read: the EPCIS capture body (checked by
`epcis.parse_events`, described here for the document) and the query parameters of event
queries, timelines and the alert list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from codesvc.item_states import BizStep
from registry_api.lifecycle.epcis import MAX_EVENTS
from registry_api.requests import PATH_PATTERNS
from registry_api.validators import END

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100
MAX_ALERTS_PAGE = 100
# An EPCIS document of 10,000 events, each naming its item by a scan URL of about 200
# characters, is about 6 MB; the registry's other bodies are held to 2 MB.
MAX_EVENTS_BODY_BYTES = 16 * 1024 * 1024
ALERT_KINDS = ("double_receipt", "after_end", "never_issued", "over_quantity")


class EventsBody(RootModel[dict[str, Any]]):
    """One EPCIS 2.0 ObjectEvent or AggregationEvent, or an EPCISDocument of up to 10,000."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": (
                f"One EPCIS 2.0 event (ObjectEvent or AggregationEvent) or an EPCISDocument "
                f"whose epcisBody.eventList holds up to {MAX_EVENTS:,} of them; items are "
                "named by their scan URLs (…/C/{code}/B/{batch}/S/{serial})."
            ),
            "examples": [
                {
                    "type": "ObjectEvent",
                    "eventID": "urn:uuid:6f2d2a56-0b8e-4c7e-9d0a-8d5c0f2b9a11",
                    "eventTime": "2026-12-01T09:30:00+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "action": "OBSERVE",
                    "bizStep": "receiving",
                    "epcList": ["https://safecode.example/C/{code}/B/L2026-11/S/{serial}"],
                    "safecode:condition": "intact",
                }
            ],
        }
    )


# RFC 3339 with its offset, as EPCIS writes eventTime (a bare number is no time here).
EVENT_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})" + END
)
# The `nextPageToken` this API gives: where the page starts (microseconds, event number).
PAGE_POSITION_PATTERN = r"^[0-9]{1,19}-[0-9]{1,19}" + END


def _event_time(text: str) -> str:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a date and time of the calendar") from None
    return text


EventTime = Annotated[str, Field(pattern=EVENT_TIME_PATTERN), AfterValidator(_event_time)]
PageToken = Annotated[str, Field(pattern=PAGE_POSITION_PATTERN)]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, regex_engine="python-re")


class EventQuery(_Query):
    """EPCIS query parameters (the REST binding's names where it has them)."""

    serial: Annotated[str, Field(min_length=1, max_length=600)] | None = None
    code: Annotated[str, Field(pattern=PATH_PATTERNS["code_id"])] | None = None
    batch: Annotated[str, Field(pattern=r"^[0-9A-Z-]{1,20}$")] | None = None
    recorder: Annotated[str, Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")] | None = None
    bizStep: BizStep | None = None  # EPCIS names the parameters so
    GE_eventTime: EventTime | None = None
    LT_eventTime: EventTime | None = None
    perPage: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE
    nextPageToken: PageToken | None = None


class TimelineQuery(_Query):
    perPage: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE
    nextPageToken: PageToken | None = None


class AlertQuery(_Query):
    kind: Literal["double_receipt", "after_end", "never_issued", "over_quantity"] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_ALERTS_PAGE)] = 50
    before: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
