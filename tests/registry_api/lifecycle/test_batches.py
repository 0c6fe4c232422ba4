"""Batches, item serials and recalls through the registry's HTTP API, on real PostgreSQL and
Redis: declaring a batch of an approved product, issuing serials and reading them back as
CSV, PDF sheets and single QR codes, reading an item, recalling a batch and seeing the
recall on the resolver's scans; who may do each, every bad field named, and nothing
changed by a refused request. The CSV and field rules also as properties of pure code."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import asyncpg
import pypdfium2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesvc import lifecycle
from codesvc import storage as codes_db
from codesvc.serials import check_character, new_serials, parse_serial
from registry_api.errors import ValidationFailed
from registry_api.forms import validate_form
from registry_api.lifecycle import prints
from registry_api.lifecycle.batch_forms import BatchForm
from tests.conftest import pdf_text
from tests.qr_reading import qr_texts
from tests.registry_api.conftest import API
from tests.registry_api.lifecycle.batch_world import (  # noqa: F401 (the fixture)
    BASE,
    Batches,
    batch_body,
    batches_fixture,
)

# --- batches ------------------------------------------------------------------------------


async def test_the_enterprise_declares_a_batch_and_regulators_in_scope_read_it(
    batches: Batches,
) -> None:
    made = await batches.declare()
    code_text = urlsplit(made["scan_url"]).path.split("/")[2]
    # As the QR carries it: upper case throughout (QR alphanumeric mode).
    assert made["scan_url"] == f"{BASE.upper()}/C/{code_text}/B/LOT-2026-11"
    assert code_text.startswith(batches.code_id.replace("-", ""))
    assert made["code_id"] == batches.code_id
    assert made["product_id"] == batches.product_id
    assert made["enterprise_id"] == batches.world.enterprise_id
    assert made["quantity"] == 1600.5
    assert made["packaging"] == {
        "inner": {"kind": "drum", "capacity": 200, "unit": "L"},
        "outer": {"kind": "other", "capacity": 4, "unit": "pieces"},
    }
    assert made["recall"] is None
    assert made["recalls"] == made["item_issues"] == []
    assert made["produced_on"] == (date.today() - timedelta(days=7)).isoformat()

    for reader in (batches.owner, batches.world.county_viewer, batches.world.province_reviewer):
        one = await reader.get(f"/batches/{made['id']}")
        assert one.status_code == 200, one.text
        assert one.json() == made
        listed = await reader.get(f"/products/{batches.product_id}/batches")
        assert listed.status_code == 200
        assert [b["batch_no"] for b in listed.json()["batches"]] == ["LOT-2026-11"]
    for outsider in (batches.world.other_county_reviewer, batches.other):
        assert (await outsider.get(f"/batches/{made['id']}")).status_code == 404
        listed = await outsider.get(f"/products/{batches.product_id}/batches")
        assert listed.status_code == 404


async def test_a_declared_batch_is_what_its_scan_shows(batches: Batches) -> None:
    made = await batches.declare(quantity=25, site=None)
    scanned = await batches.scan(made["scan_url"])
    assert scanned.status_code == 200, scanned.text
    shown = scanned.json()["batch"]
    assert shown["status"] == "declared"
    assert shown["batch_no"] == "LOT-2026-11"
    assert shown["quantity"] == "25"
    assert shown["packaging"]["inner"] == {"kind": "drum", "capacity": "200", "unit": "L"}
    assert shown["recall"] is None


async def test_batches_are_listed_newest_first_a_page_at_a_time(batches: Batches) -> None:
    for number in range(5):
        await batches.declare(f"LOT-{number}")
    path = f"/products/{batches.product_id}/batches"
    first = (await batches.owner.get(f"{path}?limit=2")).json()
    assert [b["batch_no"] for b in first["batches"]] == ["LOT-4", "LOT-3"]
    second = (await batches.owner.get(f"{path}?limit=2&before={first['next_before']}")).json()
    assert [b["batch_no"] for b in second["batches"]] == ["LOT-2", "LOT-1"]
    last = (await batches.owner.get(f"{path}?limit=2&before={second['next_before']}")).json()
    assert [b["batch_no"] for b in last["batches"]] == ["LOT-0"]
    assert last["next_before"] is None
    bad = await batches.owner.get(f"{path}?limit=0&before=x")
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"limit", "before"}


async def test_a_product_without_a_code_has_no_batches_yet(batches: Batches) -> None:
    refused = await batches.owner.post(
        f"/products/{batches.draft_product_id}/batches", batch_body()
    )
    assert refused.status_code == 409
    assert "no code yet" in refused.json()["error"]["message"]
    listed = await batches.owner.get(f"/products/{batches.draft_product_id}/batches")
    assert listed.json() == {"batches": [], "next_before": None}


async def test_a_batch_number_is_declared_once_per_product(batches: Batches) -> None:
    first = await batches.declare()
    again = await batches.owner.post(
        f"/products/{batches.product_id}/batches", batch_body(quantity=9)
    )
    assert again.status_code == 409
    assert set(again.json()["error"]["fields"]) == {"batch_no"}
    listed = (await batches.owner.get(f"/products/{batches.product_id}/batches")).json()
    assert [b["quantity"] for b in listed["batches"]] == [first["quantity"]]


async def test_every_bad_field_of_a_batch_is_named_and_nothing_is_declared(
    batches: Batches,
) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    body = batch_body(
        batch_no="lot-2026-11",
        produced_on=tomorrow,
        use_by="2026-02-30",
        use_by_kind="best_before",
        quantity=12.3456,
        unit="lbs",
        packaging={"inner": {"kind": "crate", "capacity": 0, "unit": "kg"}, "outer": "none"},
        site=" ",
        colour="red",
    )
    refused = await batches.owner.post(f"/products/{batches.product_id}/batches", body)
    assert refused.status_code == 422
    fields = refused.json()["error"]["fields"]
    assert set(fields) == {
        "batch_no", "produced_on", "use_by", "use_by_kind", "quantity", "unit",
        "packaging.inner.kind", "packaging.inner.capacity", "packaging.outer", "site", "colour",
    }  # fmt: skip
    assert "upper case" in fields["batch_no"]
    assert "LOT-2026-11" in fields["batch_no"]
    assert "after today" in fields["produced_on"]
    assert "calendar" in fields["use_by"]
    assert "3 decimals" in fields["quantity"]

    more = batch_body(
        batch_no="LOT 1",
        use_by=(date.today() - timedelta(days=8)).isoformat(),
        quantity="12",
        packaging={"inner": {"kind": "drum", "capacity": 10**6 + 1, "unit": "L"}},
    )
    refused = await batches.owner.post(f"/products/{batches.product_id}/batches", more)
    fields = refused.json()["error"]["fields"]
    assert set(fields) == {"batch_no", "use_by", "quantity", "packaging.inner.capacity"}
    assert "produced_on" in fields["use_by"]
    assert "must be a number" in fields["quantity"]
    for quantity in (0, -1, 10**12 + 1, True):
        refused = await batches.owner.post(
            f"/products/{batches.product_id}/batches", batch_body(quantity=quantity)
        )
        assert set(refused.json()["error"]["fields"]) == {"quantity"}, quantity
    assert (await batches.owner.get(f"/products/{batches.product_id}/batches")).json()[
        "batches"
    ] == []


async def test_only_the_products_enterprise_declares_its_batches(batches: Batches) -> None:
    path = f"/products/{batches.product_id}/batches"
    anonymous = await batches.world.client.post(API + path, json=batch_body())
    assert anonymous.status_code == 401
    assert (await batches.world.county_reviewer.post(path, batch_body())).status_code == 403
    assert (await batches.county_admin.post(path, batch_body())).status_code == 403
    assert (await batches.world.other_county_reviewer.post(path, batch_body())).status_code == 404
    assert (await batches.other.post(path, batch_body())).status_code == 404
    assert (await batches.owner.get(path)).json()["batches"] == []


async def test_declaring_a_batch_is_audited(batches: Batches, pool: asyncpg.Pool) -> None:
    made = await batches.declare()
    async with pool.acquire() as conn:
        entry = await conn.fetchrow(
            "SELECT actor_id, action, changes FROM audit_log "
            "WHERE subject_type = 'batch' AND subject_id = $1",
            str(made["id"]),
        )
    assert entry is not None
    assert entry["actor_id"] == batches.owner.account_id
    assert entry["action"] == "batch.declare"
    assert '"LOT-2026-11"' in entry["changes"]


# --- items ----------------------------------------------------------------------------------


async def test_serials_are_issued_and_read_back_as_csv(
    batches: Batches, pool: asyncpg.Pool
) -> None:
    made = await batches.declare()
    issued = await batches.issue(made["id"], 3, "case")
    assert issued["count"] == 3
    assert issued["kind"] == "case"
    assert issued["serials_csv"] == f"{API}/item-issues/{issued['id']}/serials.csv"
    answer = await batches.world.client.get(issued["serials_csv"], headers=batches.owner.headers())
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["seq", "serial", "url"]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3"]
    for _, serial, url in rows[1:]:
        assert url == f"{made['scan_url']}/S/{serial}"
    shown = (await batches.owner.get(f"/batches/{made['id']}")).json()
    assert [(i["id"], i["count"], i["kind"]) for i in shown["item_issues"]] == [
        (issued["id"], 3, "case")
    ]
    async with pool.acquire() as conn:
        action = await conn.fetchval(
            "SELECT action FROM audit_log WHERE subject_type = 'batch' ORDER BY id DESC LIMIT 1"
        )
    assert action == "batch.issue_items"


async def test_a_csv_of_25000_serials_is_whole_unique_and_every_url_names_its_item(
    batches: Batches,
) -> None:
    made = await batches.declare()
    issued = await batches.issue(made["id"], 25_000)
    answer = await batches.world.client.get(issued["serials_csv"], headers=batches.owner.headers())
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.text)))[1:]
    assert [int(row[0]) for row in rows] == list(range(1, 25_001))
    serials = [parse_serial(row[1]) for row in rows]  # each one's check character holds
    assert serials == [row[1] for row in rows]
    assert len(set(serials)) == 25_000
    assert all(row[2] == f"{made['scan_url']}/S/{row[1]}" for row in rows)
    for row in [*rows[:: 25_000 // 20], rows[-1]]:  # a sample resolved at the resolver
        scanned = await batches.scan(row[2])
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["item"]["serial"] == row[1]
        assert scanned.json()["item"]["status"] == "genuine"


async def test_the_print_sheet_holds_the_qr_codes_of_the_serials_asked_for(
    batches: Batches,
) -> None:
    made = await batches.declare()
    issued = await batches.issue(made["id"], 40)
    serials = await batches.serials(issued)
    sheet = await batches.world.client.get(
        f"{issued['sheet_pdf']}?from=3&count=12", headers=batches.owner.headers()
    )
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "application/pdf"
    wanted = serials[2:14]
    found = []
    document = pypdfium2.PdfDocument(sheet.content)
    try:
        for page in document:
            found += qr_texts(page.render(scale=4).to_pil())
    finally:
        document.close()
    assert sorted(found) == sorted(f"{made['scan_url']}/S/{s}" for s in wanted)
    text = pdf_text(sheet.content)
    assert all(serial in text for serial in wanted)
    assert serials[1] not in text
    assert serials[14] not in text

    # Without `count`, the rest of the issue (up to a sheet's most).
    rest = await batches.world.client.get(
        f"{issued['sheet_pdf']}?from=39", headers=batches.owner.headers()
    )
    assert set(serials[38:]) <= set(pdf_text(rest.content).split())


async def test_a_sheet_past_its_size_or_the_issue_is_refused_naming_the_parameter(
    batches: Batches,
) -> None:
    made = await batches.declare()
    issued = await batches.issue(made["id"], 5)
    for query, field, says in (
        ("count=501", "count", "at most 500"),
        ("from=6", "from", "at most 5"),
        ("from=0", "from", "greater than or equal to 1"),
    ):
        refused = await batches.world.client.get(
            f"{issued['sheet_pdf']}?{query}", headers=batches.owner.headers()
        )
        assert refused.status_code == 422, query
        fields = refused.json()["error"]["fields"]
        assert set(fields) == {field}, query
        assert says in fields[field], query


async def test_only_the_enterprise_issues_and_prints_serials(batches: Batches) -> None:
    made = await batches.declare()
    issued = await batches.issue(made["id"], 2)
    items = f"/batches/{made['id']}/items"
    body = {"count": 2, "kind": "item"}
    assert (await batches.world.client.post(API + items, json=body)).status_code == 401
    assert (await batches.world.county_reviewer.post(items, body)).status_code == 403
    assert (await batches.other.post(items, body)).status_code == 404
    assert (await batches.world.other_county_reviewer.post(items, body)).status_code == 404
    for path in (issued["serials_csv"], issued["sheet_pdf"]):
        assert (await batches.world.client.get(path)).status_code == 401
        for reader, status in (
            (batches.world.county_reviewer, 403),
            (batches.world.province_reviewer, 403),
            (batches.world.other_county_reviewer, 404),
            (batches.other, 404),
        ):
            answer = await batches.world.client.get(path, headers=reader.headers())
            assert answer.status_code == status, (path, answer.text)
    shown = (await batches.owner.get(f"/batches/{made['id']}")).json()
    assert [i["count"] for i in shown["item_issues"]] == [2]


async def test_bad_issue_fields_are_named_and_issue_nothing(batches: Batches) -> None:
    made = await batches.declare()
    items = f"/batches/{made['id']}/items"
    for body, fields in (
        ({"count": 0, "kind": "box"}, {"count", "kind"}),
        ({"count": 1_000_001, "kind": "item"}, {"count"}),
        ({"kind": "item", "extra": 1}, {"count", "extra"}),
    ):
        refused = await batches.owner.post(items, body)
        assert refused.status_code == 422
        assert set(refused.json()["error"]["fields"]) == fields
    assert (await batches.owner.get(f"/batches/{made['id']}")).json()["item_issues"] == []


async def test_an_item_is_read_by_its_enterprise_regulators_in_scope_and_its_holder(
    batches: Batches, pool: asyncpg.Pool
) -> None:
    made = await batches.declare()
    [serial] = await batches.serials(await batches.issue(made["id"], 1))
    shown = await batches.owner.get(f"/items/{serial.lower()}")  # as typed: any case
    assert shown.status_code == 200, shown.text
    item = shown.json()
    assert item["serial"] == serial
    assert item["state"] == "issued"
    assert item["kind"] == "item"
    assert item["batch_id"] == made["id"]
    assert item["batch_no"] == "LOT-2026-11"
    assert item["code_id"] == batches.code_id
    assert item["enterprise_id"] == batches.world.enterprise_id
    assert item["scan_url"] == f"{made['scan_url']}/S/{serial}"
    assert item["holder"] is None
    assert item["parent"] is None
    assert (await batches.world.county_viewer.get(f"/items/{serial}")).json() == item
    assert (await batches.world.other_county_reviewer.get(f"/items/{serial}")).status_code == 404
    assert (await batches.other.get(f"/items/{serial}")).status_code == 404
    assert (await batches.world.client.get(f"{API}/items/{serial}")).status_code == 401

    # Once the other enterprise holds it (it received it), it reads it too.
    async with pool.acquire() as conn, conn.transaction():
        row = (await codes_db.fetch_items_for_update(conn, [serial]))[serial]
        await lifecycle.change_items(conn, [dataclasses.replace(row, holder=batches.other_id)])
    held = await batches.other.get(f"/items/{serial}")
    assert held.status_code == 200, held.text
    assert held.json()["holder"] == batches.other_id


async def test_a_mistyped_or_unknown_serial_is_no_item(batches: Batches) -> None:
    made = await batches.declare()
    [serial] = await batches.serials(await batches.issue(made["id"], 1))
    data = serial[:-1]
    wrong_check = data + next(c for c in "0123456789ABCDEFGHJKMNPQRSTVWXYZ" if c != serial[-1])
    never_issued = new_serials(1)[0]
    for text in (wrong_check, never_issued, "1", "not-a-serial"):
        answer = await batches.owner.get(f"/items/{text}")
        assert answer.status_code == 404, text
        assert answer.json()["error"]["message"] == f"no item {text!r}"
    assert check_character(data) == serial[-1]


async def test_an_items_qr_code_carries_its_scan_url(batches: Batches) -> None:
    made = await batches.declare()
    [serial] = await batches.serials(await batches.issue(made["id"], 1))
    png = await batches.owner.get(f"/items/{serial}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert qr_texts(png.content) == [f"{made['scan_url']}/S/{serial}"]
    svg = await batches.world.province_reviewer.get(f"/items/{serial}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert serial in svg.text
    assert (await batches.other.get(f"/items/{serial}/qr.svg")).status_code == 404


# --- recalls --------------------------------------------------------------------------------


RECALL = {"reason": "杂质超标 impurity above limit", "instructions": "停止使用，退回供应商"}


async def test_a_recall_shows_on_every_scan_until_it_ends(batches: Batches) -> None:
    made = await batches.declare()
    [serial] = await batches.serials(await batches.issue(made["id"], 1))
    item_url = f"{made['scan_url']}/S/{serial}"
    assert (await batches.scan(made["scan_url"])).json()["batch"]["recall"] is None

    started = await batches.owner.post(f"/batches/{made['id']}/recall", RECALL)
    assert started.status_code == 201, started.text
    recall = started.json()
    assert recall["reason"] == RECALL["reason"]
    assert recall["started_by"] == batches.owner.account_id
    assert recall["ended_at"] is None
    for url in (made["scan_url"], item_url):
        shown = (await batches.scan(url)).json()["batch"]["recall"]
        assert shown["reason"] == RECALL["reason"], url
        assert shown["instructions"] == RECALL["instructions"]
    again = await batches.owner.post(f"/batches/{made['id']}/recall", RECALL)
    assert again.status_code == 409
    one = (await batches.world.county_reviewer.get(f"/batches/{made['id']}")).json()
    assert one["recall"] == recall
    listed = (await batches.owner.get(f"/products/{batches.product_id}/batches")).json()
    assert listed["batches"][0]["recall"] == recall

    refused = await batches.owner.post(f"/batches/{made['id']}/items", {"count": 1, "kind": "item"})
    assert refused.status_code == 409  # no new labels for a recalled batch

    ended = await batches.owner.post(f"/batches/{made['id']}/recall/end", {"note": "已全部收回"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_note"] == "已全部收回"
    assert ended.json()["ended_by"] == batches.owner.account_id
    assert (await batches.scan(made["scan_url"])).json()["batch"]["recall"] is None
    assert (await batches.owner.post(f"/batches/{made['id']}/recall/end", {})).status_code == 409
    history = (await batches.owner.get(f"/batches/{made['id']}")).json()
    assert history["recall"] is None
    assert [r["id"] for r in history["recalls"]] == [recall["id"]]
    assert history["recalls"][0]["ended_at"] is not None


async def test_regulators_above_recall_and_a_regulators_recall_is_ended_by_a_regulator(
    batches: Batches, pool: asyncpg.Pool
) -> None:
    made = await batches.declare()
    recall_path, end_path = f"/batches/{made['id']}/recall", f"/batches/{made['id']}/recall/end"
    assert (await batches.world.county_viewer.post(recall_path, RECALL)).status_code == 403
    assert (await batches.world.other_county_reviewer.post(recall_path, RECALL)).status_code == 404
    assert (await batches.other.post(recall_path, RECALL)).status_code == 404
    assert (await batches.world.client.post(API + recall_path, json=RECALL)).status_code == 401
    assert (await batches.owner.get(f"/batches/{made['id']}")).json()["recalls"] == []

    started = await batches.world.province_reviewer.post(recall_path, RECALL)
    assert started.status_code == 201, started.text
    assert (await batches.world.county_viewer.post(end_path, {})).status_code == 403
    refused = await batches.owner.post(end_path, {})
    assert refused.status_code == 403
    assert "regulator" in refused.json()["error"]["message"]
    ended = await batches.county_admin.post(end_path, {})
    assert ended.status_code == 200, ended.text
    second = await batches.world.national_reviewer.post(recall_path, RECALL)
    assert second.status_code == 201
    history = (await batches.owner.get(f"/batches/{made['id']}")).json()
    assert [r["id"] for r in history["recalls"]] == [second.json()["id"], started.json()["id"]]
    assert history["recall"]["id"] == second.json()["id"]

    async with pool.acquire() as conn:
        actions = await conn.fetch(
            "SELECT action, actor_id FROM audit_log WHERE subject_type = 'batch' "
            "AND subject_id = $1 ORDER BY id",
            str(made["id"]),
        )
    assert [(a["action"], a["actor_id"]) for a in actions] == [
        ("batch.declare", batches.owner.account_id),
        ("batch.recall", batches.world.province_reviewer.account_id),
        ("batch.recall_end", batches.county_admin.account_id),
        ("batch.recall", batches.world.national_reviewer.account_id),
    ]


async def test_bad_recall_fields_are_named_and_start_nothing(batches: Batches) -> None:
    made = await batches.declare()
    path = f"/batches/{made['id']}/recall"
    refused = await batches.owner.post(path, {"reason": " ", "instructions": "x" * 2001, "a": 1})
    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"reason", "instructions", "a"}
    refused = await batches.owner.post(path, {})
    assert set(refused.json()["error"]["fields"]) == {"reason", "instructions"}
    long_note = await batches.owner.post(f"{path}/end", {"note": "x" * 501})
    assert set(long_note.json()["error"]["fields"]) == {"note"}
    assert (await batches.owner.get(f"/batches/{made['id']}")).json()["recalls"] == []


# --- pure: the CSV lines and the numbers a batch declares ------------------------------------

_SERIALS = st.builds(lambda: new_serials(1)[0])


@given(st.lists(_SERIALS, max_size=30))
def test_csv_lines_read_back_as_the_rows_written(serials: list[str]) -> None:
    batch_url = f"{BASE}/C/X/B/LOT-1"
    rows = list(enumerate(serials, 1))
    text = (prints.CSV_HEADER + prints.serial_lines(rows, batch_url)).decode("ascii")
    read = list(csv.reader(io.StringIO(text)))
    assert read[0] == ["seq", "serial", "url"]
    assert read[1:] == [[str(seq), s, f"{batch_url}/S/{s}"] for seq, s in rows]


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3))
def test_a_quantity_with_up_to_three_decimals_is_kept_exactly(quantity: Decimal) -> None:
    as_json = float(quantity)  # what a client's JSON number is read as
    form = validate_form(BatchForm, batch_body(quantity=as_json))
    assert form.quantity == quantity


@given(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=4))
def test_a_fourth_decimal_is_refused(quantity: Decimal) -> None:
    if quantity == quantity.quantize(Decimal("0.001")):
        return  # it has three decimals after all
    with pytest.raises(ValidationFailed) as refused:
        validate_form(BatchForm, batch_body(quantity=float(quantity)))
    assert set(refused.value.fields) == {"quantity"}
