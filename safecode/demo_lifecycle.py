"""The demo's lifecycle: a batch of the demo acetone with packages and cases, a case shipped
by the producer and received by a logistics company, carried on and received by a user
enterprise — and a second case shipped and waiting, for anyone to try a receipt on a phone.

Recorded through the registry's own operations (EPCIS events as an integrator would send
them), so the demo shows what the product does, not what a fixture wrote."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg

from codesvc import lifecycle
from codesvc import storage as codes_db
from codesvc.codes import Code
from registry_api.accounts.operations import Actor, acting_as
from registry_api.accounts.storage import fetch_account_by_mobile
from registry_api.lifecycle.operations import record_events

DEMO_BATCH = "L2026-11-A"
PRODUCER_MOBILE = "13700000001"
CARRIER_MOBILE = "13700000004"  # 太原示范危货运输有限公司, a logistics company
USER_MOBILE = "13700000005"  # 太原示范涂装有限公司, a user enterprise
_CHINA = timezone(timedelta(hours=8))
_PACKAGES = 24
_PER_CASE = 12


async def ensure_demo_lifecycle(
    database_url: str, *, public_base_url: str
) -> list[tuple[str, str]]:
    """(what, scan URL) of the demo batch, a received package and a case awaiting receipt,
    recording them the first time. Needs the demo products to be approved."""
    conn = await asyncpg.connect(database_url)
    try:
        code_id = await conn.fetchval("SELECT code_id FROM products WHERE name_zh = '丙酮'")
        if code_id is None:
            return []
        code = await codes_db.fetch_code(conn, code_id)
        assert code is not None
        code_text = Code(code.code_id, code.key_id, code.signature).text
        batch = await codes_db.fetch_batch(conn, code_id, DEMO_BATCH)
        if batch is None:
            await _record(conn, code_id, code_text, public_base_url)
            batch = await codes_db.fetch_batch(conn, code_id, DEMO_BATCH)
            assert batch is not None
        issues = await codes_db.fetch_item_issues(conn, batch.id)
        cases = await codes_db.fetch_issue_serials(
            conn, next(i.id for i in issues if i.kind == "case"), after_seq=0, limit=2
        )
        items = await codes_db.fetch_issue_serials(
            conn, next(i.id for i in issues if i.kind == "item"), after_seq=0, limit=1
        )
        base = f"{public_base_url}/C/{code_text}/B/{DEMO_BATCH}"
        return [
            (f"丙酮 batch {DEMO_BATCH}", base),
            ("丙酮 package, received by 太原示范涂装有限公司", f"{base}/S/{items[0][1]}"),
            ("丙酮 case shipped, awaiting receipt", f"{base}/S/{cases[1][1]}"),
        ]
    finally:
        await conn.close()


async def _record(conn: Any, code_id: str, code_text: str, public_base_url: str) -> None:
    producer = await _actor(conn, PRODUCER_MOBILE)
    carrier = await _actor(conn, CARRIER_MOBILE)
    user = await _actor(conn, USER_MOBILE)
    async with conn.transaction():
        batch = await lifecycle.declare_batch(
            conn, code_id=code_id, batch_no=DEMO_BATCH, produced_on=date(2026, 11, 2),
            use_by=date(2028, 11, 1), use_by_kind="expiry", quantity=Decimal("4800"), unit="L",
            packaging={"inner": {"kind": "drum", "capacity": 200, "unit": "L"},
                       "outer": {"kind": "other", "capacity": 12, "unit": "pieces"}},
            site="太原化工园区一号罐区", declared_by=f"account/{producer.account.id}",
        )  # fmt: skip
        packages = await lifecycle.issue_items(
            conn, batch, kind="item", count=_PACKAGES, issued_by="demo"
        )
        crates = await lifecycle.issue_items(conn, batch, kind="case", count=2, issued_by="demo")
    items = [
        s
        for _, s in await codes_db.fetch_issue_serials(
            conn, packages.id, after_seq=0, limit=_PACKAGES
        )
    ]
    cases = [
        s for _, s in await codes_db.fetch_issue_serials(conn, crates.id, after_seq=0, limit=2)
    ]

    def url(serial: str) -> str:
        return f"{public_base_url}/C/{code_text}/B/{DEMO_BATCH}/S/{serial}"

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)

    def event(step: str, serials: list[str], hours: float, **extra: Any) -> dict[str, Any]:
        return {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:{uuid.uuid4()}",
            "eventTime": (start + timedelta(hours=hours)).astimezone(_CHINA).isoformat(),
            "eventTimeZoneOffset": "+08:00",
            "action": "ADD" if step == "commissioning" else "OBSERVE",
            "bizStep": step,
            "epcList": [url(s) for s in serials],
            **extra,
        }

    def packing(case: str, inside: list[str], hours: float) -> dict[str, Any]:
        return {
            "type": "AggregationEvent",
            "eventID": f"urn:uuid:{uuid.uuid4()}",
            "eventTime": (start + timedelta(hours=hours)).astimezone(_CHINA).isoformat(),
            "eventTimeZoneOffset": "+08:00",
            "action": "ADD",
            "bizStep": "packing",
            "parentID": url(case),
            "childEPCs": [url(s) for s in inside],
        }

    await record_events(conn, producer, _document(
        event("commissioning", items, 0),
        packing(cases[0], items[:_PER_CASE], 1),
        packing(cases[1], items[_PER_CASE:], 1),
        event("shipping", [cases[0]], 2),
    ))  # fmt: skip
    intact = {"safecode:condition": "intact"}
    await record_events(conn, carrier, event("receiving", [cases[0]], 6, **intact))
    await record_events(conn, carrier, event("shipping", [cases[0]], 20))
    await record_events(conn, user, event("receiving", [cases[0]], 26, **intact))
    opened = event("consuming", [items[1]], 30, disposition="partially_dispensed")
    await record_events(conn, user, opened)
    # The second case is on its way: a receiving clerk can record its receipt on a phone.
    await record_events(conn, producer, event("shipping", [cases[1]], 40))


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat(),
        "epcisBody": {"eventList": list(events)},
    }


async def _actor(conn: Any, mobile: str) -> Actor:
    account = await fetch_account_by_mobile(conn, mobile)
    assert account is not None, f"demo account {mobile} is missing: load the demo registry first"
    return await acting_as(conn, account)
