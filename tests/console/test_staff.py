"""Admins' pages in the console: regulator accounts (create with the one-time password shown
once, reset, disable), the units and their chemical parks, and the annex 2 roster."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import httpx

from tests.console.conftest import Person, text_of
from tests.registry_api.conftest import API, GOOD_PASSWORD, sign_in
from tests.registry_api.world import World

CITY_ADMIN = "13900000202"
COUNTY_ADMIN = "13900000203"
COUNTY_REVIEWER = "13900000205"
COUNTY_VIEWER = "13900000206"
OTHER_COUNTY_REVIEWER = "13900000207"
NEW_MOBILE = "13900000299"
_ONCE = re.compile(r'id="one-time-password">([^<]+)<')


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


def _new_account(**changes: str) -> dict[str, str]:
    return {
        "mobile": NEW_MOBILE,
        "name": "王五",
        "role": "reviewer",
        "jurisdiction_id": "140105",
        "work_unit": "太原市小店区应急管理局",
        "position": "科员",
        "office_phone": "",
        "resident_id": "",
        "remark": "",
    } | changes


def _goes_to_sign_in(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(
        "/console/sign-in"
    )


async def test_an_admin_creates_an_account_and_sees_its_password_once(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    listed = await admin.get("/accounts")
    assert listed.status_code == 200
    shown = text_of(listed)
    assert "139****0205" in shown  # the county's reviewer, its mobile masked
    assert COUNTY_REVIEWER not in shown
    assert "139****0207" not in shown  # the other county's reviewer is not in scope

    created = await admin.submit("/accounts", fields=_new_account())
    assert created.status_code == 303, text_of(created)
    location = created.headers["location"]
    once = await admin.follow(created)
    assert once.status_code == 200
    found = _ONCE.search(once.text)
    assert found is not None, text_of(once)
    password = found.group(1)
    assert password not in location
    assert NEW_MOBILE in text_of(once)

    again = await admin.client.get(location)  # a reload, or the back button
    assert again.status_code == 200
    assert password not in again.text
    assert "已显示过" in text_of(again)

    assert "139****0299" in text_of(await admin.get("/accounts"))

    newcomer = new_person()
    signed = await newcomer.sign_in(NEW_MOBILE, password)
    assert signed.status_code == 303
    assert signed.headers["location"].startswith("/console/password")  # forced change
    assert (await newcomer.get("/reviews")).headers["location"] == "/console/password"
    changed = await newcomer.submit(
        "/password", fields={"current_password": password, "new_password": GOOD_PASSWORD}
    )
    assert changed.status_code == 303, text_of(changed)
    assert (await newcomer.get("/reviews")).status_code == 200


async def test_a_bad_new_account_is_named_field_by_field_with_what_was_typed_kept(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    bad = await admin.submit(
        "/accounts",
        fields=_new_account(
            mobile="12345", name="", work_unit="局", resident_id="1234", remark="见习"
        ),
    )
    assert bad.status_code == 422
    for name in ("mobile", "name", "work_unit", "resident_id"):
        assert f'id="f-{name}-error"' in bad.text, name
    assert 'id="f-position-error"' not in bad.text
    assert 'value="12345"' in bad.text
    assert 'value="科员"' in bad.text
    assert ">见习</textarea>" in bad.text
    assert "one-time-password" not in bad.text

    taken = await admin.submit("/accounts", fields=_new_account(mobile=COUNTY_VIEWER))
    assert taken.status_code == 409
    assert 'id="f-mobile-error"' in taken.text
    assert 'value="王五"' in taken.text

    # One level down an admin creates admins only: said beside the role.
    city = await _person(new_person, CITY_ADMIN)
    refused = await city.submit("/accounts", fields=_new_account())
    assert refused.status_code == 403
    assert 'id="f-role-error"' in refused.text
    assert 'value="太原市小店区应急管理局"' in refused.text
    assert "139****0299" not in text_of(await city.get("/accounts"))


async def test_an_admin_resets_a_password_and_disables_an_account_ending_its_sessions(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    viewer = await _person(new_person, COUNTY_VIEWER)
    assert (await viewer.get("/reviews")).status_code == 200
    account = f"/accounts/{world.county_viewer.account_id}"

    page = await admin.get(account)
    assert page.status_code == 200
    assert COUNTY_VIEWER in text_of(page)
    reset = await admin.submit(account, account + "/password-reset")
    assert reset.status_code == 303
    once = await admin.follow(reset)
    found = _ONCE.search(once.text)
    assert found is not None, text_of(once)
    password = found.group(1)
    assert password not in (await admin.client.get(reset.headers["location"])).text

    assert _goes_to_sign_in(await viewer.get("/reviews"))  # the reset ended its session
    assert (await viewer.sign_in(COUNTY_VIEWER, GOOD_PASSWORD)).status_code == 401
    signed = await viewer.sign_in(COUNTY_VIEWER, password)
    assert signed.headers["location"].startswith("/console/password")
    changed = await viewer.submit(
        "/password", fields={"current_password": password, "new_password": GOOD_PASSWORD}
    )
    assert changed.status_code == 303
    assert (await viewer.get("/reviews")).status_code == 200

    confirm = await admin.get(account + "/disable")
    assert confirm.status_code == 200
    assert "确认停用" in text_of(confirm)
    disabled = await admin.submit(account + "/disable")
    assert disabled.status_code == 303
    after = await admin.follow(disabled)
    assert "已停用" in text_of(after)
    assert "/password-reset" not in after.text  # nothing more to do with it

    assert _goes_to_sign_in(await viewer.get("/reviews"))
    assert (await viewer.sign_in(COUNTY_VIEWER, GOOD_PASSWORD)).status_code == 401
    again = await admin.submit(account, account + "/disable")
    assert again.status_code == 409


async def test_a_reviewer_reads_accounts_but_is_refused_what_admins_do(
    world: World, new_person: Callable[[], Person]
) -> None:
    reviewer = await _person(new_person, COUNTY_REVIEWER)
    listed = await reviewer.get("/accounts")
    assert listed.status_code == 200  # as GET /api/v1/accounts answers it
    assert 'action="/console/accounts"' not in listed.text

    created = await reviewer.submit("/accounts", fields=_new_account(role="viewer"))
    assert created.status_code == 403
    assert "one-time-password" not in created.text
    account = f"/accounts/{world.county_viewer.account_id}"
    assert "/password-reset" not in (await reviewer.get(account)).text
    assert (await reviewer.submit(account, account + "/password-reset")).status_code == 403
    assert (await reviewer.submit(account, account + "/disable")).status_code == 403
    assert (await reviewer.get("/units/140105/roster.csv")).status_code == 403
    unit = await reviewer.get("/units")
    assert unit.status_code == 200
    assert "/parks" not in unit.text
    assert "roster.csv" not in unit.text
    park = await reviewer.submit("/units", "/units/140105/parks", {"name": "某化工园区"})
    assert park.status_code == 403

    viewer = await _person(new_person, COUNTY_VIEWER)  # the reset did not happen
    assert (await viewer.get("/reviews")).status_code == 200
    accounts = await world.county_reviewer.get("/accounts")
    assert NEW_MOBILE not in accounts.text


async def test_a_county_admin_cannot_reach_another_countys_accounts_or_unit(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    other = f"/accounts/{world.other_county_reviewer.account_id}"
    assert (await admin.get(other)).status_code == 404
    assert (await admin.get(other + "/disable")).status_code == 404
    assert (await admin.submit("/accounts", other + "/password-reset")).status_code == 404
    assert (await admin.submit("/accounts", other + "/disable")).status_code == 404
    assert (await admin.get("/units/140106")).status_code == 404
    assert (await admin.get("/units/140106/roster.csv")).status_code == 404
    assert (await admin.get("/units/140100")).status_code == 404  # its city is above it
    assert (await admin.get("/accounts/99999999")).status_code == 404
    # Nothing was reset or disabled: the other county's reviewer still signs in.
    await _person(new_person, OTHER_COUNTY_REVIEWER)


async def test_a_park_added_appears_under_its_county(
    world: World, new_person: Callable[[], Person]
) -> None:
    city = await _person(new_person, CITY_ADMIN)
    own = await city.get("/units")
    assert own.status_code == 200
    assert 'href="/console/units/140105"' in own.text  # links down to its counties

    admin = await _person(new_person, COUNTY_ADMIN)
    county = await admin.get("/units")
    assert county.status_code == 200
    assert "小店区" in text_of(county)
    assert "没有下级单位" in text_of(county)

    blank = await admin.submit("/units", "/units/140105/parks", {"name": "园"})
    assert blank.status_code == 422
    assert 'id="f-name-error"' in blank.text
    assert 'value="园"' in blank.text

    added = await admin.submit("/units", "/units/140105/parks", {"name": "小店示范化工园区"})
    assert added.status_code == 303
    assert added.headers["location"].startswith("/console/units/140105")
    page = await admin.follow(added)
    assert 'href="/console/units/140105P01"' in page.text
    assert "小店示范化工园区" in text_of(page)

    park = await admin.get("/units/140105P01")
    assert park.status_code == 200
    assert "化工园区" in text_of(park)
    assert "/parks" not in park.text  # no park under a park
    assert 'href="/console/units/140105"' in park.text  # the way back up
    # The city's admin sees it too, one level further down.
    assert "小店示范化工园区" in text_of(await city.get("/units/140105"))


async def test_the_roster_downloads_with_the_apis_bytes_and_the_units_accounts(
    world: World, new_person: Callable[[], Person]
) -> None:
    admin = await _person(new_person, COUNTY_ADMIN)
    assert "/units/140105/roster.csv" in (await admin.get("/units")).text
    download = await admin.get("/units/140105/roster.csv")
    assert download.status_code == 200

    signed = await sign_in(world.client, COUNTY_ADMIN, GOOD_PASSWORD)
    token = signed.json()["token"]
    from_api = await world.client.get(
        f"{API}/jurisdictions/140105/roster.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert from_api.status_code == 200
    assert download.content == from_api.content
    for header in ("content-type", "content-disposition"):
        assert download.headers[header] == from_api.headers[header]

    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][0] == "职责"
    mobiles = {row[5] for row in rows[1:]}
    assert mobiles == {COUNTY_ADMIN, COUNTY_REVIEWER, COUNTY_VIEWER}
