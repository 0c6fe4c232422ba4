"""EPCIS 2.0 events in and out: every problem of a posted document named, and what we write
checked by an outsider, the EPCIS 2.0 JSON schema.

`EPCIS-JSON-Schema.json` (draft-07), its `EPCIS-JSON-Schema.LICENSE` (GS1's disclaimer)
and the examples `Example_9.6.1-ObjectEvent.jsonld`, `Example_9.6.3-AggregationEvent.jsonld`
and `EPCISQueryDocument.jsonld` are copied unchanged from the GS1 EPCIS 2.0 repository
(github.com/gs1/EPCIS: the schema from its root, the examples from `JSON/`), so the tests
run in a fresh clone.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, FormatChecker

from codesvc.codes import Code
from codesvc.item_states import BizStep
from codesvc.serials import check_character, new_serials
from registry_api.lifecycle.epcis import (
    EPCIS_CONTEXT,
    MAX_EPCS_PER_EVENT,
    MAX_EVENTS,
    EventInput,
    EventsInvalid,
    ItemRef,
    ItemUriError,
    StoredEvent,
    document_context,
    event_json,
    parse_events,
    parse_item_uri,
    query_document,
    safecode_namespace,
)
from tests.registry_api.identifiers import credit_code, credit_codes

HERE = Path(__file__).parent
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8000"
CODE = Code("11ABCDEFGHJKMNPQ", "AA", bytes(range(64))).text
BATCH = "B2025-06"
RECORDER = credit_code("91110000", "MA01ABCD")
SERIALS = new_serials(4)


def _uri_format(value: object) -> bool:
    """RFC 3986's absolute URI: a scheme, a colon, and only characters a URI may hold.
    jsonschema checks `format: uri` only when rfc3987 is installed, which we do not
    install; without a check the schema's `uri` fields would accept anything."""
    pattern = r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*"
    return not isinstance(value, str) or re.fullmatch(pattern, value) is not None


_FORMATS = FormatChecker()  # date-time is checked by rfc3339-validator, installed
_FORMATS.checks("uri")(_uri_format)
SCHEMA = Draft7Validator(
    json.loads((HERE / "EPCIS-JSON-Schema.json").read_text()), format_checker=_FORMATS
)


def schema_problems(document: object) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in SCHEMA.iter_errors(document)
    )


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HERE / name).read_text())
    return loaded


def item_url(serial: str, *, host: str = "https://sc.example.cn", batch: str = BATCH) -> str:
    return f"{host}/C/{CODE}/B/{batch}/S/{serial}"


def item(serial: str) -> ItemRef:
    return ItemRef(CODE, CODE[:16], BATCH, serial)


def object_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:4a1c3a5e-6f53-4c8e-9d0b-2b6f1f0e7a11",
        "eventTime": "2025-06-01T19:30:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "epcList": [item_url(SERIALS[0])],
    }
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


def aggregation_event(**changes: Any) -> dict[str, Any]:
    event = object_event(
        type="AggregationEvent",
        action="ADD",
        bizStep="packing",
        epcList=None,
        parentID=item_url(SERIALS[3]),
        childEPCs=[item_url(SERIALS[0]), item_url(SERIALS[1])],
    )
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


def document(*events: object, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-06-01T04:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }
    body.update(changes)
    return body


def event_ids(count: int) -> list[str]:
    return [f"urn:uuid:00000000-0000-4000-8000-{n:012x}" for n in range(count)]


def problems_of(body: object) -> dict[str, str]:
    with pytest.raises(EventsInvalid) as raised:
        parse_events(body, now=NOW)
    assert raised.value.fields == raised.value.problems
    return raised.value.problems


def parse_one(event: dict[str, Any]) -> EventInput:
    [parsed] = parse_events(event, now=NOW)
    return parsed


# In: what is accepted


def test_a_receipt_is_read_into_typed_values() -> None:
    event = object_event(
        disposition="in_progress",
        bizLocation={"id": f"urn:safecode:enterprise:{RECORDER}"},
        readPoint={"id": "urn:epc:id:sgln:0614141.07346.1234"},  # an extension: ignored
    )
    parsed = parse_one(event)
    assert parsed == EventInput(
        event_id="urn:uuid:4a1c3a5e-6f53-4c8e-9d0b-2b6f1f0e7a11",
        event_type="ObjectEvent",
        action="OBSERVE",
        event_time=datetime(2025, 6, 1, 11, 30, tzinfo=UTC),
        time_zone_offset="+08:00",
        biz_step=BizStep.RECEIVING,
        disposition="in_progress",
        items=(item(SERIALS[0]),),
        parent=None,
        biz_location=RECORDER,
        condition=None,
        note=None,
        raw=event,
    )
    assert parsed.raw is event
    assert parsed.event_time.utcoffset() == timedelta(hours=8)


