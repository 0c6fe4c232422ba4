"""Recording EPCIS events through the API, and reading them back: states, rights, all or
nothing, retries, alerts, timelines and queries (real PostgreSQL and Redis, the real app)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from codesvc import storage as codes_db
from registry_api.lifecycle.operations import ScanAlerts, make_partitions_ahead
from tests.registry_api.conftest import API, Signed
from tests.registry_api.lifecycle.event_world import CARRIER_USCC, Lifecycle, document
from tests.registry_api.lifecycle.test_epcis import schema_problems

T0 = datetime.now(UTC) - timedelta(hours=3)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def record(signed: Signed, body: object) -> httpx.Response:
    return await signed.post("/events", body)


async def states(pool: asyncpg.Pool, serials: list[str]) -> dict[str, tuple[str, int | None]]:
    async with pool.acquire() as conn:
        found = await codes_db.fetch_item_scans(conn, serials)
    return {s: (found[s].item.state, found[s].item.holder) for s in serials}


async def test_a_package_travels_and_its_timeline_is_epcis(
    life: Lifecycle, pool: asyncpg.Pool
) -> None:
    owner, serial = life.world.owner, life.items[0]
    made = await record(owner, document(
        life.event("commissioning", [serial], at=at(0), action="ADD"),
        life.event("shipping", [serial], at=at(10)),
    ))  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["recorded"] == 2
    received = await record(
        life.carrier,
        life.event("receiving", [serial], at=at(60), **{"safecode:condition": "intact"}),
    )
    assert received.status_code == 201, received.text
    assert received.json()["alerts"] == []
    assert await states(pool, [serial]) == {serial: ("received", life.carrier_id)}

    for reader in (owner, life.carrier, life.world.county_reviewer):
        timeline = await reader.get(f"/items/{serial}/events")
        assert timeline.status_code == 200, timeline.text
        assert timeline.headers["content-type"].startswith("application/ld+json")
        body = timeline.json()
        assert schema_problems(body) == []
        events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert [e["bizStep"] for e in events] == ["commissioning", "shipping", "receiving"]
        assert events[2]["epcList"] == [life.url(serial)]
        assert events[2]["safecode:condition"] == "intact"
    # Neither the user enterprise (nothing to do with it) nor another county sees it.
    assert (await life.user.get(f"/items/{serial}/events")).status_code == 404
    assert (
        await life.world.other_county_reviewer.get(f"/items/{serial}/events")
    ).status_code == 404


async def test_a_retry_changes_nothing(life: Lifecycle, pool: asyncpg.Pool) -> None:
    body = document(
        life.event("commissioning", [life.items[0]], at=at(0), action="ADD"),
        life.event("shipping", [life.items[0]], at=at(5)),
    )
    first = await record(life.world.owner, body)
    assert first.status_code == 201, first.text
    again = await record(life.world.owner, body)
    assert again.status_code == 200, again.text
    assert (again.json()["recorded"], again.json()["already_recorded"]) == (0, 2)
    timeline = await life.world.owner.get(f"/items/{life.items[0]}/events")
    events = timeline.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 2
    assert await states(pool, [life.items[0]]) == {life.items[0]: ("shipped", None)}


async def test_a_document_is_recorded_whole_or_not_at_all(
    life: Lifecycle, pool: asyncpg.Pool
) -> None:
    unknown = life.url(life.items[0])[:-13] + "0000000000000"  # check character 0 fits 0s
    bad = life.event("shipping", [life.items[1]], at=at(5))
    bad["epcList"] = [unknown]
    shipped_twice = life.event("shipping", [life.items[2]], at=at(6))
    refused = await record(life.world.owner, document(
        life.event("commissioning", [life.items[0]], at=at(0), action="ADD"),
        bad,
        life.event("shipping", [life.items[2]], at=at(1)),
        shipped_twice,
    ))  # fmt: skip
    assert refused.status_code == 422, refused.text
    fields = refused.json()["error"]["fields"]
    assert set(fields) == {"eventList[1].epcList[0]", "eventList[3].epcList[0]"}
    assert "never issued" in fields["eventList[1].epcList[0]"]
    assert "already shipped" in fields["eventList[3].epcList[0]"]
    # Nothing of it was stored: the good events are not in the timeline, states unchanged.
    assert await states(pool, life.items[:3]) == {s: ("issued", None) for s in life.items[:3]}
    timeline = await life.world.owner.get(f"/items/{life.items[0]}/events")
    assert timeline.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


async def test_who_may_record_what(life: Lifecycle) -> None:
    serial = life.items[0]
    foreign = await record(life.carrier, life.event("commissioning", [serial], action="ADD"))
    assert foreign.status_code == 422
    assert "only the enterprise whose product" in foreign.json()["error"]["fields"]["epcList[0]"]
    not_held = await record(life.user, life.event("destroying", [serial]))
    assert not_held.status_code == 422
    assert "held by another enterprise" in not_held.json()["error"]["fields"]["epcList[0]"]
    regulator = await record(life.world.county_reviewer, life.event("shipping", [serial]))
    assert regulator.status_code == 403
    anonymous = await life.world.client.post(f"{API}/events", json=life.event("shipping", [serial]))
    assert anonymous.status_code == 401
    elsewhere = life.event("shipping", [serial])
    elsewhere["bizLocation"] = {"id": f"urn:safecode:enterprise:{CARRIER_USCC}"}
    wrong_place = await record(life.world.owner, elsewhere)
    assert wrong_place.status_code == 422
    assert "bizLocation" in wrong_place.json()["error"]["fields"]


async def test_events_of_an_item_are_recorded_in_time_order(life: Lifecycle) -> None:
    serial = life.items[0]
    shipped = await record(life.world.owner, life.event("shipping", [serial], at=at(30)))
    assert shipped.status_code == 201
    earlier = await record(life.carrier, life.event("receiving", [serial], at=at(20)))
    assert earlier.status_code == 422
    assert (
        "before the item's last recorded event" in earlier.json()["error"]["fields"]["epcList[0]"]
    )


async def test_a_receipt_without_a_shipment_between_raises_an_alert(
    life: Lifecycle, pool: asyncpg.Pool
) -> None:
    serial = life.items[0]
    await record(life.world.owner, life.event("shipping", [serial], at=at(0)))
    first = await record(life.carrier, life.event("receiving", [serial], at=at(10)))
    assert first.json()["alerts"] == []
    second = await record(life.user, life.event("receiving", [serial], at=at(20)))
    assert second.status_code == 201, second.text
    assert [a["kind"] for a in second.json()["alerts"]] == ["double_receipt"]
    assert await states(pool, [serial]) == {serial: ("received", life.user_id)}

    listed = await life.world.owner.get("/alerts")
    assert listed.status_code == 200, listed.text
    (alert,) = listed.json()["alerts"]
    assert (alert["kind"], alert["serial"], alert["batch_no"]) == (
        "double_receipt",
        serial,
        "L2026-11-A",
    )
    assert alert["evidence"]["received_by"] == life.carrier_id
    assert alert["evidence"]["then_received_by"] == life.user_id
    assert [
        a["id"] for a in (await life.world.county_reviewer.get("/alerts")).json()["alerts"]
    ] == [alert["id"]]
    assert (await life.world.other_county_reviewer.get("/alerts")).json()["alerts"] == []
    assert (await life.carrier.get("/alerts")).json()["alerts"] == []  # not its product

    # The item's scan page now carries a caution.
    await life.world.relay.drain()
    path = life.url(serial).removeprefix("http://127.0.0.1:8000")
    page = await life.world.resolver.get(path, params={"lang": "en"})
    assert page.status_code == 200
    day = datetime.now(UTC).date().isoformat()
    assert f"serial on {day}: check it with the supplier" in page.text


async def test_two_receipts_at_once_one_recorded_one_alert(
    life: Lifecycle, pool: asyncpg.Pool
) -> None:
    serial = life.items[0]
    await record(life.world.owner, life.event("shipping", [serial], at=at(0)))
    answers = await asyncio.gather(
        record(life.carrier, life.event("receiving", [serial], at=at(10))),
        record(life.user, life.event("receiving", [serial], at=at(11))),
    )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    alerts = [alert for a in answers for alert in a.json()["alerts"]]
    assert [a["kind"] for a in alerts] == ["double_receipt"]
    timeline = await life.world.owner.get(f"/items/{serial}/events")
    steps = [
        e["bizStep"]
        for e in timeline.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ]
    assert steps == ["shipping", "receiving", "receiving"]


async def test_an_item_met_after_its_end_is_recorded_with_an_alert(
    life: Lifecycle, pool: asyncpg.Pool
) -> None:
    serial = life.items[0]
    destroyed = await record(life.world.owner, life.event("destroying", [serial], at=at(0)))
    assert destroyed.status_code == 201, destroyed.text
    again = await record(life.carrier, life.event("receiving", [serial], at=at(10)))
    assert again.status_code == 201, again.text
    assert [a["kind"] for a in again.json()["alerts"]] == ["after_end"]
    assert (await states(pool, [serial]))[serial][0] == "destroyed"
    shipped = await record(life.world.owner, life.event("shipping", [serial], at=at(20)))
    assert shipped.status_code == 422  # shipping a destroyed package is not evidence: refused


async def test_receiving_a_case_receives_what_is_packed_in_it(
    life: Lifecycle, pool: asyncpg.Pool
) -> None:
    case, inside = life.cases[0], life.items[:3]
    packed = await record(life.world.owner, {
        "type": "AggregationEvent",
        "eventID": "urn:uuid:0b0e1c7a-4a55-4e2b-9a70-3d1c2b4f5a61",
        "eventTime": at(0).isoformat(),
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "packing",
        "parentID": life.url(case),
        "childEPCs": [life.url(s) for s in inside],
    })  # fmt: skip
    assert packed.status_code == 201, packed.text
    await record(life.world.owner, life.event("shipping", [case], at=at(5)))
    received = await record(life.carrier, life.event("receiving", [case], at=at(50)))
    assert received.status_code == 201, received.text
    found = await states(pool, [case, *inside, life.items[3]])
    assert found == {
        case: ("received", life.carrier_id),
        **{s: ("received", life.carrier_id) for s in inside},
        life.items[3]: ("issued", None),  # not in the case
    }
    timeline = await life.carrier.get(f"/items/{inside[0]}/events")
    events = timeline.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["packing", "shipping", "receiving"]


async def test_event_queries_page_and_keep_to_scope(life: Lifecycle) -> None:
    owner = life.world.owner
    for minute, serial in enumerate(life.items[:5]):
        made = await record(owner, life.event("shipping", [serial], at=at(minute)))
        assert made.status_code == 201
    await record(life.carrier, life.event("receiving", [life.items[0]], at=at(30)))

    seen: list[str] = []
    url = f"{API}/events?code={life.code_id}&perPage=2"
    while url:
        page = await life.world.client.get(url, headers=owner.headers())
        assert page.status_code == 200, page.text
        assert schema_problems(page.json()) == []
        seen += [
            e["eventID"]
            for e in page.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]
        link = page.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else ""
    assert len(seen) == len(set(seen)) == 6

    shipping = await owner.get(f"/events?code={life.code_id}&batch=L2026-11-A&bizStep=shipping")
    assert len(shipping.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 5
    # The carrier reads, of the code, only what it recorded itself.
    carrier = await life.carrier.get(f"/events?code={life.code_id}")
    steps = [
        e["bizStep"]
        for e in carrier.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ]
    assert steps == ["receiving"]
    assert (
        await life.world.other_county_reviewer.get(f"/events?code={life.code_id}")
    ).status_code == 404
    bad = await owner.get("/events?nextPageToken=nonsense&GE_eventTime=yesterday")
    assert bad.status_code == 422
    assert {"GE_eventTime"} <= set(bad.json()["error"]["fields"])


async def test_a_recorder_reads_the_timeline_after_handing_the_item_on(life: Lifecycle) -> None:
    serial = life.items[0]
    steps = [
        (life.world.owner, life.event("commissioning", [serial], at=at(0), action="ADD")),
        (life.world.owner, life.event("shipping", [serial], at=at(10))),
        (life.carrier, life.event("receiving", [serial], at=at(60))),
        (life.carrier, life.event("shipping", [serial], at=at(70))),
        (life.user, life.event("receiving", [serial], at=at(120))),
    ]
    for signed, event in steps:
        made = await record(signed, event)
        assert made.status_code == 201, made.text
    expected = ["commissioning", "shipping", "receiving", "shipping", "receiving"]
    # The carrier no longer holds it but recorded two of its events; the user holds it.
    for reader in (life.carrier, life.user, life.world.county_reviewer):
        timeline = await reader.get(f"/items/{serial}/events")
        assert timeline.status_code == 200, timeline.text
        events = timeline.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert [e["bizStep"] for e in events] == expected
    assert (
        await life.world.other_county_reviewer.get(f"/items/{serial}/events")
    ).status_code == 404

    # Two at a time, each page after the last: every event once, oldest first.
    seen: list[str] = []
    url = f"{API}/items/{serial}/events?perPage=2"
    while url:
        page = await life.world.client.get(url, headers=life.world.owner.headers())
        assert page.status_code == 200, page.text
        assert schema_problems(page.json()) == []
        seen += [
            e["bizStep"]
            for e in page.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]
        link = page.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else ""
    assert seen == expected


async def test_scan_flags_become_alerts(life: Lifecycle, pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await codes_db.add_scan_flags(conn, [
            ("not_issued", life.code_id, "L2026-11-A", "7Y3K9Q2M4X8RT", now.date(), 3, now, now),
            ("batch_scans", life.code_id, "L2026-11-A", None, now.date(), 500, now, now),
        ])  # fmt: skip
    scan_alerts = ScanAlerts()
    assert await scan_alerts(pool) == 2
    assert await scan_alerts(pool) == 2  # read again: the same two alerts, not four
    listed = (await life.world.owner.get("/alerts")).json()["alerts"]
    by_kind = {a["kind"]: a for a in listed}
    assert set(by_kind) == {"never_issued", "over_quantity"}
    assert by_kind["never_issued"]["occurrences"] == 3
    # 8 packages issued: ten scans each would be 80, and the floor is 50.
    assert by_kind["over_quantity"]["evidence"] == {
        "batch_no": "L2026-11-A",
        "scans": 500,
        "packages": 8,
        "alert_above": 80,
    }


async def test_partitions_are_made_ahead_once(pool: asyncpg.Pool) -> None:
    # The month two ahead (the furthest the relay makes) has no partitions yet: its three
    # tables (events, their items, their batches) are made, once.
    this_month = datetime.now(UTC).replace(day=1)
    month = (this_month + timedelta(days=31 * 2)).strftime("%Y%m")
    parents = ("lifecycle_events", "lifecycle_item_events", "lifecycle_batch_events")
    async with pool.acquire() as conn:
        for parent in parents:
            await conn.execute(f"DROP TABLE IF EXISTS {parent}_{month}")
    assert await make_partitions_ahead(pool) == 3
    assert await make_partitions_ahead(pool) == 0
    async with pool.acquire() as conn:
        for parent in parents:
            table = f"{parent}_{month}"
            assert await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table), table
