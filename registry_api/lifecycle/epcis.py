"""EPCIS 2.0 events in and out: what `POST /api/v1/events` accepts, and the JSON-LD the
event queries answer. Pure: no I/O.

In: one ObjectEvent or AggregationEvent, or an EPCISDocument of up to `MAX_EVENTS`.
`parse_events` checks every field of every event and raises `EventsInvalid` naming each
bad one (`eventList[3].eventTime`; for a lone event, `eventTime`): the caller records all
of a document or nothing. Items are named by their scan URLs
(`http(s)://{host}/C/{code}/B/{batch}/S/{serial}`, any host: a label printed before a move
of the service still names its item). `bizStep` and `disposition` are read as CBV short
names, as `https://ref.gs1.org/cbv/BizStep-…` / `Disp-…` web URIs, or as
`urn:epcglobal:cbv:bizstep:…` / `disp:…` URNs. Unknown extra fields are ignored (EPCIS
allows extensions); JSON-LD is not expanded, so SafeCode's own fields are read by their
literal names `safecode:condition` and `safecode:note`, and its own steps as
`safecode:consuming` and `safecode:recalling` too. Where SafeCode is stricter than
EPCIS, it says why in the message: `eventTime` must be written in the offset
`eventTimeZoneOffset` gives, an AggregationEvent is a packing (ADD) or unpacking (DELETE),
never an OBSERVE, and a commissioning is an ADD.

Out: `event_json` and `query_document` write bizStep and disposition as CBV short names
(the EPCIS 2.0 JSON-LD context maps bare names), but for the two steps CBV lacks, consuming
and recalling, written `safecode:consuming` and `safecode:recalling` (a bare name must be
CBV's to be valid EPCIS); items as their canonical scan URLs on the service's base URL;
`bizLocation` as the recording enterprise; SafeCode's fields under the `safecode` prefix.
That prefix maps to `safecode_namespace(base_url)`, `{base_url}/epcis/ns#`: a JSON-LD
namespace must be an IRI its owner controls, and the service's own address is the one IRI
each deployment is sure to control (a fixed domain would be claimed, not owned).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from codesvc.codes import CODE_ID_LENGTH, CodeFormatError, check_code_text, parse_scan_path
from codesvc.item_states import BizStep
from codesvc.serials import SerialError, parse_serial
from registry_api.errors import ValidationFailed
from registry_api.validators import InvalidValue, unified_social_credit_code

MAX_EVENTS = 10_000  # per document
MAX_EPCS_PER_EVENT = 10_000
MAX_EVENT_ID_LENGTH = 200
MAX_NOTE_LENGTH = 500
# Clocks of phones and packing lines drift; an event further ahead than this is a wrong
# clock or a wrong time zone, and would sort after everything recorded later.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_EARLIEST_TIMESTAMP = EARLIEST_EVENT_TIME.timestamp()

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"
SAFECODE_PREFIX = "safecode"
CONDITION_FIELD = f"{SAFECODE_PREFIX}:condition"
NOTE_FIELD = f"{SAFECODE_PREFIX}:note"
ENTERPRISE_URN_PREFIX = "urn:safecode:enterprise:"

OBJECT_EVENT = "ObjectEvent"
AGGREGATION_EVENT = "AggregationEvent"
EVENT_TYPES = (OBJECT_EVENT, AGGREGATION_EVENT)
_OTHER_EPCIS_EVENT_TYPES = ("TransactionEvent", "TransformationEvent", "AssociationEvent")
ACTIONS = ("ADD", "OBSERVE", "DELETE")
CONDITIONS = ("intact", "damaged", "leaking")
# CBV 2.0 dispositions: the short names the EPCIS 2.0 schema lists, so that whatever is
# accepted is written back as a bare name the schema knows.
DISPOSITIONS = frozenset(
    {"active", "available", "completeness_inferred", "completeness_verified", "conformant"}
    | {"container_closed", "container_open", "damaged", "destroyed", "dispensed", "disposed"}
    | {"encoded", "expired", "in_progress", "in_transit", "inactive", "mismatch_class"}
    | {"mismatch_instance", "mismatch_quantity", "needs_replacement", "no_pedigree_match"}
    | {"non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved"}
    | {"retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen"}
    | {"unavailable", "unknown"}
)
DAMAGED = "damaged"

# CBV 2.0 has no step for using a chemical up, nor for a recall: those two are SafeCode's
# own, written as compact IRIs in its namespace (`safecode:consuming`) so that what we
# write stays valid EPCIS (a bare name must be one of CBV's), and read in that form too.
OWN_STEPS = frozenset({BizStep.CONSUMING, BizStep.RECALLING})
_BIZSTEP_PREFIXES = (
    "https://ref.gs1.org/cbv/BizStep-",
    "urn:epcglobal:cbv:bizstep:",
    f"{SAFECODE_PREFIX}:",
)
_DISPOSITION_PREFIXES = ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:")
_STEP_NAMES = frozenset(step.value for step in BizStep)
_STEPS = ", ".join(BizStep)
# Every accepted spelling of a step and of a disposition, read in one lookup (a document's
# thousands of events spell them the same few ways); anything else takes the reading that
# words the problem.
_STEP_SPELLINGS = {
    prefix + step.value: step for step in BizStep for prefix in ("", *_BIZSTEP_PREFIXES)
}
_DISPOSITION_SPELLINGS = {
    prefix + name: name for name in DISPOSITIONS for prefix in ("", *_DISPOSITION_PREFIXES)
}

# RFC 3339 date-time, the offset required (ASCII digits only: `\d` is any Unicode digit).
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
# The EPCIS 2.0 schema's eventTimeZoneOffset: -14:00 to +14:00.
_OFFSET = re.compile(r"[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)")
_UUID_URN = re.compile(
    r"urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
    re.IGNORECASE | re.ASCII,
)
_NI_URI = re.compile(r"ni://[A-Za-z0-9.:@-]*/[A-Za-z0-9.+-]+;[A-Za-z0-9_=-]+(?:\?[!-~]*)?")
# ASCII: under IGNORECASE alone, `[!-~]` would also match the Kelvin sign and the long s.
_WEB_URI = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?", re.IGNORECASE | re.ASCII
)
_ENTERPRISE_URN = re.compile(re.escape(ENTERPRISE_URN_PREFIX) + r"([0-9A-HJ-NPQRTUWXY]{18})")
_MAX_ITEM_URI = 600  # longer than any scan URL of a 121-character code
# The form nearly every item URL takes, read in one match (parsing is most of the cost of
# ingesting events); its parts are then checked as `parse_scan_path` checks them. Anything
# else takes the full reading, which also words the errors.
_ITEM_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    r"/[Cc]/([0-9A-Za-z]{121})/[Bb]/([0-9A-Za-z-]{1,20})/[Ss]/([0-9A-Za-z]{13})/?"
)


class EventsInvalid(ValidationFailed):
    """Events that cannot be recorded; `problems` names every bad field of every bad event
    (`eventList[3].eventTime`, or `eventTime` for a lone event) with a message."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        count = len(problems)
        super().__init__(
            f"the events were not recorded: {count} problem{'s' if count != 1 else ''}",
            problems,
        )

    @property
    def problems(self) -> dict[str, str]:
        return self.fields