def test_a_document_gives_its_events_in_order() -> None:
    ids = event_ids(3)
    body = document(
        object_event(eventID=ids[0], bizStep="commissioning", action="ADD"),
        aggregation_event(eventID=ids[1]),
        object_event(eventID=ids[2], bizStep="shipping", disposition="in_transit"),
    )
    parsed = parse_events(body, now=NOW)
    assert [event.event_id for event in parsed] == ids
    assert [event.biz_step for event in parsed] == [
        BizStep.COMMISSIONING,
        BizStep.PACKING,
        BizStep.SHIPPING,
    ]
    assert parsed[1].parent == item(SERIALS[3])
    assert parsed[1].items == (item(SERIALS[0]), item(SERIALS[1]))
    assert parsed[1].raw == body["epcisBody"]["eventList"][1]


@pytest.mark.parametrize(
    "spelling",
    [
        "shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
    ],
)
def test_a_business_step_is_read_in_its_three_spellings(spelling: str) -> None:
    assert parse_one(object_event(bizStep=spelling)).biz_step is BizStep.SHIPPING


@pytest.mark.parametrize(
    ("spelling", "step", "written"),
    [
        ("consuming", BizStep.CONSUMING, "safecode:consuming"),
        ("safecode:consuming", BizStep.CONSUMING, "safecode:consuming"),
        ("urn:epcglobal:cbv:bizstep:recalling", BizStep.RECALLING, "safecode:recalling"),
        ("safecode:recalling", BizStep.RECALLING, "safecode:recalling"),
        ("https://ref.gs1.org/cbv/BizStep-destroying", BizStep.DESTROYING, "destroying"),
    ],
)
def test_the_steps_cbv_lacks_are_written_in_our_namespace(
    spelling: str, step: BizStep, written: str
) -> None:
    """CBV 2.0 has no step for using a chemical up or for a recall: a bare name in EPCIS
    output must be CBV's, so ours are written as compact IRIs (`safecode:consuming`)."""
    parsed = parse_one(object_event(bizStep=spelling))
    assert parsed.biz_step is step
    assert event_json(stored(parsed), BASE)["bizStep"] == written


@pytest.mark.parametrize(
    "spelling",
    [
        "partially_dispensed",
        "https://ref.gs1.org/cbv/Disp-partially_dispensed",
        "urn:epcglobal:cbv:disp:partially_dispensed",
    ],
)
def test_a_disposition_is_read_in_its_three_spellings(spelling: str) -> None:
    event = object_event(bizStep="consuming", disposition=spelling)
    assert parse_one(event).disposition == "partially_dispensed"


@pytest.mark.parametrize(
    "name",
    [
        "active",
        "in_transit",
        "in_progress",
        "damaged",
        "destroyed",
        "recalled",
        "dispensed",
        "partially_dispensed",
        "disposed",
        "non_conformant",
        "returned",
        "expired",
    ],
)
def test_the_dispositions_of_a_chemical_package_are_known(name: str) -> None:
    assert parse_one(object_event(disposition=name)).disposition == name


@pytest.mark.parametrize(
    ("event_time", "offset", "instant"),
    [
        ("2025-06-01T19:30:00+08:00", "+08:00", datetime(2025, 6, 1, 11, 30, tzinfo=UTC)),
        ("2025-06-01T11:30:00Z", "+00:00", datetime(2025, 6, 1, 11, 30, tzinfo=UTC)),
        ("2025-06-01t11:30:00z", "-00:00", datetime(2025, 6, 1, 11, 30, tzinfo=UTC)),
        ("2025-06-01T05:30:00.25-06:00", "-06:00", datetime(2025, 6, 1, 11, 30, 0, 250000, UTC)),
        ("2025-06-01T23:30:00+14:00", "+14:00", datetime(2025, 6, 1, 9, 30, tzinfo=UTC)),
        (
            "2025-06-01T11:30:00.123456789+00:00",
            "+00:00",
            datetime(2025, 6, 1, 11, 30, 0, 123456, UTC),
        ),
    ],
)
def test_event_times_are_read_with_their_offsets(
    event_time: str, offset: str, instant: datetime
) -> None:
    parsed = parse_one(object_event(eventTime=event_time, eventTimeZoneOffset=offset))
    assert parsed.event_time == instant
    assert parsed.time_zone_offset == offset


def test_the_earliest_and_latest_times_accepted() -> None:
    assert parse_one(object_event(eventTime="2000-01-01T08:00:00+08:00")).event_time == datetime(
        2000, 1, 1, tzinfo=UTC
    )
    almost_five = (NOW + timedelta(minutes=4, seconds=59)).astimezone(timezone(timedelta(hours=8)))
    parsed = parse_one(object_event(eventTime=almost_five.isoformat()))
    assert parsed.event_time == NOW + timedelta(minutes=4, seconds=59)


