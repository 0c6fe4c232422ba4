"""Notices (通知公告) through /api/v1: an admin publishes to its unit and everything below it
(and to the enterprises there when it says so), readers mark them read, and the admins of
the publishing unit and above read the receipts; nothing reaches a sibling unit or the unit
above, and every bad field is named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from registry_api.oversight.notices import reaches
from registry_api.oversight.storage import Notice
from tests.registry_api.conftest import (
    API,
    GOOD_PASSWORD,
    Signed,
    create_account,
    regulator,
    sign_in,
)
from tests.registry_api.world import World

PROVINCE_ADMIN, CITY_ADMIN, COUNTY_ADMIN = "13900000201", "13900000202", "13900000203"


async def _admin(world: World, mobile: str) -> Signed:
    """An admin of the world (created there, its password changed to the good one)."""
    response = await sign_in(world.client, mobile, GOOD_PASSWORD)
    assert response.status_code == 200, response.text
    return Signed(world.client, response.json()["token"], response.json()["account"]["id"])


async def _publish(by: Signed, title: str, *, to_enterprises: bool = False) -> dict[str, Any]:
    published = await by.post(
        "/notices",
        {
            "title": title,
            "body": f"{title}：请各单位知悉并落实。",
            "to_enterprises": to_enterprises,
        },
    )
    assert published.status_code == 201, published.text
    body: dict[str, Any] = published.json()
    return body


async def _list(who: Signed, **params: str) -> httpx.Response:
    return await who.client.get(f"{API}/notices", params=params, headers=who.headers())


async def _titles(who: Signed) -> list[str]:
    response = await _list(who)
    assert response.status_code == 200, response.text
    return [n["title"] for n in response.json()["notices"]]


async def test_a_county_admins_notice_reaches_its_county_and_below_only(world: World) -> None:
    county = await _admin(world, COUNTY_ADMIN)
    published = await _publish(county, "小店区通知")
    assert published["unit"] == {"id": "140105", "name": "小店区"}
    assert published["author"]["id"] == county.account_id
    assert published["body"] == "小店区通知：请各单位知悉并落实。"
    assert published["to_enterprises"] is False
    assert published["read_at"] is None
    # A park of the county, and its admin: below the county, so reached.
    parked = await county.post("/jurisdictions/140105/parks", {"name": "小店化工园区"})
    assert parked.status_code == 201, parked.text
    park_admin = await create_account(
        county, regulator("13900000301", "admin", "park", parked.json()["id"])
    )

    for reached in (county, world.county_reviewer, world.county_viewer, park_admin):
        assert await _titles(reached) == ["小店区通知"]
    # Not to the enterprise (the admin did not say so), nor a sibling county, nor the units
    # above: the city, the province and the nation do not find it among theirs.
    for unreached in (
        world.owner,
        world.other_county_reviewer,
        world.province_reviewer,
        world.national_reviewer,
        await _admin(world, CITY_ADMIN),
    ):
        assert await _titles(unreached) == []
    gone = await world.other_county_reviewer.get(f"/notices/{published['id']}")
    assert gone.status_code == 404, gone.text
    assert (await world.owner.get(f"/notices/{published['id']}")).status_code == 404
    # Those above oversee what is published below: they open it (and its admins read who read).
    overseen = await world.province_reviewer.get(f"/notices/{published['id']}")
    assert overseen.status_code == 200, overseen.text
    assert overseen.json()["title"] == "小店区通知"

    # Asked to, the county's enterprises read it too; another county's do not see it.
    for_enterprises = await _publish(county, "致辖区企业", to_enterprises=True)
    assert await _titles(world.owner) == ["致辖区企业"]
    opened = await world.owner.get(f"/notices/{for_enterprises['id']}")
    assert opened.status_code == 200, opened.text
    assert (
        await world.other_county_reviewer.get(f"/notices/{for_enterprises['id']}")
    ).status_code == 404

    # A park's notice does not climb: the county reads it only as its overseer.
    park_notice = await _publish(park_admin, "园区通知", to_enterprises=True)
    assert "园区通知" not in await _titles(world.county_reviewer)
    assert "园区通知" not in await _titles(world.owner)  # not in the park
    assert (await world.county_reviewer.get(f"/notices/{park_notice['id']}")).status_code == 200
    assert (await world.owner.get(f"/notices/{park_notice['id']}")).status_code == 404


async def test_a_province_notice_reaches_every_unit_below_and_newest_comes_first(
    world: World,
) -> None:
    province = await _admin(world, PROVINCE_ADMIN)
    county = await _admin(world, COUNTY_ADMIN)
    await _publish(province, "全省通知", to_enterprises=True)
    await _publish(county, "县级通知", to_enterprises=True)
    assert await _titles(world.county_reviewer) == ["县级通知", "全省通知"]
    assert await _titles(world.owner) == ["县级通知", "全省通知"]
    assert await _titles(world.other_county_reviewer) == ["全省通知"]
    assert await _titles(world.province_reviewer) == ["全省通知"]
    # The nation is above the province: nothing of the province's climbs to it.
    assert await _titles(world.national_reviewer) == []


async def test_only_admins_publish(world: World) -> None:
    body = {"title": "通知", "body": "内容"}
    for refused in (world.county_reviewer, world.county_viewer, world.national_reviewer):
        response = await refused.post("/notices", body)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    owner = await world.owner.post("/notices", body)
    assert owner.status_code == 403, owner.text
    # A refusal published nothing.
    assert await _titles(world.county_reviewer) == []


async def test_every_bad_field_is_named(world: World) -> None:
    county = await _admin(world, COUNTY_ADMIN)
    response = await county.post(
        "/notices", {"title": "  ", "body": "长" * 5001, "to_enterprises": "yes", "unit": "x"}
    )
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"title", "body", "to_enterprises", "unit"}
    assert "5000" in fields["body"]
    missing = await county.post("/notices", {"to_enterprises": True})
    assert missing.status_code == 422, missing.text
    assert set(missing.json()["error"]["fields"]) == {"title", "body"}
    too_long = await county.post("/notices", {"title": "题" * 101, "body": "内容"})
    assert set(too_long.json()["error"]["fields"]) == {"title"}
    # At the limits it is taken; the white space around a text is trimmed.
    taken = await county.post("/notices", {"title": "题" * 100, "body": "文" * 5000})
    assert taken.status_code == 201, taken.text
    trimmed = await county.post("/notices", {"title": "  通知\n", "body": " 内容 "})
    assert (trimmed.json()["title"], trimmed.json()["body"]) == ("通知", "内容")

    bad_query = await _list(county, limit="0", before="x", unread="yes")
    assert bad_query.status_code == 422, bad_query.text
    assert set(bad_query.json()["error"]["fields"]) == {"limit", "before", "unread"}
    for path in ("/notices/abc", "/notices/987654321", "/notices/987654321/receipts"):
        assert (await county.get(path)).status_code == 404, path
    assert (await county.post("/notices/987654321/read")).status_code == 404


async def test_pages_follow_one_another(world: World) -> None:
    county = await _admin(world, COUNTY_ADMIN)
    for number in range(1, 6):
        await _publish(county, f"第{number}号")
    first = await _list(world.county_viewer, limit="2")
    assert [n["title"] for n in first.json()["notices"]] == ["第5号", "第4号"]
    titles = [n["title"] for n in first.json()["notices"]]
    before = first.json()["next_before"]
    while before is not None:
        page = await _list(world.county_viewer, limit="2", before=str(before))
        titles += [n["title"] for n in page.json()["notices"]]
        before = page.json()["next_before"]
    assert titles == [f"第{n}号" for n in range(5, 0, -1)]


async def test_read_receipts_are_idempotent_and_counted(world: World, pool: asyncpg.Pool) -> None:
    county = await _admin(world, COUNTY_ADMIN)
    notice = await _publish(county, "安全码赋码工作通知", to_enterprises=True)
    path = f"/notices/{notice['id']}"
    listed = (await _list(world.county_reviewer)).json()
    assert listed["unread"] == 1
    assert listed["notices"][0]["read_at"] is None

    read = await world.county_reviewer.post(f"{path}/read")
    assert read.status_code == 200, read.text
    read_at = read.json()["read_at"]
    assert read_at is not None
    again = await world.county_reviewer.post(f"{path}/read")
    assert again.status_code == 200, again.text
    assert again.json()["read_at"] == read_at  # the first reading stands
    listed = (await _list(world.county_reviewer)).json()
    assert listed["unread"] == 0
    assert listed["notices"][0]["read_at"] == read_at
    assert (await _list(world.county_reviewer, unread="true")).json()["notices"] == []
    # Another reader's receipt is its own.
    assert (await world.county_viewer.get(path)).json()["read_at"] is None
    assert [
        n["title"] for n in (await _list(world.county_viewer, unread="true")).json()["notices"]
    ] == ["安全码赋码工作通知"]

    assert (await world.owner.post(f"{path}/read")).status_code == 200
    # An overseer above who read it is listed, but is not one of those it reaches.
    assert (await world.province_reviewer.post(f"{path}/read")).status_code == 200

    receipts = await county.get(f"{path}/receipts")
    assert receipts.status_code == 200, receipts.text
    body = receipts.json()
    # Reached: the county's admin, reviewer and viewer, and the enterprise's owner.
    assert (body["reached"], body["unread"]) == (4, 2)
    readers = [(r["account_id"], r["kind"]) for r in body["readers"]]
    assert readers == [
        (world.province_reviewer.account_id, "regulator"),
        (world.owner.account_id, "enterprise"),
        (world.county_reviewer.account_id, "regulator"),
    ]
    assert body["readers"][1]["where"] == "太原示范化工有限公司"
    assert body["readers"][2]["where"] == "小店区"
    assert body["readers"][2]["read_at"] == read_at
    paged = (await county.get(f"{path}/receipts?limit=2")).json()
    assert len(paged["readers"]) == 2
    rest = (await county.get(f"{path}/receipts?limit=2&before={paged['next_before']}")).json()
    assert [r["account_id"] for r in rest["readers"]] == [world.county_reviewer.account_id]
    assert rest["next_before"] is None

    # The admins above read the receipts too; no one else does.
    city = await _admin(world, CITY_ADMIN)
    assert (await city.get(f"{path}/receipts")).status_code == 200
    for refused in (world.county_reviewer, world.province_reviewer, world.owner):
        assert (await refused.get(f"{path}/receipts")).status_code == 403
    assert (await world.other_county_reviewer.get(f"{path}/receipts")).status_code == 404

    # Publishing is in the audit log, with its text; reading is a receipt, not an entry.
    async with pool.acquire() as conn:
        entries = await conn.fetch(
            "SELECT action, actor_id, changes FROM audit_log WHERE subject_type = 'notice'"
            " AND subject_id = $1",
            str(notice["id"]),
        )
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("notice.publish", county.account_id)
    ]
    assert '"安全码赋码工作通知"' in entries[0]["changes"]


def _notice(unit_path: str, *, to_enterprises: bool) -> Notice:
    return Notice(
        id=1, unit_id=unit_path.rsplit("/", 1)[-1], unit_name="", unit_path=unit_path,
        author_id=1, author_name="", title="", body="", to_enterprises=to_enterprises,
        published_at=datetime.now(UTC), read_at=None,
    )  # fmt: skip


def test_an_enterprise_in_a_park_is_reached_by_the_park_and_the_units_above_it() -> None:
    county, park = "000000/140000/140100/140105", "000000/140000/140100/140105/140105P01"
    in_the_park = [county, park]
    assert reaches(_notice(park, to_enterprises=True), in_the_park, enterprise=True)
    assert reaches(_notice(county, to_enterprises=True), in_the_park, enterprise=True)
    assert not reaches(_notice(park, to_enterprises=False), in_the_park, enterprise=True)
    # Outside the park, in the same county: the park's notice is not its.
    assert not reaches(_notice(park, to_enterprises=True), [county], enterprise=True)
    # A park of the city (not of a county) reaches its enterprises in whatever county.
    city_park = "000000/140000/140100/140100P01"
    assert reaches(_notice(city_park, to_enterprises=True), [county, city_park], enterprise=True)
    assert not reaches(
        _notice("000000/140000/140100/140106", to_enterprises=True), in_the_park, enterprise=True
    )