class ItemUriError(ValueError):
    """Text that is not the scan URL of one item; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ItemRef:
    """An item as an event names it: its code (the checked text and its code_id), its
    batch and its serial (normalised, check character verified)."""

    code_text: str
    code_id: str
    batch: str
    serial: str

    def uri(self, base_url: str) -> str:
        """The item's canonical URI: its scan URL on `base_url`."""
        return f"{base_url.rstrip('/')}/C/{self.code_text}/B/{self.batch}/S/{self.serial}"


@dataclass(frozen=True, slots=True)
class EventInput:
    """One event as received, checked. `items` are its epcList (ObjectEvent) or childEPCs
    (AggregationEvent); `disposition` is a CBV short name; `biz_location` the USCC the event
    gave, if any; `raw` the event object as received, for storage."""

    event_id: str
    event_type: str  # "ObjectEvent" | "AggregationEvent"
    action: str  # "ADD" | "OBSERVE" | "DELETE"
    event_time: datetime  # aware
    time_zone_offset: str  # "+08:00"
    biz_step: BizStep
    disposition: str | None
    items: tuple[ItemRef, ...]
    parent: ItemRef | None
    biz_location: str | None
    condition: str | None
    note: str | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)

    def stored(self, *, record_time: datetime, recorder_uscc: str) -> StoredEvent:
        """The event as recorded, at `record_time` by the enterprise `recorder_uscc`."""
        values = {f.name: getattr(self, f.name) for f in fields(EventInput)}
        return StoredEvent(**values, record_time=record_time, recorder_uscc=recorder_uscc)


