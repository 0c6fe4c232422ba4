"""An event's time is read by `datetime.fromisoformat` once the RFC 3339 pattern has checked
its form (the quick reading a document of thousands of events needs): it must name the very
instant the parts of the text name, in every spelling RFC 3339 allows, and refuse the same
texts, with the same messages, as the reading field by field did."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_api.lifecycle.epcis import EventsInvalid, parse_events
from tests.registry_api.lifecycle.test_epcis import NOW, object_event

_PARTS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _instant_of_the_parts(text: str) -> datetime | None:
    """The instant the text's parts name, built part by part; None for a day or a time that
    does not exist (30 February, hour 24, second 60)."""
    match = _PARTS.fullmatch(text)
    assert match is not None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset in ("Z", "z"):
        zone = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "").ljust(6, "0")[:6]), tzinfo=zone,
        )  # fmt: skip
    except ValueError:
        return None


@st.composite
def _event_times(draw: st.DrawFn) -> str:
    """RFC 3339 texts around the days that exist: any separator case, 0 to 9 digits of
    fraction, Z or z or an offset within -14:00..+14:00, and impossible days and times."""
    year = draw(st.integers(2000, 2024))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 31))
    hour = draw(st.integers(0, 24))
    minute = draw(st.integers(0, 59))
    second = draw(st.integers(0, 60))
    digits = draw(st.text(alphabet="0123456789", max_size=9))
    fraction = f".{digits}" if digits else ""
    separator = draw(st.sampled_from("Tt"))
    minutes = draw(st.integers(-14 * 60, 14 * 60))
    offset = draw(
        st.sampled_from(
            ["Z", "z", "-00:00", f"{'-' if minutes < 0 else '+'}"
             f"{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"]
        )
    )  # fmt: skip
    return (
        f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}"
        f"{fraction}{offset}"
    )


@given(_event_times())
def test_an_event_time_names_the_instant_its_parts_name(text: str) -> None:
    expected = _instant_of_the_parts(text)
    event = object_event(eventTime=text)
    if expected is not None:  # the offset the time is written in, so only the time is read
        written = expected.utcoffset() or timedelta()
        sign = "-" if written < timedelta() else "+"
        minutes = abs(int(written.total_seconds())) // 60
        event["eventTimeZoneOffset"] = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    try:
        [parsed] = parse_events(event, now=NOW)
    except EventsInvalid as exc:
        problems = exc.problems
    else:
        problems = {}
    if expected is None:
        assert problems == {"eventTime": f"{text} is not a date and time that exists"}
    elif expected < datetime(2000, 1, 1, tzinfo=UTC):  # 2000-01-01T00:00+08:00, say
        assert problems == {"eventTime": "is before 2000: no SafeCode label is that old"}
    else:
        assert problems == {}
        assert parsed.event_time == expected
        assert parsed.event_time.utcoffset() == expected.utcoffset()


def test_hour_24_is_no_time_of_rfc_3339() -> None:
    with pytest.raises(EventsInvalid) as raised:
        parse_events(object_event(eventTime="2025-05-31T24:00:00+08:00"), now=NOW)
    assert raised.value.problems["eventTime"] == (
        "2025-05-31T24:00:00+08:00 is not a date and time that exists"
    )
