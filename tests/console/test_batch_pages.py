"""The batch pages of the console, used as a browser without JavaScript uses them: a
product's batches and declaring one (every bad field named, nothing stored), the batch's
page with its serials (issued, downloaded as CSV and print sheets), its recalls (by the
enterprise and by a regulator above it, seen on the public scan, ended) and its timeline;
and who reaches none of it."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from console.batch_declare import batch_error_text
from console.batch_prints import SHEET_LINKS, sheet_starts
from registry_api.errors import ValidationFailed
from registry_api.forms import validate_form
from registry_api.lifecycle.batch_forms import DEFAULT_BATCH_PAGE, MAX_SHEET_ITEMS, BatchForm
from tests.conftest import pdf_text
from tests.console.conftest import CONSOLE, Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD
from tests.registry_api.lifecycle.batch_world import (  # noqa: F401 (the fixture)
    OTHER_MOBILE,
    Batches,
    batches_fixture,
)
from tests.registry_api.world import OWNER_MOBILE

COUNTY_ADMIN, COUNTY_REVIEWER, COUNTY_VIEWER = "13900000203", "13900000205", "13900000206"
OTHER_COUNTY_REVIEWER, PROVINCE_REVIEWER = "13900000207", "13900000208"
OWNER_NAME = "太原示范化工有限公司"
RECALL = {"reason": "杂质超标", "instructions": "停止使用，联系供应商退回。"}
BANNER = 'class="banner forged recall" role="alert"'  # the public scan's red recall banner
_HREF = re.compile(r'href="([^"]+)"')
_HAN = re.compile(r"[\u4e00-\u9fff]")


def declared_fields(batch_no: str = "LOT-2026-11", **changes: str) -> dict[str, str]:
    """The declare form as a person fills it in: produced a week ago, expiring in two years."""
    produced = date.today() - timedelta(days=7)
    return {
        "batch_no": batch_no,
        "produced_on": produced.isoformat(),
        "use_by_kind": "expiry",
        "use_by": (produced + timedelta(days=730)).isoformat(),
        "quantity": "1600.5",
        "unit": "L",
        "packaging.inner.kind": "drum",
        "packaging.inner.capacity": "200",
        "packaging.inner.unit": "L",
        "packaging.outer.kind": "",
        "packaging.outer.capacity": "",
        "packaging.outer.unit": "",
        "site": "清徐精细化工园区",
    } | changes


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


def _error_of(page: httpx.Response, input_id: str) -> str:
    """The message beside an input, tied to it by aria-describedby."""
    found = re.search(rf'<span class="error" id="{re.escape(input_id)}-error">([^<]*)<', page.text)
    assert found is not None, f"no error beside {input_id}: {text_of(page)[:800]}"
    described = re.search(rf'id="{re.escape(input_id)}"[^>]*aria-describedby="([^"]*)"', page.text)
    assert described is not None, input_id
    assert f"{input_id}-error" in described.group(1), input_id
    return unescape(found.group(1))


def _errors(page: httpx.Response) -> set[str]:
    return set(re.findall(r'<span class="error" id="([^"]+)-error">', page.text))


def _kept(page: httpx.Response, name: str, value: str) -> bool:
    pattern = rf'name="{re.escape(name)}"[^>]*value="{re.escape(value)}"'
    return re.search(pattern, unescape(page.text)) is not None


def _links(page: httpx.Response, part: str) -> list[str]:
    return [unescape(href) for href in _HREF.findall(page.text) if part in unescape(href)]


async def _api_batch(batches: Batches, batch_id: int) -> dict[str, Any]:
    read = await batches.owner.get(f"/batches/{batch_id}")
    assert read.status_code == 200, read.text
    body: dict[str, Any] = read.json()
    return body


async def _scan_page(batches: Batches, url: str) -> str:
    """The public scan page of a batch or an item, once the relay has sent what changed."""
    await batches.world.relay.drain()
    scanned = await batches.world.resolver.get(urlsplit(url).path)
    assert scanned.status_code == 200, scanned.text[:300]
    return scanned.text


async def test_the_owner_declares_a_batch_every_bad_field_named_nothing_stored(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    product = await owner.get(f"/products/{batches.product_id}")
    assert _links(product, f"/products/{batches.product_id}/batches")
    listed = await owner.get(f"/products/{batches.product_id}/batches")
    assert listed.status_code == 200
    assert "还没有申报批次" in text_of(listed)

    form_path = f"/products/{batches.product_id}/batches/new"
    form = await owner.get(form_path)
    assert form.status_code == 200
    unlabelled = [
        found
        for found in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', form.text)
        if f'<label for="{found}"' not in form.text
    ]
    assert unlabelled == []
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    bad = await owner.submit(
        form_path,
        fields=declared_fields(
            "lot 1", produced_on=tomorrow, use_by="2026-02-30", quantity="12.3456", unit="",
            **{"packaging.inner.capacity": "-5", "packaging.outer.capacity": "4"},
        ),
    )  # fmt: skip
    assert bad.status_code == 422
    assert "请更正以下标出的内容" in text_of(bad)
    assert _errors(bad) == {
        "f-batch_no", "f-produced_on", "f-use_by", "f-quantity", "f-unit",
        "f-packaging-inner-capacity", "f-packaging-outer-kind", "f-packaging-outer-unit",
    }  # fmt: skip
    assert "只能含数字、大写字母" in _error_of(bad, "f-batch_no")
    assert "晚于今天" in _error_of(bad, "f-produced_on")
    assert "2026-02-30 不是日历上的日期" in _error_of(bad, "f-use_by")
    assert "最多 3 位小数" in _error_of(bad, "f-quantity")
    assert "应大于 0" in _error_of(bad, "f-packaging-inner-capacity")
    assert "必填" in _error_of(bad, "f-packaging-outer-kind")
    assert _kept(bad, "batch_no", "lot 1")
    assert _kept(bad, "quantity", "12.3456")
    assert _kept(bad, "site", "清徐精细化工园区")
    assert re.search(r'<option value="drum" selected>', bad.text)
    assert (await batches.owner.get(f"/products/{batches.product_id}/batches")).json()[
        "batches"
    ] == []

    english = await owner.client.post(
        CONSOLE + form_path,
        data=declared_fields(quantity="many") | {"csrf": await owner.token(form_path)},
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 422
    assert "must be a number" in _error_of(english, "f-quantity")

    made = await owner.submit(form_path, fields=declared_fields())
    assert made.status_code == 303, text_of(made)
    found = re.fullmatch(r"/console/batches/([0-9]+)\?changed=declared", made.headers["location"])
    assert found is not None, made.headers["location"]
    batch_id = int(found.group(1))
    page = await owner.follow(made)
    shown = text_of(page)
    for expected in ("批次已申报", "LOT-2026-11", "丙酮", OWNER_NAME, "1600.5 L", "每桶 200 L"):
        assert expected in shown, expected
    api = await _api_batch(batches, batch_id)
    assert api["quantity"] == 1600.5
    assert api["site"] == "清徐精细化工园区"
    assert api["packaging"] == {"inner": {"kind": "drum", "capacity": 200, "unit": "L"},
                                "outer": None}  # fmt: skip
    assert _links(page, "/C/") == [api["scan_url"]]  # the batch's public scan URL

    taken = await owner.submit(form_path, fields=declared_fields(quantity="2"))
    assert taken.status_code == 409
    assert "这个批号已为此产品申报过" in text_of(taken)
    assert "已申报过" in _error_of(taken, "f-batch_no")
    assert _kept(taken, "quantity", "2")
    listed = await owner.get(f"/products/{batches.product_id}/batches")
    rows = re.findall(r'<tr class="batch[^"]*">.*?</tr>', listed.text, flags=re.S)
    assert len(rows) == 1
    assert f'href="/console/batches/{batch_id}"' in rows[0]


async def test_the_list_pages_back_to_older_batches_with_recalls_marked(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    for n in range(DEFAULT_BATCH_PAGE + 1):
        made = await batches.declare(f"LOT-{n:02d}")
    recalled = await batches.owner.post(f"/batches/{made['id']}/recall", RECALL)
    assert recalled.status_code == 201, recalled.text
    owner = await _person(new_person, OWNER_MOBILE)
    first = await owner.get(f"/products/{batches.product_id}/batches")
    rows = re.findall(r'<tr class="batch([^"]*)">(.*?)</tr>', first.text, flags=re.S)
    assert len(rows) == DEFAULT_BATCH_PAGE
    assert f"LOT-{DEFAULT_BATCH_PAGE:02d}" in rows[0][1]  # the newest first, and recalled
    assert rows[0][0] == " recalled"
    assert "召回中" in text_of(httpx.Response(200, text=rows[0][1]))
    assert [cls for cls, _ in rows[1:]] == [""] * (DEFAULT_BATCH_PAGE - 1)
    [older] = _links(first, "before=")
    second = await owner.client.get(older)
    rows = re.findall(r'<tr class="batch[^"]*">(.*?)</tr>', second.text, flags=re.S)
    assert len(rows) == 1
    assert "LOT-00" in rows[0]
    assert not _links(second, "before=")
    assert _links(second, f"/products/{batches.product_id}/batches")  # back to the newest


async def test_a_product_without_a_code_is_told_on_the_form(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    form_path = f"/products/{batches.draft_product_id}/batches/new"
    form = await owner.get(form_path)
    assert form.status_code == 200
    assert "此产品还没有安全码" in text_of(form)
    refused = await owner.submit(form_path, fields=declared_fields())
    assert refused.status_code == 409
    assert "此产品还没有安全码" in text_of(refused)
    assert _kept(refused, "batch_no", "LOT-2026-11")
    listed = await owner.get(f"/products/{batches.draft_product_id}/batches")
    assert "此产品还没有安全码" in text_of(listed)


async def test_serials_are_issued_and_downloaded_as_csv_and_print_sheets(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    made = await batches.declare()
    owner = await _person(new_person, OWNER_MOBILE)
    path = f"/batches/{made['id']}"
    bad = await owner.submit(path, f"{path}/items", {"kind": "crate", "count": "0"})
    assert bad.status_code == 422
    assert _errors(bad) == {"f-kind", "f-count"}
    assert "应不小于 1" in _error_of(bad, "f-count")
    assert _kept(bad, "count", "0")
    assert (await _api_batch(batches, made["id"]))["item_issues"] == []

    issued = await owner.submit(path, f"{path}/items", {"kind": "item", "count": "10"})
    assert issued.status_code == 303, text_of(issued)
    assert issued.headers["location"] == f"{CONSOLE}{path}?changed=issued"
    page = await owner.follow(issued)
    assert "序列号已生成" in text_of(page)
    [issue] = (await _api_batch(batches, made["id"]))["item_issues"]
    [csv_link] = _links(page, "serials.csv")
    assert csv_link == f"{CONSOLE}{path}/serials.csv?issue={issue['id']}"
    downloaded = await owner.client.get(csv_link)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"].startswith("text/csv")
    assert "attachment" in downloaded.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(downloaded.text)))
    assert rows[0] == ["seq", "serial", "url"]
    assert len(rows) == 11
    assert [row[1] for row in rows[1:]] == await batches.serials(issue)  # the API's own
    assert all(row[2] == f"{made['scan_url']}/S/{row[1]}" for row in rows[1:])

    [sheet_link] = _links(page, "sheet.pdf")
    assert sheet_link.endswith(f"sheet.pdf?issue={issue['id']}&from=1")
    sheet = await owner.client.get(sheet_link)
    assert sheet.status_code == 200
    assert sheet.content.startswith(b"%PDF")
    assert rows[10][1] in pdf_text(sheet.content)  # each QR with its serial under it
    beyond = await owner.get(f"{path}/sheet.pdf", issue=str(issue["id"]), **{"from": "11"})
    assert beyond.status_code == 422
    assert "from" in text_of(beyond)

    # A bigger issue: a link per sheet of 500; the newest issue first.
    await owner.submit(path, f"{path}/items", {"kind": "case", "count": "1200"})
    page = await owner.get(path)
    sheets = _links(page, "sheet.pdf")
    assert [s.rsplit("from=", 1)[1] for s in sheets] == ["1", "501", "1001", "1"]
    assert "打印页 1001–1200" in text_of(page)
    newest = await owner.client.get(f"{CONSOLE}{path}/serials.csv")  # the newest by default
    assert len(newest.text.splitlines()) == 1201


def test_sheet_links_stop_at_a_short_list() -> None:
    shown, more = sheet_starts(MAX_SHEET_ITEMS * SHEET_LINKS)
    assert (len(shown), more) == (SHEET_LINKS, False)
    assert shown[-1] == (MAX_SHEET_ITEMS * (SHEET_LINKS - 1) + 1, MAX_SHEET_ITEMS * SHEET_LINKS)
    shown, more = sheet_starts(MAX_SHEET_ITEMS * SHEET_LINKS + 1)
    assert (len(shown), more) == (SHEET_LINKS, True)
    assert sheet_starts(1) == ([(1, 1)], False)


BAD_BATCHES: list[dict[str, object]] = [
    {"batch_no": "lot-1", "produced_on": "2026-13-01", "use_by": "20270101", "quantity": "9",
     "unit": "gallon", "packaging": {"inner": {"kind": "sack", "capacity": 0.0001}}},
    {"batch_no": "A B", "produced_on": "2999-01-01", "quantity": 0, "use_by_kind": "soon",
     "packaging": {"inner": {"kind": "drum", "capacity": 10**7, "unit": "L"}}},
    {"batch_no": "X" * 21, "produced_on": "2026-01-05", "use_by": "2025-01-05",
     "quantity": 10**13, "packaging": {"inner": {}, "outer": {"capacity": -1}}},
]  # fmt: skip


@pytest.mark.parametrize("body", BAD_BATCHES)
def test_every_message_of_the_batch_form_reaches_a_chinese_reader_in_chinese(
    body: dict[str, object],
) -> None:
    """The registry's own messages (BatchForm's validators and pydantic's), so one reworded
    there without its words here fails instead of reaching a clerk in English."""
    with pytest.raises(ValidationFailed) as raised:
        validate_form(BatchForm, body)
    assert len(raised.value.fields) >= 6
    for path, message in raised.value.fields.items():
        chinese = batch_error_text(message, "zh")
        assert _HAN.search(chinese), (path, message)
        # No English left over, but for the values a field takes, quoted as typed.
        assert not re.search(r"[A-Za-z]{3,}", re.sub(r"'[^']*'", "", chinese)), chinese
        assert batch_error_text(message, "en") == message


async def test_the_enterprise_recalls_the_scan_shows_it_and_the_recall_ends(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    made = await batches.declare()
    [serial] = await batches.serials(await batches.issue(made["id"], 1))
    owner = await _person(new_person, OWNER_MOBILE)
    path = f"/batches/{made['id']}"
    page = await owner.get(path)
    assert f'action="{CONSOLE}{path}/recall"' in page.text
    assert BANNER not in await _scan_page(batches, made["scan_url"])

    bad = await owner.submit(path, f"{path}/recall", {"reason": " ", "instructions": "x"})
    assert bad.status_code == 422
    assert _errors(bad) == {"f-reason", "f-instructions"}
    assert _kept(bad, "reason", " ")
    assert (await _api_batch(batches, made["id"]))["recalls"] == []

    recalled = await owner.submit(path, f"{path}/recall", RECALL)
    assert recalled.status_code == 303, text_of(recalled)
    page = await owner.follow(recalled)
    shown = text_of(page)
    assert "批次已召回" in shown
    assert 'id="recall-banner"' in page.text
    assert RECALL["reason"] in shown
    assert f'action="{CONSOLE}{path}/recall/end"' in page.text
    assert 'id="issue-form"' not in page.text  # no new labels for a recalled batch
    for url in (made["scan_url"], f"{made['scan_url']}/S/{serial}"):
        scanned = await _scan_page(batches, url)
        assert BANNER in scanned, url
        assert RECALL["instructions"] in scanned
    listed = await owner.get(f"/products/{batches.product_id}/batches")
    assert "召回中" in text_of(listed)

    # The form is gone while recalled; sent anyway, the operation refuses it and says why.
    no_serials = await owner.submit(path, f"{path}/items", {"kind": "item", "count": "5"})
    assert no_serials.status_code == 409
    assert "此批次正在召回" in text_of(no_serials)
    assert _kept(no_serials, "count", "5")

    again = await owner.submit(path, f"{path}/recall/end", {"note": "x" * 501})
    assert again.status_code == 422
    assert "最多 500 个字符" in _error_of(again, "f-note")
    twice = await owner.client.post(
        f"{CONSOLE}{path}/recall", data=RECALL | {"csrf": await owner.token(path)}
    )
    assert twice.status_code == 409
    assert "此批次已在召回中" in text_of(twice)

    ended = await owner.submit(path, f"{path}/recall/end", {"note": "已全部收回"})
    assert ended.status_code == 303, text_of(ended)
    page = await owner.follow(ended)
    assert "召回已结束" in text_of(page)
    assert 'id="recall-banner"' not in page.text
    assert "已全部收回" in text_of(page)  # the history keeps it
    assert BANNER not in await _scan_page(batches, made["scan_url"])
    [recall] = (await _api_batch(batches, made["id"]))["recalls"]
    assert recall["end_note"] == "已全部收回"
    assert recall["ended_by"] == batches.owner.account_id


async def test_a_regulator_in_scope_recalls_from_the_enterprises_pages(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    made = await batches.declare()
    await batches.issue(made["id"], 2)
    reviewer = await _person(new_person, PROVINCE_REVIEWER)
    listed = await reviewer.get("/products", enterprise=str(batches.world.enterprise_id))
    assert _links(listed, f"/products/{batches.product_id}")
    product = await reviewer.get(f"/products/{batches.product_id}")
    assert _links(product, f"/products/{batches.product_id}/batches")
    assert not _links(product, "/batches/new")  # regulators declare nothing
    batch_list = await reviewer.get(f"/products/{batches.product_id}/batches")
    path = f"/batches/{made['id']}"
    assert _links(batch_list, f"{CONSOLE}{path}")
    page = await reviewer.get(path)
    assert page.status_code == 200
    assert 'id="recall-form"' in page.text
    assert 'id="issue-form"' not in page.text
    assert not _links(page, "serials.csv")
    assert not _links(page, "sheet.pdf")
    assert (await reviewer.get(f"{path}/serials.csv")).status_code == 403
    assert (await reviewer.get(f"/products/{batches.product_id}/batches/new")).status_code == 403

    recalled = await reviewer.submit(path, f"{path}/recall", RECALL)
    assert recalled.status_code == 303, text_of(recalled)
    assert BANNER in await _scan_page(batches, made["scan_url"])

    owner = await _person(new_person, OWNER_MOBILE)
    refused = await owner.submit(path, f"{path}/recall/end", {"note": "我们已收回"})
    assert refused.status_code == 403
    assert "此召回由监管部门发起，须由监管部门结束" in text_of(refused)
    admin = await _person(new_person, COUNTY_ADMIN)
    ended = await admin.submit(path, f"{path}/recall/end", {})
    assert ended.status_code == 303, text_of(ended)
    [recall] = (await _api_batch(batches, made["id"]))["recalls"]
    assert recall["started_by"] == batches.world.province_reviewer.account_id
    assert recall["ended_by"] == batches.county_admin.account_id


async def test_a_viewer_reads_the_batch_but_is_shown_no_form_and_refused(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    made = await batches.declare()
    path = f"/batches/{made['id']}"
    viewer = await _person(new_person, COUNTY_VIEWER)
    page = await viewer.get(path)
    assert page.status_code == 200
    assert "LOT-2026-11" in text_of(page)
    assert page.text.count("<form") == 1  # signing out, in the header
    for action, fields in (
        ("recall", RECALL), ("recall/end", {}), ("items", {"kind": "item", "count": "1"}),
        ("recall", {"reason": ""}),  # refused before what was typed is read
    ):  # fmt: skip
        refused = await viewer.submit(path, f"{path}/{action}", fields)
        assert refused.status_code == 403, (action, text_of(refused)[:300])
        assert "无权操作" in text_of(refused)
    refused = await viewer.submit(
        path, f"/products/{batches.product_id}/batches/new", declared_fields("LOT-V")
    )
    assert refused.status_code == 403
    api = await _api_batch(batches, made["id"])
    assert (api["recalls"], api["item_issues"]) == ([], [])


@pytest.mark.parametrize("mobile", [OTHER_MOBILE, OTHER_COUNTY_REVIEWER])
async def test_outside_scope_every_batch_page_and_form_is_the_404_page(
    batches: Batches, new_person: Callable[[], Person], mobile: str
) -> None:
    made = await batches.declare()
    issue = await batches.issue(made["id"], 1)
    outsider = await _person(new_person, mobile)
    path, product = f"/batches/{made['id']}", f"/products/{batches.product_id}"
    for page in (
        path, f"{path}/serials.csv", f"{path}/serials.csv?issue={issue['id']}",
        f"{path}/sheet.pdf?issue={issue['id']}&from=99", f"{product}/batches",
        f"{product}/batches/new",
    ):  # fmt: skip
        answer = await outsider.client.get(CONSOLE + page)
        assert answer.status_code == 404, page
        assert "页面不存在" in text_of(answer)
    for action, fields in (
        (f"{path}/items", {"kind": "item", "count": "0"}), (f"{path}/recall", RECALL),
        (f"{path}/recall/end", {}), (f"{product}/batches/new", declared_fields("x")),
    ):  # fmt: skip
        answer = await outsider.submit("/alerts", action, fields)
        assert answer.status_code == 404, (action, text_of(answer)[:300])
    api = await _api_batch(batches, made["id"])
    assert (api["recalls"], len(api["item_issues"])) == ([], 1)


async def test_the_batch_page_shows_its_timeline(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    made = await batches.declare()
    serials = await batches.serials(await batches.issue(made["id"], 5))
    when = (datetime.now(UTC) - timedelta(minutes=5)).astimezone(timezone(timedelta(hours=8)))
    for step, action in (("commissioning", "ADD"), ("shipping", "OBSERVE")):
        recorded = await batches.owner.post(
            "/events",
            {
                "type": "ObjectEvent", "eventID": f"urn:uuid:{uuid.uuid4()}",
                "eventTime": when.isoformat(), "eventTimeZoneOffset": "+08:00",
                "action": action, "bizStep": step,
                "epcList": [f"{made['scan_url']}/S/{s}" for s in serials],
            },
        )  # fmt: skip
        assert recorded.status_code == 201, recorded.text
    for mobile in (OWNER_MOBILE, COUNTY_VIEWER):
        reader = await _person(new_person, mobile)
        page = await reader.get(f"/batches/{made['id']}")
        assert page.status_code == 200
        timeline = text_of(page)[text_of(page).index("流转记录") :]
        for expected in ("赋码", "发货", OWNER_NAME, "等共 5 件", "+08:00"):
            assert expected in timeline, (mobile, expected)
        assert len(_links(page, "/console/items/")) == 6  # three serials named per event


async def test_junk_is_a_404_or_a_422_page_never_a_500(
    batches: Batches, new_person: Callable[[], Person]
) -> None:
    made = await batches.declare()
    owner = await _person(new_person, OWNER_MOBILE)
    for raw in ("abc", "99999999999999999999", "-1", "１", "0"):
        for suffix in ("", "/serials.csv", "/sheet.pdf"):
            answer = await owner.client.get(f"{CONSOLE}/batches/{raw}{suffix}")
            assert answer.status_code == 404, (raw, suffix)
        answer = await owner.client.get(f"{CONSOLE}/batches/{made['id']}/serials.csv?issue={raw}")
        assert answer.status_code == 404, raw
    path = f"/batches/{made['id']}"
    assert (await owner.get(path, after="junk")).status_code == 422
    assert (await owner.get(f"{path}/serials.csv")).status_code == 404  # nothing issued yet
    listed = await owner.get(f"/products/{batches.product_id}/batches", before="abc")
    assert listed.status_code == 422
    assert "before" in text_of(listed)