@dataclass(frozen=True, slots=True)
class StoredEvent(EventInput):
    """An event as recorded: when (aware) and by which enterprise (its USCC)."""

    record_time: datetime
    recorder_uscc: str


def parse_events(body: object, *, now: datetime) -> list[EventInput]:
    """The events of `body` (decoded JSON: one event or an EPCISDocument), checked against
    `now` (aware) for times in the future; `EventsInvalid` naming every problem otherwise."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    problems: dict[str, str] = {}
    first_of_id: dict[str, str] = {}  # eventID -> where it was first seen
    events = []
    latest = (now + FUTURE_TOLERANCE).timestamp()
    for where, raw in _listed_events(body, problems):
        event = _read_event(raw, where, now, latest, first_of_id, problems)
        if event is not None:
            events.append(event)
    if problems:
        raise EventsInvalid(problems)
    return events


def parse_item_uri(text: str) -> ItemRef:
    """An item's scan URL, `http(s)://{any host}/C/{code}/B/{batch}/S/{serial}` (`/c/` too);
    `ItemUriError` saying what is wrong otherwise."""
    match = _ITEM_URL.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        code_text, batch, serial = match.groups()
        try:
            code_text = _checked_code(code_text)
            serial = parse_serial(serial)
        except CodeFormatError:  # SerialError too: the full reading below words it
            pass
        else:
            return ItemRef(code_text, code_text[:CODE_ID_LENGTH], batch.upper(), serial)
    return _parse_item_uri_in_full(text)


def _parse_item_uri_in_full(text: object) -> ItemRef:
    if not isinstance(text, str):
        raise ItemUriError("must be text: an item's scan URL")
    if len(text) > _MAX_ITEM_URI:
        raise ItemUriError(f"is too long for an item's scan URL ({len(text)} characters)")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise ItemUriError("is not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ItemUriError(
            "must be an item's scan URL, http(s)://{host}/C/{code}/B/{batch}/S/{serial}: "
            "SafeCode names items by the URL their label carries"
        )
    if parts.query or parts.fragment:
        raise ItemUriError("must not carry a query (?...) or a fragment (#...)")
    try:
        target = parse_scan_path(parts.path)
    except CodeFormatError as exc:
        raise ItemUriError(f"is not an item's scan URL: {exc}") from None
    if target.batch is None or target.serial is None:
        named = "a code and a batch" if target.batch else "a code"
        raise ItemUriError(f"names {named} but no item: an item's URL ends in /S/{{serial}}")
    try:
        serial = parse_serial(target.serial)
    except SerialError as exc:
        raise ItemUriError(f"serial {target.serial}: {exc.message}") from None
    return ItemRef(target.text, target.code_id, target.batch, serial)


def safecode_namespace(base_url: str) -> str:
    """The IRI the `safecode` prefix of our extension fields stands for."""
    return f"{base_url.rstrip('/')}/epcis/ns#"


def event_json(event: StoredEvent, base_url: str) -> dict[str, Any]:
    """The event as EPCIS 2.0 JSON-LD, to be placed in a document's eventList (a lone event
    needs `"@context": document_context(base_url)` added)."""
    answer: dict[str, Any] = {
        "type": event.event_type,
        "eventID": event.event_id,
        "action": event.action,
        "bizStep": step_text(event.biz_step),
    }
    if event.disposition is not None:
        answer["disposition"] = event.disposition
    uris = [item.uri(base_url) for item in event.items]
    if event.event_type == AGGREGATION_EVENT:
        if event.parent is not None:
            answer["parentID"] = event.parent.uri(base_url)
        if uris:  # an unpacking (DELETE) may name no children: all of them
            answer["childEPCs"] = uris
    else:
        answer["epcList"] = uris
    answer["eventTime"] = (
        _aware(event.event_time).astimezone(_zone(event.time_zone_offset)).isoformat()
    )
    answer["eventTimeZoneOffset"] = event.time_zone_offset
    answer["recordTime"] = _utc_text(event.record_time)
    answer["bizLocation"] = {"id": ENTERPRISE_URN_PREFIX + event.recorder_uscc}
    if event.condition is not None:
        answer[CONDITION_FIELD] = event.condition
    if event.note is not None:
        answer[NOTE_FIELD] = event.note
    return answer


def step_text(step: BizStep) -> str:
    """The bizStep as we write it: CBV's short name, or ours as `safecode:{name}`."""
    return f"{SAFECODE_PREFIX}:{step}" if step in OWN_STEPS else str(step)