@pytest.mark.parametrize(
    "event_id",
    [
        "urn:uuid:4A1C3A5E-6F53-4C8E-9D0B-2B6F1F0E7A11",
        "ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0",
        "https://events.example.cn/e/12345",
        "http://events.example.cn:8080/e?id=12345",
    ],
)
def test_event_ids_are_uris_of_three_kinds(event_id: str) -> None:
    parsed = parse_one(object_event(eventID=event_id))
    # A UUID is kept in one spelling, so a retry in another case is the same event.
    assert parsed.event_id == (event_id.lower() if event_id.startswith("urn:uuid:") else event_id)


def test_an_event_id_of_200_characters_is_accepted() -> None:
    event_id = "https://e.example.cn/" + "a" * (200 - len("https://e.example.cn/"))
    assert parse_one(object_event(eventID=event_id)).event_id == event_id


def test_a_document_of_the_most_events_and_items_is_accepted() -> None:
    ids = event_ids(MAX_EVENTS)
    events = [object_event(eventID=event_id) for event_id in ids]
    events[0]["epcList"] = [item_url(serial) for serial in new_serials(MAX_EPCS_PER_EVENT)]
    parsed = parse_events(document(*events), now=NOW)
    assert len(parsed) == MAX_EVENTS
    assert len(parsed[0].items) == MAX_EPCS_PER_EVENT


def test_a_damaged_or_leaking_receipt_is_recorded_as_damaged() -> None:
    leaking = parse_one(
        object_event(**{"safecode:condition": "leaking", "safecode:note": " 桶底渗漏 "})
    )
    assert (leaking.condition, leaking.disposition, leaking.note) == (
        "leaking",
        "damaged",
        "桶底渗漏",
    )
    damaged = parse_one(object_event(**{"safecode:condition": "damaged"}))
    assert damaged.disposition == "damaged"
    intact = parse_one(object_event(**{"safecode:condition": "intact"}, disposition="in_progress"))
    assert (intact.condition, intact.disposition) == ("intact", "in_progress")
    assert parse_one(object_event(**{"safecode:condition": "intact"})).disposition is None
    assert parse_one(object_event(**{"safecode:note": "   "})).note is None


def test_an_unpacking_may_name_no_children() -> None:
    parsed = parse_one(aggregation_event(action="DELETE", childEPCs=None, bizStep="shipping"))
    assert (parsed.action, parsed.items, parsed.parent) == ("DELETE", (), item(SERIALS[3]))


# In: what is refused, every problem named


