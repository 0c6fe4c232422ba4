"""The lifecycle in the console, over HTTP as a browser without JavaScript uses it: a
receiving clerk follows the item's scan page to the receipt page, signs in, and records the
receipt with one tap; the item's page shows its timeline to those the API shows it to; the
alerts page shows each alert with its evidence, in scope only."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape

import asyncpg
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesvc import storage as codes_db
from codesvc.codes import Code
from console.lifecycle import evidence_words
from console.receipts import receiving_event
from public_site.pages import Lang
from registry_api.lifecycle.epcis import CONDITIONS, MAX_NOTE_LENGTH, parse_events
from registry_api.lifecycle.storage import AlertRow
from tests.console.conftest import CONSOLE, Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD, Signed
from tests.registry_api.lifecycle import event_world
from tests.registry_api.lifecycle.event_world import BASE, Lifecycle
from tests.registry_api.world import OWNER_MOBILE

life = event_world.life  # the fixture: the world with a batch, its items and two receivers

CARRIER_MOBILE, USER_MOBILE = "13700000031", "13700000032"
COUNTY_REVIEWER, OTHER_COUNTY_REVIEWER = "13900000205", "13900000207"
CARRIER_NAME, USER_NAME = "太原示范危货运输有限公司", "太原示范涂装有限公司"
_RECEIVE_LINK = re.compile(r'<a href="(/console/receive/[^"]+)"')
_NEXT = re.compile(r'name="next" value="([^"]*)"')


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


async def _record(signed: Signed, body: object) -> None:
    answer = await signed.post("/events", body)
    assert answer.status_code == 201, answer.text


async def _shipped(life: Lifecycle, serial: str) -> None:
    """The owner commissions the package and ships it, an hour ago."""
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await _record(
        life.world.owner, life.event("commissioning", [serial], at=hour_ago, action="ADD")
    )
    await _record(life.world.owner, life.event("shipping", [serial], at=hour_ago))


@pytest.fixture(name="shipped")
async def shipped_fixture(life: Lifecycle) -> str:
    """The world's first item, commissioned and shipped by its owner an hour ago."""
    serial = life.items[0]
    await _shipped(life, serial)
    return serial


async def _state(pool: asyncpg.Pool, serial: str) -> tuple[str, int | None]:
    async with pool.acquire() as conn:
        found = await codes_db.fetch_item_scans(conn, [serial])
    return found[serial].item.state, found[serial].item.holder


async def _steps(life: Lifecycle, serial: str) -> list[str]:
    timeline = await life.world.owner.get(f"/items/{serial}/events")
    assert timeline.status_code == 200, timeline.text
    events = timeline.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return [e["bizStep"] for e in events]


async def _receive(clerk: Person, serial: str, **fields: str) -> httpx.Response:
    """The receipt page's one form, sent as the page filled it in (intact unless told)."""
    return await clerk.submit(f"/receive/{serial}", fields={"condition": "intact", **fields})