def document_context(base_url: str) -> list[Any]:
    """The `@context` of what we write: the EPCIS 2.0 context and our prefix."""
    return [EPCIS_CONTEXT, {SAFECODE_PREFIX: safecode_namespace(base_url)}]


def query_document(
    events: Iterable[StoredEvent],
    base_url: str,
    *,
    query_name: str = "SimpleEventQuery",
    created: datetime | None = None,
) -> dict[str, Any]:
    """An EPCISQueryDocument holding `events` in the order given; `created` (aware), when
    given, is its creationDate."""
    document: dict[str, Any] = {
        "@context": document_context(base_url),
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
    }
    if created is not None:
        document["creationDate"] = _utc_text(created)
    document["epcisBody"] = {
        "queryResults": {
            "queryName": query_name,
            "resultsBody": {"eventList": [event_json(event, base_url) for event in events]},
        }
    }
    return document


class _Invalid(ValueError):
    """A field's problem, collected under its key."""


def _listed_events(body: object, problems: dict[str, str]) -> list[tuple[str, object]]:
    """The events of the body with the prefix of their keys in `problems`."""
    if not isinstance(body, dict):
        problems["body"] = "must be a JSON object: one EPCIS event or an EPCISDocument"
        return []
    kind = body.get("type")
    if kind in EVENT_TYPES:
        return [("", body)]
    if kind != "EPCISDocument":
        problems["type"] = _event_type_problem(kind, document=True)
        return []
    version = body.get("schemaVersion")
    if not isinstance(version, str) or not re.fullmatch(r"2\.0(?:\.[0-9]+)?", version):
        problems["schemaVersion"] = "must be 2.0: this is an EPCIS 2.0 interface"
    created = body.get("creationDate")
    if created is not None:
        try:
            _date_time(created)
        except _Invalid as exc:
            problems["creationDate"] = str(exc)
    epcis_body = body.get("epcisBody")
    if not isinstance(epcis_body, dict):
        problems["epcisBody"] = "is required: an object holding eventList"
        return []
    listed = epcis_body.get("eventList")
    if not isinstance(listed, list):
        problems["epcisBody.eventList"] = "is required: a list of events"
        return []
    if not listed:
        problems["epcisBody.eventList"] = "holds no events"
    if len(listed) > MAX_EVENTS:
        problems["epcisBody.eventList"] = (
            f"holds {len(listed):,} events; at most {MAX_EVENTS:,} go in one document"
        )
        return []
    return [(f"eventList[{index}].", event) for index, event in enumerate(listed)]