def test_every_bad_field_of_every_bad_event_is_named() -> None:
    ids = event_ids(6)
    body = document(
        object_event(eventID=ids[0]),  # good
        object_event(
            eventID="not a uri",
            eventTime="yesterday",
            eventTimeZoneOffset="+8:00",
            bizStep="inspecting",
            disposition="lost",
            epcList=["urn:epc:id:sgtin:0614141.107346.2017", item_url(SERIALS[1])],
        ),
        aggregation_event(eventID=ids[0], action="OBSERVE", parentID=None),
        object_event(eventID=ids[3], type="TransformationEvent", action="MOVE"),
        "an event",
        object_event(
            eventID=ids[5],
            action="ADD",
            bizStep="commissioning",
            epcList=[item_url(SERIALS[0]), item_url(SERIALS[0].lower())],
            **{"safecode:condition": "wet"},
        ),
    )
    problems = problems_of(body)
    assert problems == {
        "eventList[1].eventID": problems["eventList[1].eventID"],
        "eventList[1].eventTime": problems["eventList[1].eventTime"],
        "eventList[1].eventTimeZoneOffset": problems["eventList[1].eventTimeZoneOffset"],
        "eventList[1].bizStep": problems["eventList[1].bizStep"],
        "eventList[1].disposition": problems["eventList[1].disposition"],
        "eventList[1].epcList[0]": problems["eventList[1].epcList[0]"],
        "eventList[2].eventID": "repeats the eventID of eventList[0]: each event needs its own",
        "eventList[2].action": problems["eventList[2].action"],
        "eventList[2].parentID": problems["eventList[2].parentID"],
        "eventList[3].type": (
            "TransformationEvent is not supported: SafeCode records ObjectEvent and "
            "AggregationEvent"
        ),
        "eventList[3].action": "must be ADD, OBSERVE or DELETE, not 'MOVE'",
        "eventList[4]": "must be a JSON object: an ObjectEvent or AggregationEvent",
        "eventList[5].epcList[1]": "repeats the serial of epcList[0]",
        "eventList[5].safecode:condition": "must be intact, damaged or leaking, not 'wet'",
    }
    assert problems["eventList[1].eventID"].startswith("must be a URI: urn:uuid:")
    assert problems["eventList[1].eventTime"].startswith("must be an RFC 3339 date and time")
    assert problems["eventList[1].eventTimeZoneOffset"].startswith("must be the offset from UTC")
    assert problems["eventList[1].bizStep"].startswith(
        "'inspecting' is not a step SafeCode records; these are: commissioning, packing, "
        "shipping, receiving, consuming, destroying, recalling"
    )
    assert problems["eventList[1].disposition"].startswith("'lost' is not a CBV 2.0 disposition")
    gs1_epc = problems["eventList[1].epcList[0]"]
    assert "SafeCode names items by the URL their label carries" in gs1_epc
    assert problems["eventList[2].action"].startswith("must be ADD (packing into parentID)")
    assert problems["eventList[2].parentID"].startswith("is required: the scan URL")


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"eventID": None}, "eventID", "is required"),
        ({"eventID": 12}, "eventID", "must be text"),
        (
            {"eventID": "https://e.example.cn/" + "a" * 180},
            "eventID",
            "is 201 characters; at most 200",
        ),
        ({"eventID": "urn:uuid:4a1c3a5e"}, "eventID", "must be a URI"),
        ({"eventID": "urn:epc:id:sgtin:1.2.3"}, "eventID", "must be a URI"),
        ({"eventTime": None}, "eventTime", "is required"),
        (
            {"eventTime": "2025-06-01T19:30:00"},
            "eventTime",
            "must be an RFC 3339 date and time with its offset",
        ),
        ({"eventTime": "2025-06-01 19:30:00+08:00"}, "eventTime", "must be an RFC 3339"),
        ({"eventTime": "2025-06-01T19:30+08:00"}, "eventTime", "must be an RFC 3339"),
        ({"eventTime": "２０２５-06-01T19:30:00+08:00"}, "eventTime", "must be an RFC 3339"),
        (
            {"eventTime": "2025-02-30T19:30:00+08:00"},
            "eventTime",
            "2025-02-30T19:30:00+08:00 is not a date and time that exists",
        ),
        (
            {"eventTime": "2025-06-01T19:30:00+15:00", "eventTimeZoneOffset": "+14:00"},
            "eventTime",
            "has the offset +15:00; offsets run from -14:00 to +14:00",
        ),
        (
            {"eventTime": "1999-12-31T23:59:59Z", "eventTimeZoneOffset": "+00:00"},
            "eventTime",
            "is before 2000",
        ),
        (
            {"eventTime": "2025-06-01T20:05:01+08:00"},
            "eventTime",
            "is in the future (the server's clock reads 2025-06-01T12:00:00Z)",
        ),
        ({"eventTimeZoneOffset": None}, "eventTimeZoneOffset", "is required"),
        (
            {"eventTimeZoneOffset": "+0800"},
            "eventTimeZoneOffset",
            "must be the offset from UTC as ±HH:MM",
        ),
        ({"eventTimeZoneOffset": "+14:30"}, "eventTimeZoneOffset", "must be the offset from UTC"),
        (
            {"eventTimeZoneOffset": "+09:00"},
            "eventTimeZoneOffset",
            "is +09:00 but eventTime is written in +08:00",
        ),
        (
            {"eventTime": "2025-06-01T11:30:00Z"},
            "eventTimeZoneOffset",
            "is +08:00 but eventTime is written in +00:00",
        ),
        ({"action": None}, "action", "is required"),
        ({"action": "add"}, "action", "must be ADD, OBSERVE or DELETE, not 'add'"),
        (
            {"bizStep": "commissioning", "action": "OBSERVE"},
            "action",
            "must be ADD for commissioning",
        ),
        ({"bizStep": None}, "bizStep", "is required"),
        ({"bizStep": "Shipping"}, "bizStep", "'Shipping' is not a step SafeCode records"),
        (
            {"bizStep": "http://ns.gs1.org/cbv/BizStep-shipping"},
            "bizStep",
            "'http://ns.gs1.org/cbv/BizStep-shipping' is not",
        ),
        (
            {"bizStep": "urn:epcglobal:cbv:bizstep:unpacking"},
            "bizStep",
            "'unpacking' is not a step",
        ),
        (
            {"disposition": "urn:epcglobal:cbv:disp:lost"},
            "disposition",
            "'lost' is not a CBV 2.0 disposition",
        ),
        ({"disposition": ["damaged"]}, "disposition", "must be text"),
        ({"epcList": None}, "epcList", "must name at least one item by its scan URL"),
        ({"epcList": []}, "epcList", "must name at least one item"),
        ({"epcList": item_url(SERIALS[0])}, "epcList", "must be a list of the items' scan URLs"),
        ({"epcList": [7]}, "epcList[0]", "must be text: an item's scan URL"),
        (
            {"bizLocation": "urn:safecode:enterprise:" + RECORDER},
            "bizLocation",
            "must be an object",
        ),
        (
            {"bizLocation": {"id": RECORDER}},
            "bizLocation.id",
            "must be urn:safecode:enterprise: followed by",
        ),
        (
            {"bizLocation": {"id": "urn:epc:id:sgln:0012345.11111.0"}},
            "bizLocation.id",
            "must be urn:safecode:enterprise:",
        ),
        (
            {"bizLocation": {"id": "urn:safecode:enterprise:" + RECORDER.lower()}},
            "bizLocation.id",
            "must be urn:safecode:enterprise:",
        ),
        (
            {
                "bizLocation": {
                    "id": "urn:safecode:enterprise:"
                    + RECORDER[:17]
                    + ("0" if RECORDER[17] != "0" else "1")
                }
            },
            "bizLocation.id",
            "the credit code in it the last character (check digit) does not match",
        ),
        (
            {"safecode:condition": "leaking", "disposition": "in_progress"},
            "disposition",
            "in_progress contradicts safecode:condition leaking",
        ),
        (
            {"safecode:condition": "intact", "disposition": "damaged"},
            "disposition",
            "damaged contradicts safecode:condition intact",
        ),
        ({"safecode:note": "x" * 501}, "safecode:note", "is 501 characters; at most 500"),
        ({"safecode:note": 5}, "safecode:note", "must be text"),
    ],
)
def test_each_bad_field_says_what_is_wrong(changes: dict[str, Any], key: str, message: str) -> None:
    problems = problems_of(object_event(**changes))
    assert list(problems) == [key]
    assert problems[key].startswith(message)
    # The same problem in a document is named with the event's place.
    in_document = problems_of(
        document(object_event(eventID=event_ids(1)[0]), object_event(**changes))
    )
    assert in_document == {f"eventList[1].{key}": problems[key]}


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"action": "OBSERVE"}, "action", "must be ADD (packing into parentID) or DELETE"),
        ({"parentID": None}, "parentID", "is required: the scan URL of the case or pallet"),
        (
            {"parentID": f"https://sc.example.cn/C/{CODE}/B/{BATCH}"},
            "parentID",
            "names a code and a batch but no item",
        ),
        ({"childEPCs": None}, "childEPCs", "must name at least one item"),
        (
            {"childEPCs": [item_url(SERIALS[0]), item_url(SERIALS[3])]},
            "childEPCs[1]",
            "is the parentID itself",
        ),
    ],
)
def test_an_aggregation_is_a_packing_or_an_unpacking_of_a_case(
    changes: dict[str, Any], key: str, message: str
) -> None:
    problems = problems_of(aggregation_event(**changes))
    assert list(problems) == [key]
    assert problems[key].startswith(message)


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ([object_event()], "body", "must be a JSON object: one EPCIS event or an EPCISDocument"),
        (
            {"eventID": "urn:uuid:4a1c3a5e-6f53-4c8e-9d0b-2b6f1f0e7a11"},
            "type",
            "is required: ObjectEvent or AggregationEvent, or EPCISDocument",
        ),
        (object_event(type="TransactionEvent"), "type", "TransactionEvent is not supported"),
        (
            object_event(type="objectevent"),
            "type",
            "must be ObjectEvent or AggregationEvent, or EPCISDocument, not 'objectevent'",
        ),
        (
            document(object_event(), type="EPCISQueryDocument"),
            "type",
            "an EPCISQueryDocument is what queries answer",
        ),
        (document(object_event(), schemaVersion="1.2"), "schemaVersion", "must be 2.0"),
        (document(object_event(), schemaVersion=None), "schemaVersion", "must be 2.0"),
        (document(object_event(), creationDate="today"), "creationDate", "must be an RFC 3339"),
        (
            document(object_event(), epcisBody=None),
            "epcisBody",
            "is required: an object holding eventList",
        ),
        (
            document(object_event(), epcisBody={"events": []}),
            "epcisBody.eventList",
            "is required: a list of events",
        ),
        (document(), "epcisBody.eventList", "holds no events"),
    ],
)
def test_a_body_that_is_no_event_or_document_says_why(body: object, key: str, message: str) -> None:
    problems = problems_of(body)
    assert list(problems) == [key]
    assert problems[key].startswith(message)