async def test_the_scan_page_leads_a_clerk_through_sign_in_back_to_the_receipt(
    life: Lifecycle, shipped: str, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    await life.world.relay.drain()
    scanned = await life.world.resolver.get(life.url(serial).removeprefix(BASE))
    assert scanned.status_code == 200, scanned.text
    assert "收货登记" in text_of(scanned)
    (link,) = [unescape(found) for found in _RECEIVE_LINK.findall(scanned.text)]
    assert link == f"{CONSOLE}/receive/{serial}"

    clerk = new_person()
    sent = await clerk.client.get(link)
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(f"{CONSOLE}/sign-in?")
    form = await clerk.client.get(sent.headers["location"])
    found = _NEXT.search(form.text)
    assert found is not None
    assert unescape(found.group(1)) == link
    signed = await clerk.submit(
        sent.headers["location"].removeprefix(CONSOLE),
        "/sign-in",
        {"mobile": CARRIER_MOBILE, "password": GOOD_PASSWORD, "next": link},
    )
    assert httpx.URL(signed.headers["location"]).path == link
    back = await clerk.follow(signed)
    assert back.status_code == 200, text_of(back)
    shown = text_of(back)
    # The transport view of what arrived, and the one form.
    for expected in ("丙酮", "UN1090", "3 · 易燃液体", "II", "L2026-11-A", "已发货", "确认收货"):
        assert expected in shown, expected
    assert back.text.count("<form") == 2  # the receipt, and signing out in the header
    assert re.search(r'value="intact" checked', back.text)

    english = await clerk.client.get(link, headers={"Accept-Language": "en"})
    assert english.status_code == 200
    assert "Record receipt" in text_of(english)
    assert "Flammable liquids" in text_of(english)


async def test_a_logistics_clerk_records_a_receipt_with_one_post(
    life: Lifecycle, shipped: str, pool: asyncpg.Pool, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    clerk = await _person(new_person, CARRIER_MOBILE)
    sent = await _receive(clerk, serial, note="封条完好")
    assert sent.status_code == 303, text_of(sent)
    assert sent.headers["location"] == f"{CONSOLE}/items/{serial}?receipt=recorded"
    assert await _state(pool, serial) == ("received", life.carrier_id)
    assert await _steps(life, serial) == ["commissioning", "shipping", "receiving"]

    item = await clerk.follow(sent)
    assert item.status_code == 200, text_of(item)
    shown = text_of(item)
    assert "已登记收货" in shown
    assert "已收货" in shown  # the state
    timeline = shown[shown.index("流转记录") :]
    for expected in ("赋码", "发货", "收货", CARRIER_NAME, "完好", "封条完好", "+08:00"):
        assert expected in timeline, expected


async def test_the_form_sent_twice_records_the_receipt_once(
    life: Lifecycle, shipped: str, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    clerk = await _person(new_person, CARRIER_MOBILE)
    form = await clerk.get(f"/receive/{serial}")
    receipt_id = re.search(r'name="receipt_id" value="([^"]+)"', form.text)
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', form.text)
    assert receipt_id is not None
    assert token is not None
    data = {"condition": "intact", "receipt_id": receipt_id.group(1), "csrf": token.group(1)}
    for _ in range(2):  # a double tap, or the form sent again after a dropped connection
        sent = await clerk.client.post(f"{CONSOLE}/receive/{serial}", data=data)
        assert sent.status_code == 303, text_of(sent)
    assert await _steps(life, serial) == ["commissioning", "shipping", "receiving"]


async def test_a_damaged_package_is_quarantined(
    life: Lifecycle, shipped: str, pool: asyncpg.Pool, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    clerk = await _person(new_person, USER_MOBILE)
    sent = await _receive(clerk, serial, condition="leaking", note="桶底渗漏")
    assert sent.status_code == 303, text_of(sent)
    assert await _state(pool, serial) == ("quarantined", life.user_id)
    shown = text_of(await clerk.follow(sent))
    assert "已隔离" in shown
    assert "泄漏" in shown
    assert "桶底渗漏" in shown


async def test_a_case_is_received_with_what_it_holds(
    life: Lifecycle, pool: asyncpg.Pool, new_person: Callable[[], Person]
) -> None:
    case, inside = life.cases[0], life.items[:3]
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    packing = life.event("packing", [], at=hour_ago, action="ADD")
    del packing["epcList"]
    packing |= {"type": "AggregationEvent", "parentID": life.url(case)}
    packing["childEPCs"] = [life.url(s) for s in inside]
    await _record(life.world.owner, packing)
    await _record(life.world.owner, life.event("shipping", [case], at=hour_ago))
    clerk = await _person(new_person, CARRIER_MOBILE)
    page = await clerk.get(f"/receive/{case}")
    assert page.status_code == 200, text_of(page)
    assert "共 3 件，随之一并收货" in text_of(page)
    sent = await _receive(clerk, case)
    assert sent.status_code == 303, text_of(sent)
    for serial in (case, *inside):
        assert await _state(pool, serial) == ("received", life.carrier_id)
    item = await clerk.get(f"/items/{inside[0]}")
    assert item.status_code == 200, text_of(item)
    assert f"随 {case}" in text_of(item)  # received with its case, not named itself


async def test_a_refused_receipt_is_explained_and_records_nothing(
    life: Lifecycle, pool: asyncpg.Pool, new_person: Callable[[], Person]
) -> None:
    """Shipped by a clock a few minutes ahead: a receipt now would be recorded before it."""
    serial = life.items[0]
    ahead = datetime.now(UTC) + timedelta(minutes=4)
    await _record(life.world.owner, life.event("shipping", [serial], at=ahead))
    clerk = await _person(new_person, CARRIER_MOBILE)
    sent = await _receive(clerk, serial, note="到货")
    assert sent.status_code == 422, text_of(sent)
    shown = text_of(sent)
    assert "未登记" in shown
    assert "晚于现在" in shown
    assert "到货" in shown  # what was typed is kept
    assert await _state(pool, serial) == ("shipped", None)
    assert await _steps(life, serial) == ["shipping"]


async def test_a_session_ended_while_the_form_was_open_signs_in_and_comes_back(
    shipped: str, pool: asyncpg.Pool, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    clerk = await _person(new_person, CARRIER_MOBILE)
    token = await clerk.token(f"/receive/{serial}")
    signed_out = await clerk.submit(f"/receive/{serial}", "/sign-out")
    assert signed_out.status_code == 303
    sent = await clerk.client.post(
        f"{CONSOLE}/receive/{serial}", data={"condition": "intact", "csrf": token}
    )
    assert sent.status_code == 303
    location = httpx.URL(sent.headers["location"])
    assert location.path == f"{CONSOLE}/sign-in"
    assert location.params["next"] == f"{CONSOLE}/receive/{serial}"
    assert await _state(pool, serial) == ("shipped", None)


async def test_regulators_do_not_record_receipts(
    shipped: str, pool: asyncpg.Pool, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    reviewer = await _person(new_person, COUNTY_REVIEWER)
    page = await reviewer.get(f"/receive/{serial}")
    assert page.status_code == 403
    assert "监管账号不登记收货" in text_of(page)
    sent = await reviewer.client.post(
        f"{CONSOLE}/receive/{serial}",
        data={"condition": "intact", "csrf": await reviewer.token("/alerts")},
    )
    assert sent.status_code == 403
    assert await _state(pool, serial) == ("shipped", None)
    outsider = await _person(new_person, OTHER_COUNTY_REVIEWER)
    assert (await outsider.get(f"/receive/{serial}")).status_code == 404


async def test_a_form_without_its_token_changes_nothing(
    life: Lifecycle, shipped: str, pool: asyncpg.Pool, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    clerk = await _person(new_person, CARRIER_MOBILE)
    forged = await clerk.client.post(f"{CONSOLE}/receive/{serial}", data={"condition": "intact"})
    assert forged.status_code == 403
    assert "未做任何更改" in text_of(forged)
    assert await _state(pool, serial) == ("shipped", None)
    assert await _steps(life, serial) == ["commissioning", "shipping"]


async def test_the_item_page_is_for_those_the_api_shows_it_to(
    shipped: str, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    clerk = await _person(new_person, CARRIER_MOBILE)
    assert (await _receive(clerk, serial)).status_code == 303
    for mobile in (OWNER_MOBILE, CARRIER_MOBILE, COUNTY_REVIEWER):
        reader = clerk if mobile == CARRIER_MOBILE else await _person(new_person, mobile)
        page = await reader.get(f"/items/{serial}")
        assert page.status_code == 200, (mobile, text_of(page))
        assert "收货" in text_of(page)
    for mobile in (USER_MOBILE, OTHER_COUNTY_REVIEWER):
        stranger = await _person(new_person, mobile)
        page = await stranger.get(f"/items/{serial}")
        assert page.status_code == 404, mobile
        assert "丙酮" not in text_of(page)
    unknown = await clerk.get("/items/0000000000000")
    assert unknown.status_code == 404


async def test_a_double_receipt_is_an_alert_with_its_evidence_in_scope(
    shipped: str, new_person: Callable[[], Person]
) -> None:
    serial = shipped
    carrier = await _person(new_person, CARRIER_MOBILE)
    assert (await _receive(carrier, serial)).status_code == 303
    user = await _person(new_person, USER_MOBILE)
    second = await _receive(user, serial)
    # Not an error: recorded, and the clerk is told an alert was raised.
    assert second.status_code == 303, text_of(second)
    assert second.headers["location"].endswith("?receipt=double_receipt")
    told = text_of(await user.follow(second))
    assert "已登记收货" in told
    assert "发出警示" in told

    reviewer = await _person(new_person, COUNTY_REVIEWER)
    listed = await reviewer.get("/alerts")
    assert listed.status_code == 200, text_of(listed)
    shown = text_of(listed)
    assert f"{CARRIER_NAME} 于 " in shown
    assert f"登记收货后，{USER_NAME} 又登记收货，其间没有发货记录" in shown
    assert f'href="{CONSOLE}/items/{serial}"' in listed.text
    filtered = await reviewer.get("/alerts", kind="over_quantity")
    assert "没有警示" in text_of(filtered)
    assert "其间没有发货记录" not in text_of(filtered)

    owner = await _person(new_person, OWNER_MOBILE)
    owners = await owner.get("/alerts")
    # The owner reads the other enterprises' names nowhere: they stay numbered.
    assert "又登记收货，其间没有发货记录" in text_of(owners)
    assert "警示" in text_of(await owner.get("/enterprise"))  # in the navigation
    for mobile in (OTHER_COUNTY_REVIEWER, CARRIER_MOBILE):  # not theirs: none
        other = carrier if mobile == CARRIER_MOBILE else await _person(new_person, mobile)
        page = await other.get("/alerts")
        assert page.status_code == 200
        assert "没有警示" in text_of(page)
        assert serial not in page.text


_NOW = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
_CODE = Code("14ABCDEFGHJKMNPQ", "AA", bytes(range(64))).text
_ITEM_URL = f"{BASE}/C/{_CODE}/B/L2026-11-A/S/0000000000000"


@given(
    condition=st.sampled_from(CONDITIONS),
    note=st.none() | st.text(min_size=1, max_size=MAX_NOTE_LENGTH).filter(str.strip),
    event_id=st.uuids(),
)
def test_the_receipt_form_sends_an_event_the_registry_reads_back(
    condition: str, note: str | None, event_id: object
) -> None:
    """Whatever the clerk chose and typed, the event is one the registry accepts, naming
    the package, its condition and the note, at the moment the tap came, in Beijing time;
    a damaged or leaking package is received damaged (and so quarantined)."""
    event = receiving_event(
        event_id=str(event_id), item_url=_ITEM_URL, condition=condition, note=note, now=_NOW
    )
    (read,) = parse_events(event, now=_NOW)
    assert read.event_id == f"urn:uuid:{event_id}"
    assert read.biz_step.value == "receiving"
    assert [ref.serial for ref in read.items] == ["0000000000000"]
    assert read.event_time == _NOW
    assert read.time_zone_offset == "+08:00"
    assert read.condition == condition
    assert read.note == (note.strip() if note else None)
    assert (read.disposition == "damaged") == (condition != "intact")


_EVIDENCE_KEYS = (
    "received_by", "then_received_by", "received_at", "recorder", "state", "since", "step",
    "scans", "day", "first_at", "last_at", "packages", "alert_above", "batch_no", "detail",
)  # fmt: skip


@given(
    kind=st.sampled_from(["double_receipt", "after_end", "never_issued", "over_quantity"]),
    evidence=st.dictionaries(
        st.sampled_from(_EVIDENCE_KEYS),
        st.none() | st.integers() | st.text(max_size=30) | st.booleans(),
    ),
    lang=st.sampled_from(["zh", "en"]),
)
def test_an_alert_is_put_in_words_whatever_its_evidence_holds(
    kind: str, evidence: dict[str, object], lang: Lang
) -> None:
    alert = AlertRow(
        id=1, kind=kind, enterprise_id=7, enterprise_name="太原示范化工有限公司",
        code_id="14ABCDEFGHJKMNPQ", batch_id=None, batch_no=None, serial=None,
        evidence=evidence, occurrences=1, raised_at=_NOW, last_at=_NOW,
    )  # fmt: skip
    words = evidence_words(alert, {7: "太原示范化工有限公司"}, lang)
    assert words