def _event_type_problem(kind: object, *, document: bool) -> str:
    expected = "ObjectEvent or AggregationEvent" + (", or EPCISDocument" if document else "")
    if kind is None:
        return f"is required: {expected}"
    if kind in _OTHER_EPCIS_EVENT_TYPES:
        return f"{kind} is not supported: SafeCode records ObjectEvent and AggregationEvent"
    if kind == "EPCISQueryDocument":
        return "an EPCISQueryDocument is what queries answer: send an EPCISDocument"
    return f"must be {expected}, not {_shown(kind)}"


def _read_event(
    raw: object,
    where: str,
    now: datetime,
    latest: float,
    first_of_id: dict[str, str],
    problems: dict[str, str],
) -> EventInput | None:
    """The event at `where` (a key prefix), or None with its problems added; `latest` is
    the latest eventTime taken (`now` and the tolerance), as a POSIX timestamp."""
    if not isinstance(raw, dict):
        problems[where.rstrip(".")] = "must be a JSON object: an ObjectEvent or AggregationEvent"
        return None
    found: dict[str, str] = {}
    get = raw.get
    kind: str | None = get("type")
    if kind not in EVENT_TYPES:
        found["type"] = _event_type_problem(kind, document=False)
        kind = None
    event_id = _field(found, "eventID", _event_id, get("eventID"))
    if event_id is not None:
        earlier = first_of_id.setdefault(event_id, where)
        if earlier != where:
            found["eventID"] = (
                f"repeats the eventID of {earlier.rstrip('.')}: each event needs its own"
            )
    try:
        event_time = _event_time(get("eventTime"), now, latest)
    except _Invalid as exc:
        found["eventTime"] = str(exc)
        event_time = None
    offset = _field(found, "eventTimeZoneOffset", _time_zone_offset, get("eventTimeZoneOffset"))
    if event_time is not None and offset is not None:
        written = event_time.utcoffset()
        if written != _offset_delta(offset):
            found["eventTimeZoneOffset"] = (
                f"is {offset} but eventTime is written in {_offset_text(written)}: write "
                "eventTime in the local time of the event, with the offset given here"
            )
    biz_step = _field(found, "bizStep", _biz_step, get("bizStep"))
    try:
        action = _action(get("action"), kind, biz_step)
    except _Invalid as exc:
        found["action"] = str(exc)
        action = None
    disposition = _field(found, "disposition", _disposition, get("disposition"))
    condition = _field(found, CONDITION_FIELD, _condition, get(CONDITION_FIELD))
    note = _field(found, NOTE_FIELD, _note, get(NOTE_FIELD))
    biz_location = _biz_location(get("bizLocation"), found)
    if condition in ("damaged", "leaking") and disposition is None:
        disposition = DAMAGED
    # The state follows the disposition: a leaking drum received "in_progress" would count
    # as received in good order.
    if (
        biz_step is BizStep.RECEIVING
        and condition is not None
        and disposition is not None
        and (condition == "intact") == (disposition == DAMAGED)
    ):
        found["disposition"] = (
            f"{disposition} contradicts {CONDITION_FIELD} {condition}: a damaged or leaking "
            "package is received with disposition damaged (or none), an intact one without"
        )
    parent = None
    items: tuple[ItemRef, ...] = ()
    if kind == OBJECT_EVENT:
        items = _items(get("epcList"), "epcList", found, required=True)
    elif kind == AGGREGATION_EVENT:
        parent = _field(found, "parentID", _parent, get("parentID"))
        items = _items(get("childEPCs"), "childEPCs", found, required=action in ("ADD", None))
        if parent is not None:
            for index, child in enumerate(items):
                if child.serial == parent.serial:
                    found[f"childEPCs[{index}]"] = (
                        "is the parentID itself: a case cannot hold itself"
                    )
    if found or kind is None or event_time is None or action is None:  # found says why
        problems.update({where + name: message for name, message in found.items()})
        return None
    return EventInput(
        event_id, kind, action, event_time, offset, biz_step, disposition, items, parent,
        biz_location, condition, note, raw,
    )  # fmt: skip


def _field(found: dict[str, str], name: str, check: Callable[[Any], Any], value: object) -> Any:
    """`check(value)`, or None with its problem noted under `name`."""
    try:
        return check(value)
    except _Invalid as exc:
        found[name] = str(exc)
        return None