def test_the_limits_of_a_document_and_an_event() -> None:
    ids = event_ids(MAX_EVENTS + 1)
    too_many = document(*(object_event(eventID=event_id) for event_id in ids))
    assert problems_of(too_many) == {
        "epcisBody.eventList": "holds 10,001 events; at most 10,000 go in one document"
    }
    crowded = object_event(epcList=[item_url(s) for s in new_serials(MAX_EPCS_PER_EVENT + 1)])
    assert problems_of(crowded) == {"epcList": "names 10,001 items; at most 10,000 per event"}


def test_two_spellings_of_one_uuid_are_one_event_id() -> None:
    upper = "urn:uuid:4A1C3A5E-6F53-4C8E-9D0B-2B6F1F0E7A11"
    problems = problems_of(document(object_event(), object_event(eventID=upper)))
    assert problems == {
        "eventList[1].eventID": "repeats the eventID of eventList[0]: each event needs its own"
    }


def test_the_clock_the_caller_gives_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_events(object_event(), now=datetime(2025, 6, 1, 12, 0))


# Items by their scan URLs


@pytest.mark.parametrize(
    "url",
    [
        item_url(SERIALS[0]),
        item_url(SERIALS[0], host="http://127.0.0.1:8000"),
        item_url(SERIALS[0], host="HTTPS://SC.EXAMPLE.CN"),
        f"https://sc.example.cn/c/{CODE.lower()}/b/{BATCH.lower()}/s/{SERIALS[0].lower()}",
        item_url(SERIALS[0]) + "/",
    ],
)
def test_an_item_is_read_from_its_scan_url_on_any_host(url: str) -> None:
    assert parse_item_uri(url) == item(SERIALS[0])


