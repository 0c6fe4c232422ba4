"""The public and enterprise pages of the console: applying for an account and looking it
up, the enterprise's home, its record and its changes, filings and their history."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.console.conftest import Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD, Signed, first_sign_in, sign_in
from tests.registry_api.world import (
    ACETONE,
    OWNER_MOBILE,
    World,
    approve_all,
    new_draft,
    register,
)

COUNTY_ADMIN = "13900000203"
APPLICATION = {
    "uscc": "91110000600037341L",
    "name": "太原第二化工有限公司",
    "county_id": "140105",
    "address": "山西省太原市小店区化工路2号",
    "industry_code": "2614",
    "contact_name": "钱七",
    "contact_mobile": "13700000002",
}


def _application(**changes: str) -> list[tuple[str, str]]:
    return [*(APPLICATION | changes).items(), ("kinds", "producer"), ("kinds", "chemical")]


async def _signed_in_api(client: httpx.AsyncClient, mobile: str) -> Signed:
    signed = await sign_in(client, mobile, GOOD_PASSWORD)
    assert signed.status_code == 200, signed.text
    return Signed(client, signed.json()["token"], signed.json()["account"]["id"])


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


async def _applied(visitor: Person, **changes: str) -> int:
    sent = await visitor.submit("/apply", fields=_application(**changes))
    assert sent.status_code == 303, text_of(sent)
    page = await visitor.follow(sent)
    found = re.search(r'id="application-number">([0-9]+)<', page.text)
    assert found is not None, text_of(page)
    return int(found.group(1))


async def _look_up(visitor: Person, number: int, mobile: str) -> httpx.Response:
    return await visitor.submit(
        "/application-status", fields={"application_id": str(number), "mobile": mobile}
    )


async def test_an_application_names_each_bad_field_beside_its_input_then_goes_through(
    new_person: Callable[[], Person],
) -> None:
    visitor = new_person()
    form = await visitor.get("/apply")
    assert form.status_code == 200
    assert '<option value="140105">小店区 (140105)</option>' in form.text

    bad = await visitor.submit(
        "/apply",
        fields={
            "uscc": "91110000600037341M",  # a wrong check character
            "name": "太原",  # too short
            "county_id": "",
            "address": "山西省太原市小店区化工路2号",
            "industry_code": "26",
            "contact_name": "钱七",
            "contact_mobile": "12345",
        },  # and no kind ticked
    )
    assert bad.status_code == 422
    for name in ("uscc", "name", "county_id", "kinds", "industry_code", "contact_mobile"):
        assert f'id="f-{name}-error"' in bad.text, name
    assert 'id="f-address-error"' not in bad.text
    assert 'value="山西省太原市小店区化工路2号"' in bad.text  # what was typed is kept
    assert 'value="91110000600037341M"' in bad.text

    # The registry's own checks: an industry class outside annex 1 for a chemical enterprise.
    outside = await visitor.submit("/apply", fields=_application(industry_code="1511"))
    assert outside.status_code == 422
    assert 'id="f-industry_code-error"' in outside.text
    assert "annex 1" in text_of(outside)
    assert 'value="producer" checked' in outside.text  # the kinds ticked stay ticked

    number = await _applied(visitor)
    sent = await visitor.get(f"/apply/sent?number={number}")
    assert "application-status?number=" in sent.text

    # The same credit code again, while the first waits: refused, said beside the code.
    again = await visitor.submit("/apply", fields=_application(contact_mobile="13700000003"))
    assert again.status_code == 409
    assert 'id="f-uscc-error"' in again.text


async def test_an_application_is_looked_up_by_its_number_and_mobile(
    new_person: Callable[[], Person], world: World
) -> None:
    visitor = new_person()
    number = await _applied(visitor)

    pending = await _look_up(visitor, number, APPLICATION["contact_mobile"])
    assert pending.status_code == 200
    assert "审核中" in text_of(pending)
    assert APPLICATION["name"] in text_of(pending)

    # A wrong mobile and a number that does not exist get the same answer.
    wrong_mobile = await _look_up(visitor, number, "13700000009")
    no_such = await _look_up(visitor, number + 1000, APPLICATION["contact_mobile"])
    assert wrong_mobile.status_code == no_such.status_code == 404
    for answer in (wrong_mobile, no_such):
        assert "没有找到与此申请编号和手机号相符的申请" in text_of(answer)
        assert APPLICATION["name"] not in text_of(answer)
        assert "审核中" not in text_of(answer)

    county_admin = await _signed_in_api(world.client, COUNTY_ADMIN)
    approved = await county_admin.post(f"/enterprise-applications/{number}/approve")
    assert approved.status_code == 200, approved.text
    done = await _look_up(visitor, number, APPLICATION["contact_mobile"])
    assert done.status_code == 200
    assert "已通过" in text_of(done)

    other = await _applied(
        visitor, uscc="91140105MA0GRKQ5XN", contact_mobile="13700000004", name="太原第三化工厂"
    )
    rejected = await county_admin.post(
        f"/enterprise-applications/{other}/reject", {"reason": "营业执照与名称不符"}
    )
    assert rejected.status_code == 200, rejected.text
    answer = await _look_up(visitor, other, "137 0000 0004")  # written as people write it
    assert "已驳回" in text_of(answer)
    assert "营业执照与名称不符" in text_of(answer)


async def test_the_home_page_lists_products_what_waits_rejections_and_the_certificate(
    new_person: Callable[[], Person], world: World
) -> None:
    product_id, revision_id = await new_draft(world)
    owner = await _person(new_person, OWNER_MOBILE)
    home = await owner.get("/enterprise")
    assert home.status_code == 200
    text = text_of(home)
    assert "太原示范化工有限公司" in text
    assert "丙酮" in text
    assert f"/console/products/{product_id}" in home.text
    assert "草稿未申报" in text
    assert "可以申报" in text
    assert "尚未取得危险化学品登记证" in text

    submission_id = await register(world, revision_id)
    rejected = await world.province_reviewer.post(
        f"/submissions/{submission_id}/reject", {"reason": "第8部分防护措施不完整"}
    )
    assert rejected.status_code == 200, rejected.text
    text = text_of(await owner.get("/enterprise"))
    assert "第8部分防护措施不完整" in text
    assert "省级审核" in text  # where it was rejected

    again = await register(world, revision_id, resubmission_of=submission_id)
    text = text_of(await owner.get("/enterprise"))
    assert "第8部分防护措施不完整" not in text  # filed again: it no longer waits on them
    assert f"#{again}" in text
    assert "审核中" in text

    await approve_all(world, again)
    certificates = await world.owner.get(f"/enterprises/{world.enterprise_id}/certificates")
    held = certificates.json()["certificates"][0]
    text = text_of(await owner.get("/enterprise"))
    assert held["number"] in text
    assert held["expires_on"] in text
    assert "现行版本" in text


async def test_the_record_page_shows_every_field_and_saves_changes_directly_before_registration(
    new_person: Callable[[], Person], world: World
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    record = await owner.get("/enterprise/record")
    assert record.status_code == 200
    text = text_of(record)
    for shown in (
        "91350100M000100Y43",
        "小店区",
        "山西省太原市小店区示范路1号",
        "2614",
        "化工企业",
    ):
        assert shown in text, shown
    assert "修改保存后立即生效" in text

    version = re.search(r'name="version" value="([0-9]+)"', record.text)
    assert version is not None
    fields = {
        "version": version.group(1),
        "name": "太原示范化工有限公司",
        "address": "山西省太原市小店区示范路1号",
        "industry_code": "2614",
        "safety_head": "王五",
        "safety_head_phone": "12345",
        "aging_installations[0].name": "老旧反应釜",
        "aging_installations[0].year_commissioned": "19x0",
        "aging_installations[0].status": "在用",
    }
    bad = await owner.submit("/enterprise/record", fields=fields)
    assert bad.status_code == 422
    assert 'id="f-safety_head_phone-error"' in bad.text
    assert 'id="f-aging_installations-0-year_commissioned-error"' in bad.text, text_of(bad)[-1500:]
    assert 'value="王五"' in bad.text
    assert 'value="老旧反应釜"' in bad.text

    fields |= {
        "safety_head_phone": "0351-1234567",
        "aging_installations[0].year_commissioned": "1990",
    }
    saved = await owner.submit("/enterprise/record", fields=fields)
    assert saved.status_code == 303, text_of(saved)
    text = text_of(await owner.follow(saved))
    assert "已保存" in text
    assert "王五" in text
    assert "0351-1234567" in text
    assert "老旧反应釜" in text
    stored = (await world.owner.get(f"/enterprises/{world.enterprise_id}")).json()
    assert stored["safety_head"] == "王五"
    assert stored["aging_installations"][0]["year_commissioned"] == 1990

    # The form as it was: the version it showed is stale now, and nothing is lost.
    stale = await owner.client.post(
        "/console/enterprise/record",
        data=fields | {"csrf": await owner.token("/enterprise/record"), "safety_head": "赵六"},
    )
    assert stale.status_code == 412


async def test_a_registered_enterprise_files_an_info_update_for_review(
    new_person: Callable[[], Person], world: World
) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    owner = await _person(new_person, OWNER_MOBILE)
    record = await owner.get("/enterprise/record")
    assert "审核通过后生效" in text_of(record)
    version = re.search(r'name="version" value="([0-9]+)"', record.text)
    assert version is not None
    unchanged = {
        "version": version.group(1),
        "name": "太原示范化工有限公司",
        "address": "山西省太原市小店区示范路1号",
        "industry_code": "2614",
    }
    nothing = await owner.submit("/enterprise/record", fields=unchanged)
    assert nothing.status_code == 422
    assert "没有修改任何内容" in text_of(nothing)

    filed = await owner.submit("/enterprise/record", fields=unchanged | {"safety_head": "李四"})
    assert filed.status_code == 303, text_of(filed)
    page = text_of(await owner.follow(filed))
    assert "已提交审核" in page
    assert "正在审核" in page
    assert "safety_head = 李四" in page
    stored = (await world.owner.get(f"/enterprises/{world.enterprise_id}")).json()
    assert stored["safety_head"] is None  # it applies once approved
    queue = (await world.county_reviewer.get("/reviews")).json()["submissions"]
    assert [s["payload"] for s in queue] == [{"changes": {"safety_head": "李四"}}]


async def test_a_registration_filed_from_the_console_reaches_the_province_queue(
    new_person: Callable[[], Person], world: World
) -> None:
    _, ready = await new_draft(world)
    other = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/products", ACETONE | {"name_zh": "乙醇"}
    )
    incomplete = await world.owner.post(f"/products/{other.json()['id']}/revisions", {})
    assert incomplete.status_code == 201, incomplete.text
    blocked = incomplete.json()["id"]

    owner = await _person(new_person, OWNER_MOBILE)
    page = await owner.get("/enterprise/filings")
    assert page.status_code == 200
    assert f'name="revision_ids" value="{ready}"' in page.text
    assert f'name="revision_ids" value="{blocked}"' not in page.text  # it has problems
    assert "尚不能申报的草稿" in text_of(page)
    assert "乙醇" in text_of(page)

    # Named anyway: the registry's problems are shown, nothing is filed.
    refused = await owner.submit(
        "/enterprise/filings",
        "/enterprise/filings/registration",
        [("kind", "new"), ("revision_ids", str(blocked))],
    )
    assert refused.status_code == 422
    assert "登记系统未接受" in text_of(refused)
    assert (await world.province_reviewer.get("/reviews")).json()["submissions"] == []

    filed = await owner.submit(
        "/enterprise/filings",
        "/enterprise/filings/registration",
        [("kind", "new"), ("revision_ids", str(ready))],
    )
    assert filed.status_code == 303, text_of(filed)
    after = text_of(await owner.follow(filed))
    assert "已提交申报" in after
    assert "新登记" in after
    assert "省级审核" in after
    queue = (await world.province_reviewer.get("/reviews")).json()["submissions"]
    assert [s["revision_ids"] for s in queue] == [[ready]]

    # Once registered, a renewal before its window is refused with the registry's reason.
    await approve_all(world, queue[0]["id"])
    history = text_of(await owner.get("/enterprise/filings"))
    assert "国家审批" in history
    assert "张三" in history
    early = await owner.submit(
        "/enterprise/filings", "/enterprise/filings/registration", {"kind": "renewal"}
    )
    assert early.status_code == 409
    assert "renewal opens on" in text_of(early)
    assert (await world.province_reviewer.get("/reviews")).json()["submissions"] == []


async def test_a_deregistration_needs_a_reason(
    new_person: Callable[[], Person], world: World
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    blank = await owner.submit(
        "/enterprise/filings", "/enterprise/filings/deregistration", {"reason": " "}
    )
    assert blank.status_code == 422
    assert 'id="f-reason-error"' in blank.text
    assert (await world.county_reviewer.get("/reviews")).json()["submissions"] == []

    filed = await owner.submit(
        "/enterprise/filings", "/enterprise/filings/deregistration", {"reason": "企业已关闭"}
    )
    assert filed.status_code == 303, text_of(filed)
    queue = (await world.county_reviewer.get("/reviews")).json()["submissions"]
    assert [s["payload"] for s in queue] == [{"reason": "企业已关闭"}]
    assert "企业已关闭" in text_of(await owner.follow(filed))


async def test_regulators_and_other_enterprises_reach_nothing_of_the_enterprise(
    new_person: Callable[[], Person], world: World
) -> None:
    _, revision_id = await new_draft(world)
    regulator = await _person(new_person, "13900000205")  # the enterprise's county reviewer
    for path in ("/enterprise", "/enterprise/record", "/enterprise/filings"):
        assert (await regulator.get(path)).status_code == 404, path
    posted = await regulator.submit(
        "/apply", "/enterprise/filings/deregistration", {"reason": "企业已关闭"}
    )
    assert posted.status_code == 404

    # Another enterprise of the county, approved, signed in.
    visitor = new_person()
    number = await _applied(visitor)
    county_admin = await _signed_in_api(world.client, COUNTY_ADMIN)
    approved = await county_admin.post(f"/enterprise-applications/{number}/approve")
    await first_sign_in(
        world.client, APPLICATION["contact_mobile"], approved.json()["temporary_password"]
    )
    other = await _person(new_person, APPLICATION["contact_mobile"])
    home = text_of(await other.get("/enterprise"))
    assert APPLICATION["name"] in home
    assert "丙酮" not in home
    stolen = await other.submit(
        "/enterprise/filings",
        "/enterprise/filings/registration",
        [("kind", "new"), ("revision_ids", str(revision_id))],
    )
    assert stolen.status_code == 422
    assert "not a revision of the enterprise" in text_of(stolen)
    draft = await world.owner.get(f"/revisions/{revision_id}")
    assert draft.json()["status"] == "draft"
