"""Safety permits on the console: the enterprise keeps them on its record page (a row per
kind), each bad input named beside it; the record page and the regulators' page of the
enterprise mark an expired permit and one expiring within 90 days; after registration a
change of permits is filed for review and shown to the reviewer beside the record."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import httpx

from tests.console.conftest import Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD
from tests.registry_api.world import OWNER_MOBILE, World, approve_all, new_draft, register

COUNTY_REVIEWER = "13900000205"
TODAY = date.today()


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


def _day(days_from_today: int) -> str:
    return (TODAY + timedelta(days=days_from_today)).isoformat()


def _unchanged(record: httpx.Response) -> dict[str, str]:
    """The record form's required fields as the page shows them, and its version."""
    version = re.search(r'name="version" value="([0-9]+)"', record.text)
    assert version is not None
    return {
        "version": version.group(1),
        "name": "太原示范化工有限公司",
        "address": "山西省太原市小店区示范路1号",
        "industry_code": "2614",
    }


def _permit(kind: str, number: str, issuer: str, start: str, until: str) -> dict[str, str]:
    return {
        f"permits.{kind}.number": number,
        f"permits.{kind}.issuer": issuer,
        f"permits.{kind}.valid_from": start,
        f"permits.{kind}.valid_until": until,
    }


async def test_the_record_page_keeps_permits_and_marks_the_expired_and_expiring(
    new_person: Callable[[], Person], world: World
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    record = await owner.get("/enterprise/record")
    assert "未登记安全许可证" in text_of(record)
    for kind in ("production_safety", "safe_use", "trading"):
        assert f'name="permits.{kind}.valid_until"' in record.text, kind

    # The production safety row is left blank: the safe-use and trading rows are the first
    # and second permits the registry is sent, and its errors come back beside their rows.
    fields = _unchanged(record) | (
        _permit("safe_use", "晋安使 0012", "太原市应急管理局", _day(-400), _day(-401))
        | _permit("trading", " ", "小店区应急管理局", _day(-30), _day(60))
    )
    bad = await owner.submit("/enterprise/record", fields=fields)
    assert bad.status_code == 422
    assert 'id="f-permits-safe_use-valid_until-error"' in bad.text
    assert 'id="f-permits-trading-number-error"' in bad.text
    assert 'id="f-permits-production_safety-number-error"' not in bad.text
    assert 'value="晋安使 0012"' in bad.text  # what was typed is kept
    stored = (await world.owner.get(f"/enterprises/{world.enterprise_id}")).json()
    assert stored["permits"] == []

    # A producer without a production safety permit is not refused (oversight flags it).
    fields |= {
        "permits.safe_use.valid_until": _day(-1),  # expired yesterday
        "permits.trading.number": "晋危化经 0318",  # its last day is 60 days away
    }
    saved = await owner.submit("/enterprise/record", fields=fields)
    assert saved.status_code == 303, text_of(saved)
    page = await owner.follow(saved)
    rows = _permit_rows(page)
    assert "危险化学品安全使用许可证" in rows["safe_use"]
    assert "已过期" in rows["safe_use"]
    assert "90 天内到期" in rows["trading"]
    assert "还有 60 天" in rows["trading"]
    assert "production_safety" not in rows
    stored = (await world.owner.get(f"/enterprises/{world.enterprise_id}")).json()
    assert [p["kind"] for p in stored["permits"]] == ["safe_use", "trading"]

    # The same on the regulators' page of the enterprise.
    reviewer = await _person(new_person, COUNTY_REVIEWER)
    seen = await reviewer.get(f"/enterprises/{world.enterprise_id}")
    assert seen.status_code == 200
    regulators_rows = _permit_rows(seen)
    assert "已过期" in regulators_rows["safe_use"]
    assert "90 天内到期" in regulators_rows["trading"]
    assert "晋危化经 0318" in regulators_rows["trading"]
    assert 'href="#permits"' in seen.text

    # Emptying a row removes that permit; a valid one is marked valid.
    renewed = _unchanged(page) | _permit("safe_use", "", "", "", "")
    renewed |= _permit("trading", "晋危化经 0318", "小店区应急管理局", _day(-30), _day(1000))
    saved = await owner.submit("/enterprise/record", fields=renewed)
    assert saved.status_code == 303, text_of(saved)
    rows = _permit_rows(await owner.follow(saved))
    assert set(rows) == {"trading"}
    assert "有效" in rows["trading"]
    assert "到期" not in rows["trading"]


async def test_a_registered_enterprise_files_its_permits_for_review(
    new_person: Callable[[], Person], world: World
) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    owner = await _person(new_person, OWNER_MOBILE)
    record = await owner.get("/enterprise/record")
    production = _permit(
        "production_safety",
        "（晋）WH安许证字〔2024〕0007号",
        "山西省应急管理厅",
        _day(-10),
        _day(1085),
    )
    filed = await owner.submit("/enterprise/record", fields=_unchanged(record) | production)
    assert filed.status_code == 303, text_of(filed)
    waiting_page = text_of(await owner.follow(filed))
    assert "已提交审核" in waiting_page
    assert "permits = 安全生产许可证 （晋）WH安许证字〔2024〕0007号" in waiting_page  # under review
    stored = (await world.owner.get(f"/enterprises/{world.enterprise_id}")).json()
    assert stored["permits"] == []  # it applies once approved

    [waiting] = (await world.county_reviewer.get("/reviews")).json()["submissions"]
    assert [p["kind"] for p in waiting["payload"]["changes"]["permits"]] == ["production_safety"]
    reviewer = await _person(new_person, COUNTY_REVIEWER)
    submission = text_of(await reviewer.get(f"/submissions/{waiting['id']}"))
    assert (
        f"安全生产许可证 （晋）WH安许证字〔2024〕0007号 · 山西省应急管理厅 · {_day(-10)}"
        in submission
    )

    for decider in (world.county_reviewer, world.province_reviewer, world.national_reviewer):
        decided = await decider.post(f"/submissions/{waiting['id']}/approve")
        assert decided.status_code == 200, decided.text
    rows = _permit_rows(await owner.get("/enterprise/record"))
    assert "（晋）WH安许证字〔2024〕0007号" in rows["production_safety"]
    assert "有效" in rows["production_safety"]


def _permit_rows(page: httpx.Response) -> dict[str, str]:
    """The text of each row of the permits table, by kind."""
    assert page.status_code == 200, text_of(page)
    return {
        kind: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
        for kind, row in re.findall(r'<tr id="permit-(\w+)">(.*?)</tr>', page.text, re.S)
    }