def test_a_serial_is_read_with_crockfords_aliases() -> None:
    data = "0123456789AB"
    serial = data + check_character(data)
    typed = "O" + serial[1:].replace("1", "L")
    assert parse_item_uri(item_url(typed)).serial == serial


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "must be an item's scan URL"),
        (f"/C/{CODE}/B/{BATCH}/S/{SERIALS[0]}", "must be an item's scan URL"),
        (f"ftp://sc.example.cn/C/{CODE}/B/{BATCH}/S/{SERIALS[0]}", "must be an item's scan URL"),
        (
            f"https://sc.example.cn/C/{CODE}",
            "names a code but no item: an item's URL ends in /S/{serial}",
        ),
        (f"https://sc.example.cn/C/{CODE}/B/{BATCH}", "names a code and a batch but no item"),
        (
            f"https://sc.example.cn/C/{CODE[:-1]}/B/{BATCH}/S/{SERIALS[0]}",
            "is not an item's scan URL: code: must be 121 characters",
        ),
        (
            f"https://sc.example.cn/C/{CODE}/B/{'9' * 21}/S/{SERIALS[0]}",
            "is not an item's scan URL: batch: must be 1 to 20",
        ),
        (
            f"https://sc.example.cn/P/{CODE}/B/{BATCH}/S/{SERIALS[0]}",
            "is not an item's scan URL: path: must start with /C/",
        ),
        (item_url(SERIALS[0][:-1]), f"serial {SERIALS[0][:-1]}: must be 13 characters, got 12"),
        (
            item_url(SERIALS[0][:12] + ("0" if SERIALS[0][12] != "0" else "1")),
            "check character does not match",
        ),
        (item_url(SERIALS[0]) + "?lang=en", "must not carry a query"),
        (item_url(SERIALS[0]) + "#top", "must not carry a query (?...) or a fragment (#...)"),
        ("https://sc.example.cn/" + "C" * 700, "is too long for an item's scan URL"),
    ],
)
def test_what_is_not_one_items_url_says_why(text: str, message: str) -> None:
    with pytest.raises(ItemUriError) as raised:
        parse_item_uri(text)
    assert message in str(raised.value)


@given(
    st.sampled_from(SERIALS), st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ-", min_size=1, max_size=20)
)
def test_an_items_canonical_uri_reads_back_as_the_item(serial: str, batch: str) -> None:
    ref = ItemRef(CODE, CODE[:16], batch, serial)
    assert parse_item_uri(ref.uri(BASE)) == ref
    assert parse_item_uri(ref.uri(BASE + "/")) == ref


@given(
    st.sampled_from(SERIALS),
    st.text("0123456789abcdefghjkmnpqrstvwxyzABCDEFGHJKMNPQRSTVWXYZ-", min_size=1, max_size=20),
    st.sampled_from(["http://h", "HTTPS://SC.example.cn:8443", "https://[::1]", "https://u@h"]),
    st.booleans(),
    st.sampled_from(["", "/", "//"]),
)
def test_every_spelling_of_an_items_url_names_the_same_item(
    serial: str, batch: str, host: str, lower: bool, end: str
) -> None:
    """Hosts, cases, Crockford's aliases and trailing slashes: all read alike (the common
    form is read in one match, the others in full; the two must agree)."""
    code = CODE.lower().replace("0", "o").replace("1", "l") if lower else CODE
    typed_serial = serial.lower().replace("1", "i") if lower else serial
    path = f"/{'c' if lower else 'C'}/{code}/b/{batch}/s/{typed_serial}"
    assert parse_item_uri(host + path + end) == ItemRef(CODE, CODE[:16], batch.upper(), serial)


# Out: what we write, checked by the EPCIS 2.0 schema


def stored(event: EventInput, *, recorder: str = RECORDER) -> StoredEvent:
    return event.stored(record_time=NOW + timedelta(seconds=1), recorder_uscc=recorder)


