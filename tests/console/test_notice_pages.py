"""Notices in the console: a county admin publishes one (every bad field named beside its
input), its readers find it on their start page and in the list, mark it read with a button
(opening it records nothing), and the admin reads the receipts; those it does not reach get
a 404 page, those who may not publish or read receipts a 403 page."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.console.conftest import Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD
from tests.registry_api.world import World

COUNTY_ADMIN = "13900000203"
COUNTY_REVIEWER = "13900000205"
COUNTY_VIEWER = "13900000206"
OTHER_COUNTY_REVIEWER = "13900000207"
OWNER = "13700000001"
TITLE = "关于开展危险化学品安全码赋码工作的通知"
BODY = "各企业：\n请于本月底前完成产品登记。"


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


async def _publish(admin: Person, **fields: str) -> int:
    sent = await admin.submit("/notices/new", fields={"title": TITLE, "body": BODY} | fields)
    assert sent.status_code == 303, text_of(sent)
    found = re.fullmatch(r"/console/notices/([0-9]+)\?done=created", sent.headers["location"])
    assert found is not None, sent.headers["location"]
    return int(found.group(1))


async def test_a_published_notice_is_read_and_its_receipts_shown(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    listing = await admin.get("/notices")
    assert 'href="/console/notices/new"' in listing.text  # an admin publishes
    assert 'href="/console/notices"' in listing.text  # in the navigation
    notice_id = await _publish(admin, to_enterprises="on")
    shown = await admin.get(f"/notices/{notice_id}")
    assert TITLE in text_of(shown)
    assert "小店区" in text_of(shown)
    assert "监管用户和企业" in text_of(shown)  # sent to the enterprises too

    # On the regulators' start page and the enterprise's home, unread, with a link.
    reviewer = await _person(new_person, COUNTY_REVIEWER)
    start = await reviewer.get("/reviews")
    assert "未读通知公告" in text_of(start)
    assert f'href="/console/notices/{notice_id}"' in start.text
    owner = await _person(new_person, OWNER)
    home = await owner.get("/enterprise")
    assert "未读通知公告" in text_of(home)
    assert f'href="/console/notices/{notice_id}"' in home.text

    # Opening it records nothing; the button does, once.
    page = await reviewer.get(f"/notices/{notice_id}")
    assert "确认已阅" in text_of(page)
    assert "请于本月底前完成产品登记" in text_of(page)
    assert f'action="/console/notices/{notice_id}/read"' in page.text
    assert "未读通知公告" in text_of(await reviewer.get("/reviews"))
    marked = await reviewer.submit(f"/notices/{notice_id}", f"/notices/{notice_id}/read")
    assert marked.headers["location"] == f"/console/notices/{notice_id}"
    after = await reviewer.follow(marked)
    assert "确认已阅" not in text_of(after)
    assert "已阅" in text_of(after)
    assert "未读通知公告" not in text_of(await reviewer.get("/reviews"))
    assert "已阅" in text_of(await reviewer.get("/notices"))
    # A reviewer does not read the receipts: no link, and the page is refused.
    assert f"/notices/{notice_id}/receipts" not in after.text
    assert (await reviewer.get(f"/notices/{notice_id}/receipts")).status_code == 403

    await owner.submit(f"/notices/{notice_id}", f"/notices/{notice_id}/read")
    assert "未读通知公告" not in text_of(await owner.get("/enterprise"))

    receipts = await admin.get(f"/notices/{notice_id}/receipts")
    assert receipts.status_code == 200
    said = text_of(receipts)
    # Reached: the county's admin, reviewer and viewer, and the enterprise's owner.
    assert re.search(r"送达账号 4 已阅 2 未阅 2", said), said
    assert "太原示范化工有限公司" in said
    assert "小店区" in said
    assert (
        f'href="/console/notices/{notice_id}/receipts"'
        in (await admin.get(f"/notices/{notice_id}")).text
    )


async def test_every_bad_field_is_named_beside_its_input(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    form = await admin.get("/notices/new")
    assert form.status_code == 200
    assert '<label for="f-title">' in form.text
    assert '<label for="f-body">' in form.text
    assert 'id="f-to_enterprises"' in form.text
    sent = await admin.submit("/notices/new", fields={"title": "题" * 101, "body": "   "})
    assert sent.status_code == 422
    for name in ("title", "body"):
        assert f'id="f-{name}-error"' in sent.text, name
        assert re.search(rf'id="f-{name}"[^>]*aria-describedby="[^"]*f-{name}-error', sent.text)
    assert "最多 100 个字符" in text_of(sent)
    assert f'value="{"题" * 101}"' in sent.text  # what was typed, kept
    # Nothing was published.
    assert "还没有通知公告" in text_of(await admin.get("/notices"))


async def test_others_are_refused_and_out_of_reach_is_a_404_page(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    notice_id = await _publish(admin)  # to the regulators only
    viewer = await _person(new_person, COUNTY_VIEWER)
    assert (await viewer.get("/notices/new")).status_code == 403
    assert 'href="/console/notices/new"' not in (await viewer.get("/notices")).text
    refused = await viewer.submit("/notices", "/notices/new", {"title": "通知", "body": "内容"})
    assert refused.status_code == 403
    owner = await _person(new_person, OWNER)
    assert (await owner.get("/notices/new")).status_code == 403
    # Not to the enterprise, nor to another county: a 404 page, as for a missing notice.
    for outsider in (owner, await _person(new_person, OTHER_COUNTY_REVIEWER)):
        assert TITLE not in text_of(await outsider.get("/notices"))
        page = await outsider.get(f"/notices/{notice_id}")
        assert page.status_code == 404
        assert TITLE not in text_of(page)
        marked = await outsider.submit("/notices", f"/notices/{notice_id}/read")
        assert marked.status_code == 404
    assert (await owner.get("/notices/987654321")).status_code == 404
    assert (await owner.get("/notices/abc")).status_code == 404
