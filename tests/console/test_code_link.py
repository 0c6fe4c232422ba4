"""The scan page's link to the console: the same link for every reader, leading the
enterprise and its regulators to the code's console page, anyone else to a 404 page, and
someone not signed in to sign in and back to the code."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import httpx

from tests.console.conftest import CONSOLE, Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD
from tests.registry_api.world import OWNER_MOBILE, World, approve_all, code_of, new_draft, register

COUNTY_VIEWER = "13900000206"
PROVINCE_REVIEWER = "13900000208"
OTHER_COUNTY_REVIEWER = "13900000207"
_CONSOLE_LINK = re.compile(r'<a href="(/console/codes/[^"]+)"')
_NEXT = re.compile(r'name="next" value="([^"]*)"')


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


async def _scan_link(world: World) -> tuple[str, str]:
    """A published code's id and the console link on its scan page."""
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    code_id = await code_of(world, product_id)
    assert code_id is not None
    scanned = await world.scan(code_id)
    assert scanned.status_code == 200, scanned.text
    links = _CONSOLE_LINK.findall(scanned.text)
    assert len(links) == 1, links
    return code_id, unescape(links[0])


async def test_the_owner_and_regulators_in_scope_follow_the_scan_page_to_the_code(
    world: World, new_person: Callable[[], Person]
) -> None:
    code_id, link = await _scan_link(world)
    assert link == f"{CONSOLE}/codes/{code_id}"
    for mobile in (OWNER_MOBILE, COUNTY_VIEWER, PROVINCE_REVIEWER):
        reader = await _person(new_person, mobile)
        page = await reader.client.get(link)
        assert page.status_code == 200, (mobile, text_of(page))
        assert "丙酮" in text_of(page)
        assert "太原示范化工有限公司" in text_of(page)
        assert "有效" in text_of(page)  # the code's status


async def test_a_regulator_outside_the_jurisdiction_gets_a_404_page(
    world: World, new_person: Callable[[], Person]
) -> None:
    _, link = await _scan_link(world)
    outsider = await _person(new_person, OTHER_COUNTY_REVIEWER)
    page = await outsider.client.get(link)
    assert page.status_code == 404
    assert "丙酮" not in text_of(page)
    assert "太原示范化工" not in text_of(page)


async def test_someone_not_signed_in_signs_in_and_comes_back_to_the_code(
    world: World, new_person: Callable[[], Person]
) -> None:
    _, link = await _scan_link(world)
    visitor = new_person()
    sent = await visitor.client.get(link)
    assert sent.status_code == 303
    sign_in_path = sent.headers["location"]
    assert sign_in_path.startswith(f"{CONSOLE}/sign-in?")
    form = await visitor.client.get(sign_in_path)
    assert form.status_code == 200
    found = _NEXT.search(form.text)
    assert found is not None
    assert unescape(found.group(1)) == link  # the form carries the way back

    signed = await visitor.submit(
        sign_in_path.removeprefix(CONSOLE),
        "/sign-in",
        {"mobile": OWNER_MOBILE, "password": GOOD_PASSWORD, "next": unescape(found.group(1))},
    )
    assert signed.status_code == 303, text_of(signed)
    assert httpx.URL(signed.headers["location"]).path == link
    back = await visitor.follow(signed)
    assert back.status_code == 200
    assert "丙酮" in text_of(back)
    assert "已登录" in text_of(back)