def _text(value: object) -> str:
    if value is None:
        raise _Invalid("is required")
    if not isinstance(value, str):
        raise _Invalid("must be text")
    return value


def _event_id(value: object) -> str:
    text = _text(value)
    if len(text) > MAX_EVENT_ID_LENGTH:
        raise _Invalid(f"is {len(text)} characters; at most {MAX_EVENT_ID_LENGTH}")
    uuid = _UUID_URN.fullmatch(text)
    if uuid:  # UUIDs compare without case: one spelling, so a retry is known as one
        return f"urn:uuid:{uuid.group(1).lower()}"
    if _NI_URI.fullmatch(text) or _WEB_URI.fullmatch(text):
        return text
    raise _Invalid(
        "must be a URI: urn:uuid:{uuid}, ni:///sha-256;{hash} (the EPCIS event hash) or an "
        "http(s) URL"
    )


def _date_time(value: object) -> datetime:
    text = _text(value)
    match = _DATE_TIME.fullmatch(text)
    if not match:
        raise _Invalid(
            "must be an RFC 3339 date and time with its offset, e.g. 2024-05-01T09:30:00+08:00"
        )
    offset = match.group(8)
    if offset not in ("Z", "z") and not _OFFSET.fullmatch(offset):
        raise _Invalid(f"has the offset {offset}; offsets run from -14:00 to +14:00")
    # The pattern has checked the form, so fromisoformat (several times quicker than
    # building the datetime from the parts) reads exactly it; beyond microseconds is
    # dropped. It takes only an upper-case Z, which RFC 3339 writes either way; hour 24,
    # which RFC 3339 has not, is refused here whatever a later Python makes of it.
    try:
        if match.group(4) == "24":
            raise ValueError(text)
        return datetime.fromisoformat(text[:-1] + "Z" if offset == "z" else text)
    except ValueError:
        raise _Invalid(f"{text} is not a date and time that exists") from None


def _event_time(value: object, now: datetime, latest: float) -> datetime:
    """The eventTime, from 2000 to `latest` (a POSIX timestamp: one float comparison each,
    where two times of different offsets compare at several times the cost)."""
    moment = _date_time(value)
    seconds = moment.timestamp()
    if seconds < _EARLIEST_TIMESTAMP:
        raise _Invalid("is before 2000: no SafeCode label is that old")
    if seconds > latest:
        raise _Invalid(
            f"is in the future (the server's clock reads {_utc_text(now)}): check the "
            "device's clock and time zone"
        )
    return moment


def _time_zone_offset(value: object) -> str:
    text = _text(value)
    if not _OFFSET.fullmatch(text):
        raise _Invalid("must be the offset from UTC as ±HH:MM, -14:00 to +14:00, e.g. +08:00")
    return text


def _action(value: object, kind: str | None, biz_step: BizStep | None) -> str:
    text = _text(value)
    if text not in ACTIONS:
        raise _Invalid(f"must be ADD, OBSERVE or DELETE, not {_shown(text)}")
    if kind == AGGREGATION_EVENT and text == "OBSERVE":
        raise _Invalid(
            "must be ADD (packing into parentID) or DELETE (unpacking) for an AggregationEvent"
        )
    if kind == OBJECT_EVENT and biz_step is BizStep.COMMISSIONING and text != "ADD":
        raise _Invalid("must be ADD for commissioning: the items begin to exist")
    return text