def test_an_event_is_written_as_epcis_json_ld() -> None:
    receipt = parse_one(
        object_event(
            eventTime="2025-06-01T05:30:00.25-06:00",
            eventTimeZoneOffset="-06:00",
            bizStep="https://ref.gs1.org/cbv/BizStep-receiving",
            **{"safecode:condition": "leaking", "safecode:note": "drum 3 seeps"},
        )
    )
    written = event_json(stored(receipt), BASE + "/")
    assert written == {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:4a1c3a5e-6f53-4c8e-9d0b-2b6f1f0e7a11",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "damaged",
        "epcList": [f"{BASE}/C/{CODE}/B/{BATCH}/S/{SERIALS[0]}"],
        "eventTime": "2025-06-01T05:30:00.250000-06:00",
        "eventTimeZoneOffset": "-06:00",
        "recordTime": "2025-06-01T12:00:01Z",
        "bizLocation": {"id": f"urn:safecode:enterprise:{RECORDER}"},
        "safecode:condition": "leaking",
        "safecode:note": "drum 3 seeps",
    }
    alone = {"@context": document_context(BASE), **written}
    assert schema_problems(alone) == []


def test_an_aggregation_is_written_with_its_parent_and_children() -> None:
    packing, unpacking = parse_events(
        document(
            aggregation_event(eventID=event_ids(2)[0]),
            aggregation_event(eventID=event_ids(2)[1], action="DELETE", childEPCs=None),
        ),
        now=NOW,
    )
    written = event_json(stored(packing), BASE)
    assert written["parentID"] == f"{BASE}/C/{CODE}/B/{BATCH}/S/{SERIALS[3]}"
    assert written["childEPCs"] == [item(SERIALS[0]).uri(BASE), item(SERIALS[1]).uri(BASE)]
    assert "epcList" not in written
    assert "childEPCs" not in event_json(stored(unpacking), BASE)
    answer = query_document([stored(packing), stored(unpacking)], BASE)
    assert schema_problems(answer) == []


def test_a_query_answer_is_an_epcis_query_document() -> None:
    events = parse_events(
        document(
            object_event(eventID=event_ids(3)[0], action="ADD", bizStep="commissioning"),
            object_event(eventID=event_ids(3)[1], bizStep="shipping", disposition="in_transit"),
            object_event(eventID=event_ids(3)[2], bizStep="consuming", disposition="dispensed"),
        ),
        now=NOW,
    )
    answer = query_document(
        [stored(event) for event in events], BASE, created=datetime(2025, 6, 1, 20, 0, tzinfo=UTC)
    )
    assert answer["@context"] == [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"safecode": "http://127.0.0.1:8000/epcis/ns#"},
    ]
    assert (answer["type"], answer["schemaVersion"], answer["creationDate"]) == (
        "EPCISQueryDocument",
        "2.0",
        "2025-06-01T20:00:00Z",
    )
    results = answer["epcisBody"]["queryResults"]
    assert results["queryName"] == "SimpleEventQuery"
    assert [e["eventID"] for e in results["resultsBody"]["eventList"]] == event_ids(3)
    assert schema_problems(answer) == []
    empty = query_document([], BASE, query_name="ItemTimeline")
    assert empty["epcisBody"]["queryResults"]["queryName"] == "ItemTimeline"
    assert schema_problems(empty) == []
    assert safecode_namespace(BASE + "/") == "http://127.0.0.1:8000/epcis/ns#"


timezones = st.integers(-14 * 4, 14 * 4).map(lambda quarters: timedelta(minutes=15 * quarters))
instants = st.datetimes(datetime(2000, 1, 1), datetime(2025, 6, 1, 12, 0), timezones=st.just(UTC))


