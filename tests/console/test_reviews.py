"""The regulators' review work in the console: the queue, a submission's page with its
changes side by side, approving and rejecting with a reason, two reviewers deciding at
once, enterprise applications with the one-time password shown once, certificates
expiring, and suspending and reinstating a code."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from console import reviews as console_reviews
from tests.console.conftest import Person, text_of
from tests.registry_api.conftest import API, GOOD_PASSWORD, Signed, first_sign_in, sign_in
from tests.registry_api.identifiers import credit_code
from tests.registry_api.world import (
    ACETONE,
    World,
    approve_all,
    code_of,
    new_draft,
    register,
    revision_body,
)

COUNTY_ADMIN = "13900000203"
COUNTY_REVIEWER = "13900000205"
COUNTY_VIEWER = "13900000206"
OTHER_COUNTY_REVIEWER = "13900000207"
PROVINCE_REVIEWER = "13900000208"
SECOND_PROVINCE_REVIEWER = "13900000209"
NATIONAL_REVIEWER = "13900000210"
ENTERPRISE = "太原示范化工有限公司"


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


def _rows(page: httpx.Response) -> list[str]:
    """The table rows of a page, each as its raw HTML."""
    return re.findall(r"<tr[^>]*>.*?</tr>", page.text, flags=re.S)


async def _submission(world: World, submission_id: int) -> dict[str, Any]:
    found = await world.owner.get(f"/submissions/{submission_id}")
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def test_a_registration_is_reviewed_rejected_and_approved_in_the_console(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, revision_id = await new_draft(world)
    submission_id = await register(world, revision_id)
    link = f"/console/submissions/{submission_id}"

    county = await _person(new_person, COUNTY_REVIEWER)
    assert link not in (await county.get("/reviews")).text  # registrations start at province

    province = await _person(new_person, PROVINCE_REVIEWER)
    queue = await province.get("/reviews")
    assert queue.status_code == 200
    [row] = [r for r in _rows(queue) if link in r]
    assert ENTERPRISE in row
    assert "丙酮" in row
    assert "新登记" in row
    assert "省级审核" in row
    assert re.search(r"\d+ 分钟", text_of(httpx.Response(200, text=row)))  # waiting time
    only_updates = await province.get("/reviews", pipeline="info_update")
    assert link not in only_updates.text
    assert link in (await province.get("/reviews", pipeline="registration")).text
    assert (await province.get("/reviews", pipeline="nonsense")).status_code == 422

    page = await province.get(f"/submissions/{submission_id}")
    assert page.status_code == 200
    assert "新产品，尚无已批准的版本" in text_of(page)  # nothing to compare with yet
    assert "第16部分" in text_of(page)
    assert "/approve" in page.text

    page_path = f"/submissions/{submission_id}"
    unexplained = await province.submit(page_path, page_path + "/reject", {"reason": " "})
    assert unexplained.status_code == 422
    assert 'id="f-reason-error"' in unexplained.text
    assert (await _submission(world, submission_id))["status"] == "pending"  # nothing changed

    reason = "第5部分缺少灭火剂说明"
    rejected = await province.submit(page_path, page_path + "/reject", {"reason": reason})
    assert rejected.status_code == 303
    assert "已驳回" in text_of(await province.follow(rejected))
    history = await world.owner.get(f"/enterprises/{world.enterprise_id}/submissions")
    [decision] = history.json()["submissions"][0]["decisions"]
    assert (decision["decision"], decision["reason"]) == ("reject", reason)
    assert link not in (await province.get("/reviews")).text

    again = await register(world, revision_id, resubmission_of=submission_id)
    page_path = f"/submissions/{again}"
    assert f"/console/submissions/{submission_id}" in (await province.get(page_path)).text
    approved = await province.submit(page_path, page_path + "/approve")
    assert approved.status_code == 303
    assert (await _submission(world, again))["status"] == "pending"  # now at the national step
    assert await code_of(world, product_id) is None

    national = await _person(new_person, NATIONAL_REVIEWER)
    assert f"/console/submissions/{again}" in (await national.get("/reviews")).text
    approved = await national.submit(page_path, page_path + "/approve")
    assert approved.status_code == 303
    assert (await _submission(world, again))["status"] == "approved"
    assert await code_of(world, product_id) is not None  # the code is issued and published
    decided = text_of(await national.get(page_path))
    assert "通过" in decided
    assert "/approve" not in (await national.get(page_path)).text


async def test_a_second_revision_is_shown_side_by_side_with_the_changed_section_marked(
    world: World, new_person: Callable[[], Person]
) -> None:
    _, first = await new_draft(world)
    await approve_all(world, await register(world, first))
    changed = revision_body()
    changed["sds"]["sections"][4]["body"] = {"zh": "第二版消防措施。"}
    _, second = await new_draft(world, changed)
    submission_id = await register(world, second, kind="change")

    province = await _person(new_person, PROVINCE_REVIEWER)
    page = await province.get(f"/submissions/{submission_id}")
    assert page.status_code == 200
    assert "与已批准的版本 1 对比" in text_of(page)
    section_5 = next(r for r in _rows(page) if "第5部分" in r)
    assert 'class="changed"' in section_5
    assert "第二版消防措施" in section_5
    section_1 = next(r for r in _rows(page) if "第1部分" in r)
    assert 'class="changed"' not in section_1  # unchanged rows are not marked
    signal_word = next(r for r in _rows(page) if "信号词" in r)
    assert 'class="changed"' not in signal_word
    assert "危险" in signal_word  # named as the label prints it, not the stored code
    assert "danger" not in signal_word
    assert "统一社会信用代码" in text_of(page)  # the enterprise's record beside it


async def test_two_province_reviewers_at_once_one_wins_the_other_is_told(
    world: World, new_person: Callable[[], Person]
) -> None:
    _, revision_id = await new_draft(world)
    submission_id = await register(world, revision_id)
    page_path = f"/submissions/{submission_id}"
    first = await _person(new_person, PROVINCE_REVIEWER)
    second = await _person(new_person, SECOND_PROVINCE_REVIEWER)
    tokens = [await first.token(page_path), await second.token(page_path)]

    # The pages are read first, then both forms sent at once.
    async def decide(
        person: Person, token: str, action: str, extra: dict[str, str]
    ) -> httpx.Response:
        fields = {"csrf": token, "step": "0"} | extra
        return await person.client.post(f"/console{page_path}/{action}", data=fields)

    answers = await asyncio.gather(
        decide(first, tokens[0], "approve", {}),
        decide(second, tokens[1], "reject", {"reason": "材料不全"}),
    )
    assert [a.status_code for a in answers] == [303, 303]
    locations = sorted(a.headers["location"] for a in answers)
    told = [loc for loc in locations if "decided_elsewhere" in loc]
    assert len(told) == 1, locations
    loser = first if "decided_elsewhere" in answers[0].headers["location"] else second
    shown = await loser.client.get(told[0])
    assert "其他审核人员已先作出决定" in text_of(shown)
    assert len((await _submission(world, submission_id))["decisions"]) == 1


async def test_who_may_not_decide_sees_no_buttons_and_a_forged_post_is_refused(
    world: World, new_person: Callable[[], Person]
) -> None:
    _, revision_id = await new_draft(world)
    submission_id = await register(world, revision_id)
    page_path = f"/submissions/{submission_id}"

    viewer = await _person(new_person, COUNTY_VIEWER)
    queue = await viewer.get("/reviews")
    assert queue.status_code == 200
    assert "不参与审核" in text_of(queue)
    page = await viewer.get(page_path)
    assert page.status_code == 200
    assert "/approve" not in page.text
    assert "/reject" not in page.text
    forged = await viewer.submit(page_path, page_path + "/approve", {"step": "0"})
    assert forged.status_code == 403
    forged = await viewer.submit(page_path, page_path + "/reject", {"reason": "伪造的驳回"})
    assert forged.status_code == 403

    county = await _person(new_person, COUNTY_REVIEWER)  # reviews, but not this step
    assert "/approve" not in (await county.get(page_path)).text
    assert (await county.submit(page_path, page_path + "/approve")).status_code == 403

    outsider = await _person(new_person, OTHER_COUNTY_REVIEWER)
    assert (await outsider.get(page_path)).status_code == 404
    assert (await outsider.submit("/reviews", page_path + "/approve")).status_code == 404
    assert (await viewer.get("/submissions/abc")).status_code == 404
    assert (await viewer.get("/submissions/999999999")).status_code == 404
    assert (await _submission(world, submission_id))["status"] == "pending"


async def test_the_county_admin_approves_an_application_and_sees_the_password_once(
    world: World, new_person: Callable[[], Person]
) -> None:
    applied = await world.client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": credit_code("91140100", "MA0K8X2B"), "name": "太原第二化工有限公司",
            "county_id": "140105",
            "address": "山西省太原市小店区化工路2号", "kinds": ["producer"],
            "industry_code": "2614", "contact_name": "钱七", "contact_mobile": "13700000002",
        },
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    application_id = applied.json()["id"]
    page_path = f"/applications/{application_id}"

    reviewer = await _person(new_person, COUNTY_REVIEWER)
    assert "太原第二化工有限公司" in (await reviewer.get("/applications")).text
    assert "/approve" not in (await reviewer.get(page_path)).text  # admins decide
    assert (await reviewer.submit(page_path, page_path + "/approve")).status_code == 403

    admin = await _person(new_person, COUNTY_ADMIN)
    listed = await admin.get("/applications")
    assert f"/console{page_path}" in listed.text
    unexplained = await admin.submit(page_path, page_path + "/reject", {"reason": ""})
    assert unexplained.status_code == 422
    assert 'id="f-reason-error"' in unexplained.text

    approved = await admin.submit(page_path, page_path + "/approve")
    assert approved.status_code == 303
    assert "one-time" not in approved.headers["location"]  # the password is not in the URL
    shown = await admin.follow(approved)
    found = re.search(r'id="one-time-password">([^<]+)<', shown.text)
    assert found is not None, text_of(shown)
    password = found.group(1)
    again = await admin.client.get(approved.headers["location"])
    assert password not in again.text
    assert "已显示过" in text_of(again)

    owner = new_person()
    signed = await owner.sign_in("13700000002", password)
    assert signed.status_code == 303
    assert signed.headers["location"].startswith("/console/password")  # the forced change


async def test_an_application_is_rejected_with_its_reason(
    world: World, new_person: Callable[[], Person]
) -> None:
    applied = await world.client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": credit_code("91140100", "MA0K8X3C"), "name": "太原第三化工有限公司",
            "county_id": "140105",
            "address": "山西省太原市小店区化工路3号", "kinds": ["producer"],
            "industry_code": "2614", "contact_name": "孙八", "contact_mobile": "13700000003",
        },
    )  # fmt: skip
    page_path = f"/applications/{applied.json()['id']}"
    admin = await _person(new_person, COUNTY_ADMIN)
    rejected = await admin.submit(page_path, page_path + "/reject", {"reason": "营业执照不清晰"})
    assert rejected.status_code == 303
    page = text_of(await admin.follow(rejected))
    assert "已驳回" in page
    assert "营业执照不清晰" in page
    assert "太原第三化工有限公司" not in (await admin.get("/applications")).text  # pending only
    assert "太原第三化工有限公司" in (await admin.get("/applications", status="rejected")).text


async def test_certificates_expiring_within_the_window_are_listed(
    world: World, new_person: Callable[[], Person]
) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    province = await _person(new_person, PROVINCE_REVIEWER)

    assert ENTERPRISE not in (await province.get("/certificates")).text  # 90 days by default
    within = await province.get("/certificates", expiring_within_days="1100")
    assert within.status_code == 200
    [row] = [r for r in _rows(within) if ENTERPRISE in r]
    assert re.search(r"14-\d{4}-\d{5}", row)  # the certificate's number
    bad = await province.get("/certificates", expiring_within_days="soon")
    assert bad.status_code == 422
    assert 'id="f-expiring_within_days-error"' in bad.text
    outsider = await _person(new_person, OTHER_COUNTY_REVIEWER)
    listed = await outsider.get("/certificates", expiring_within_days="1100")
    assert ENTERPRISE not in listed.text


async def test_a_code_is_suspended_and_reinstated_with_a_reason(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    code_id = await code_of(world, product_id)
    assert code_id is not None
    page_path = f"/codes/{code_id}"

    viewer = await _person(new_person, COUNTY_VIEWER)
    seen = await viewer.get(page_path)
    assert seen.status_code == 200
    assert "/suspend" not in seen.text
    assert "丙酮" in text_of(seen)
    assert ENTERPRISE in text_of(seen)
    assert "有效" in text_of(seen)

    reviewer = await _person(new_person, COUNTY_REVIEWER)
    unexplained = await reviewer.submit(page_path, page_path + "/suspend", {"reason": ""})
    assert unexplained.status_code == 422
    assert 'id="f-reason-error"' in unexplained.text
    assert (await world.owner.get(f"/codes/{code_id}")).json()["status"] == "active"

    suspended = await reviewer.submit(
        page_path, page_path + "/suspend", {"reason": "标签与登记不符"}
    )
    assert suspended.status_code == 303
    assert "已暂停" in text_of(await reviewer.follow(suspended))
    api = (await world.owner.get(f"/codes/{code_id}")).json()
    assert api["status"] == "suspended"
    assert api["changes"][-1]["reason"] == "标签与登记不符"

    reinstated = await reviewer.submit(page_path, page_path + "/reinstate", {"reason": "已整改"})
    assert reinstated.status_code == 303
    api = (await world.owner.get(f"/codes/{code_id}")).json()
    assert api["status"] == "active"
    assert api["changes"][-1]["reason"] == "已整改"

    forged = await viewer.submit(page_path, page_path + "/suspend", {"reason": "伪造的暂停"})
    assert forged.status_code == 403
    outsider = await _person(new_person, OTHER_COUNTY_REVIEWER)
    assert (await outsider.get(page_path)).status_code == 404
    assert (await outsider.get("/codes/not-a-code")).status_code == 404


async def test_an_info_update_shows_old_and_new_and_a_deregistration_its_reason(
    world: World, new_person: Callable[[], Person]
) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))  # registered: updates reviewed
    update = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/info-updates",
        {"changes": {"safety_head": "孙八", "emergency_phone": "0351-7654321"}},
    )
    assert update.status_code == 201, update.text
    county = await _person(new_person, COUNTY_REVIEWER)
    queue = await county.get("/reviews")
    [row] = [r for r in _rows(queue) if f"/console/submissions/{update.json()['id']}" in r]
    assert "安全负责人" in row

    page = await county.get(f"/submissions/{update.json()['id']}")
    safety_head = next(r for r in _rows(page) if "安全负责人</th>" in r)
    assert 'class="changed"' in safety_head
    assert "孙八" in safety_head
    approved = await county.submit(
        f"/submissions/{update.json()['id']}", f"/submissions/{update.json()['id']}/approve"
    )
    assert approved.status_code == 303
    assert (await _submission(world, update.json()["id"]))["waiting_at"]["step"] == 1

    closing = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/deregistrations", {"reason": "已停产并拆除装置"}
    )
    assert closing.status_code == 201, closing.text
    page = await county.get(f"/submissions/{closing.json()['id']}")
    assert "注销理由" in text_of(page)
    assert "已停产并拆除装置" in text_of(page)


async def test_a_long_queue_is_paged_oldest_first(
    world: World, new_person: Callable[[], Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_reviews, "QUEUE_PAGE_ROWS", 2)  # a province's 100, in small
    _, revision_id = await new_draft(world)
    filed = [await register(world, revision_id)]
    county_admin = await sign_in(world.client, COUNTY_ADMIN, GOOD_PASSWORD)
    admin = Signed(world.client, county_admin.json()["token"], county_admin.json()["account"]["id"])
    for n in (1, 2):  # two more enterprises: one registration under review each
        applied = await world.client.post(
            f"{API}/enterprise-applications",
            json={
                "uscc": credit_code("91140105", f"MA0QUEU{n}"),
                "name": f"太原排队{n}号化工有限公司",
                "county_id": "140105", "address": "山西省太原市小店区排队路1号",
                "kinds": ["producer"], "industry_code": "2614", "contact_name": "钱七",
                "contact_mobile": f"1370000070{n}",
            },
        )  # fmt: skip
        assert applied.status_code == 201, applied.text
        approved = await admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
        owner = await first_sign_in(
            world.client, f"1370000070{n}", approved.json()["temporary_password"]
        )
        enterprise_id = approved.json()["enterprise"]["id"]
        product = await owner.post(f"/enterprises/{enterprise_id}/products", ACETONE)
        drafted = await owner.post(f"/products/{product.json()['id']}/revisions", revision_body())
        registered = await owner.post(
            f"/enterprises/{enterprise_id}/registrations",
            {"kind": "new", "revision_ids": [drafted.json()["id"]]},
        )
        assert registered.status_code == 201, registered.text
        filed.append(registered.json()["id"])
    links = [f"/console/submissions/{n}" for n in filed]
    province = await _person(new_person, PROVINCE_REVIEWER)

    everything = await province.get("/reviews")
    assert "显示第 1–2 条，共 3 条" in text_of(everything)
    assert [link in everything.text for link in links] == [True, True, False]
    first = await province.get("/reviews", pipeline="registration")
    assert [link in first.text for link in links] == [True, True, False]
    assert 'rel="prev"' not in first.text
    found = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert found is not None
    second = await province.client.get(found.group(1).replace("&amp;", "&"))
    assert [link in second.text for link in links] == [False, False, True]
    assert "显示第 3–3 条，共 3 条" in text_of(second)
    assert 'rel="next"' not in second.text
    assert 'rel="prev"' in second.text
    junk = await province.get("/reviews", pipeline="registration", **{"from": "-5x"})
    assert junk.status_code == 200
    assert links[0] in junk.text  # an unreadable start is the first page