def _cbv_name(text: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _biz_step(value: object) -> BizStep:
    step = _STEP_SPELLINGS.get(value) if isinstance(value, str) else None
    if step is not None:
        return step
    name = _cbv_name(_text(value), _BIZSTEP_PREFIXES)
    if name not in _STEP_NAMES:
        raise _Invalid(
            f"{_shown(name)} is not a step SafeCode records; these are: {_STEPS} (each as "
            "its short name, https://ref.gs1.org/cbv/BizStep-{name} or "
            "urn:epcglobal:cbv:bizstep:{name}; consuming and recalling, SafeCode's own, "
            "also as safecode:{name})"
        )
    return BizStep(name)


def _disposition(value: object) -> str | None:
    if value is None:
        return None
    known = _DISPOSITION_SPELLINGS.get(value) if isinstance(value, str) else None
    if known is not None:
        return known
    name = _cbv_name(_text(value), _DISPOSITION_PREFIXES)
    if name not in DISPOSITIONS:
        raise _Invalid(
            f"{_shown(name)} is not a CBV 2.0 disposition (e.g. in_transit, damaged, "
            "dispensed, partially_dispensed, destroyed, recalled)"
        )
    return name


def _condition(value: object) -> str | None:
    if value is None:
        return None
    text = _text(value)
    if text not in CONDITIONS:
        raise _Invalid(f"must be intact, damaged or leaking, not {_shown(text)}")
    return text


def _note(value: object) -> str | None:
    if value is None:
        return None
    text = _text(value).strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise _Invalid(f"is {len(text)} characters; at most {MAX_NOTE_LENGTH}")
    return text or None


def _biz_location(value: object, found: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        found["bizLocation"] = 'must be an object: {"id": "urn:safecode:enterprise:{USCC}"}'
        return None
    location = value.get("id")
    match = _ENTERPRISE_URN.fullmatch(location) if isinstance(location, str) else None
    if match is None:
        found["bizLocation.id"] = (
            "must be urn:safecode:enterprise: followed by the enterprise's unified social "
            "credit code (18 characters)"
        )
        return None
    try:
        return unified_social_credit_code(match.group(1))
    except InvalidValue as exc:
        found["bizLocation.id"] = f"the credit code in it {exc}"
        return None


def _parent(value: object) -> ItemRef:
    if value is None:
        raise _Invalid("is required: the scan URL of the case or pallet")
    try:
        return parse_item_uri(_text(value))
    except ItemUriError as exc:
        raise _Invalid(str(exc)) from None


def _items(
    value: object, name: str, found: dict[str, str], *, required: bool
) -> tuple[ItemRef, ...]:
    """The items of an EPC list; each bad one named by its index."""
    if value is None or value == []:
        if required:
            found[name] = "must name at least one item by its scan URL"
        return ()
    if not isinstance(value, list):
        found[name] = "must be a list of the items' scan URLs"
        return ()
    if len(value) > MAX_EPCS_PER_EVENT:
        found[name] = f"names {len(value):,} items; at most {MAX_EPCS_PER_EVENT:,} per event"
        return ()
    if len(value) == 1:  # most events name one item: nothing can repeat
        try:
            return (parse_item_uri(value[0]),)
        except ItemUriError as exc:
            found[f"{name}[0]"] = str(exc)
            return ()
    items: list[ItemRef] = []
    first_of_serial: dict[str, int] = {}
    for index, text in enumerate(value):
        try:
            item = parse_item_uri(text)
        except ItemUriError as exc:
            found[f"{name}[{index}]"] = str(exc)
            continue
        earlier = first_of_serial.setdefault(item.serial, index)
        if earlier != index:
            found[f"{name}[{index}]"] = f"repeats the serial of {name}[{earlier}]"
            continue
        items.append(item)
    return tuple(items)


@functools.lru_cache(maxsize=256)
def _checked_code(text: str) -> str:
    """`check_code_text`, remembered: a document's items share a few codes."""
    return check_code_text(text)


@functools.lru_cache(maxsize=128)
def _offset_delta(offset: str) -> timedelta:
    """`±HH:MM` as a timedelta (both signs of zero are UTC)."""
    sign = -1 if offset[0] == "-" else 1
    return sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))


@functools.lru_cache(maxsize=128)
def _zone(offset: str) -> timezone:
    return timezone(_offset_delta(offset))


def _offset_text(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _aware(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError("event times must be aware datetimes")
    return moment


def _utc_text(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _shown(value: object) -> str:
    """A value as a message quotes it, cut short: a message never echoes a whole body."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