@st.composite
def epcis_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of either type, any step, offset, disposition and extension."""
    offset = draw(timezones)
    moment = draw(instants).astimezone(timezone(offset))
    minutes = int(offset.total_seconds()) // 60
    offset_text = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    urls = [item_url(serial, host=BASE) for serial in draw(st.permutations(SERIALS))]
    aggregation = draw(st.booleans())
    step = draw(st.sampled_from(BizStep))
    changes: dict[str, Any] = {
        "eventID": draw(st.uuids()).urn,
        "eventTime": moment.isoformat(),
        "eventTimeZoneOffset": offset_text,
        "bizStep": step.value,
        "disposition": draw(st.sampled_from([None, "in_transit", "dispensed", "recalled"])),
        "safecode:note": draw(
            st.one_of(st.none(), st.text(min_size=1, max_size=20).map(str.strip).filter(bool))
        ),
    }
    if step is BizStep.RECEIVING and draw(st.booleans()):
        changes["safecode:condition"] = draw(st.sampled_from(["damaged", "leaking"]))
        changes["disposition"] = None  # a damaged receipt's disposition is damaged
    if aggregation:
        changes["action"] = draw(st.sampled_from(["ADD", "DELETE"]))
        return aggregation_event(
            parentID=urls[0], childEPCs=urls[1 : draw(st.integers(2, 4))], **changes
        )
    changes["action"] = (
        "ADD"
        if step is BizStep.COMMISSIONING
        else draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"]))
    )
    return object_event(epcList=urls[: draw(st.integers(1, 4))], **changes)


@settings(max_examples=40, deadline=None)
@given(epcis_events(), credit_codes())
def test_what_is_written_validates_and_reads_back_as_it_was(
    event: dict[str, Any], recorder: str
) -> None:
    """Read, recorded, written: the EPCIS schema accepts it, and reading it back gives the
    same event (the bizLocation it carries is now the recorder's)."""
    parsed = parse_one(event)
    written = event_json(stored(parsed, recorder=recorder), BASE)
    assert schema_problems({"@context": document_context(BASE), **written}) == []
    again = parse_one(written)
    assert again == EventInput(**{**vars_of(parsed), "biz_location": recorder, "raw": written})
    assert again.event_time.utcoffset() == parsed.event_time.utcoffset()


def vars_of(event: EventInput) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EventInput.__dataclass_fields__}


# The schema check itself, and the standard's examples


@pytest.mark.parametrize(
    "name",
    [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
        "EPCISQueryDocument.jsonld",
    ],
)
def test_the_standards_examples_pass_the_schema_check(name: str) -> None:
    assert schema_problems(example(name)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("eventTime", "2005-04-03 20:33"),  # date-time: rfc3339-validator must be installed
        ("eventID", "not a uri"),  # uri: our own check
        ("eventTimeZoneOffset", "+8:00"),
        ("bizStep", "urn:epcglobal:cbv:bizstep:shipping"),  # CBV URNs are written short
        ("myField", "an extension without a prefix"),
    ],
)
def test_the_schema_check_finds_what_is_wrong(field: str, value: str) -> None:
    broken = example("Example_9.6.1-ObjectEvent.jsonld")
    broken["epcisBody"]["eventList"][0][field] = value
    assert schema_problems(broken) != []


def _with_our_items(body: dict[str, Any]) -> dict[str, Any]:
    """The example with each GS1 EPC (SGTIN, SSCC) replaced by one of our items' URLs, and
    each GS1 bizLocation (SGLN) by our enterprise's."""
    text = json.dumps(body)
    gs1_ids = sorted(set(re.findall(r'"(urn:epc:id:(?:sgtin|sscc):[^"]+)"', text)))
    for gs1_id, serial in zip(gs1_ids, SERIALS, strict=False):
        text = text.replace(f'"{gs1_id}"', json.dumps(item_url(serial)))
    adapted: dict[str, Any] = json.loads(text)
    body_of = adapted["epcisBody"]
    listed = body_of.get("eventList") or body_of["queryResults"]["resultsBody"]["eventList"]
    for event in listed:
        if "bizLocation" in event:
            event["bizLocation"] = {"id": f"urn:safecode:enterprise:{RECORDER}"}
    return adapted


def test_the_standards_object_events_with_our_items_are_read() -> None:
    shipping, receiving = parse_events(
        _with_our_items(example("Example_9.6.1-ObjectEvent.jsonld")), now=NOW
    )
    assert (shipping.biz_step, shipping.disposition, len(shipping.items)) == (
        BizStep.SHIPPING,
        "in_transit",
        2,
    )
    assert shipping.event_time == datetime(2005, 4, 4, 2, 33, 31, 116000, UTC)
    assert (receiving.biz_step, receiving.time_zone_offset) == (BizStep.RECEIVING, "-06:00")
    assert receiving.items == (shipping.items[1],)
    assert receiving.biz_location == RECORDER


def test_the_standards_query_document_is_refused_but_its_events_are_read() -> None:
    answer = _with_our_items(example("EPCISQueryDocument.jsonld"))
    assert list(problems_of(answer)) == ["type"]
    listed = answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(parse_events(document(*listed), now=NOW)) == 2


def test_the_standards_aggregation_example_meets_our_stricter_rules() -> None:
    """EPCIS allows an OBSERVE of a case and an eventTime written in UTC for an event in
    +02:00; SafeCode records packing and unpacking only, and times in their local offset."""
    adapted = _with_our_items(example("Example_9.6.3-AggregationEvent.jsonld"))
    problems = problems_of(adapted)
    assert sorted(problems) == ["eventList[0].action", "eventList[0].eventTimeZoneOffset"]
    fixed = copy.deepcopy(adapted)
    event = fixed["epcisBody"]["eventList"][0]
    event.update(action="ADD", eventTime="2013-06-08T16:58:56.591+02:00")
    [packing] = parse_events(fixed, now=NOW)
    assert packing.parent is not None
    assert len(packing.items) == 2
