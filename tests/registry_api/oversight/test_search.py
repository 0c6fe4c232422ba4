"""GET /api/v1/search: enterprises and products in the regulator's scope, by name, credit
code, CAS number, UN number and code_id; nothing outside the scope; a bad text named."""

from __future__ import annotations

from typing import Any

import httpx

from tests.registry_api.conftest import API, GOOD_PASSWORD, Signed, sign_in
from tests.registry_api.world import World, approve_all, code_of, new_draft, register

USCC = "91350100M000100Y43"
OTHER_USCC = "91140105MA0GRKQ5XN"
WATER_SOLUTION = {
    "name_zh": "示范清洗液",
    "name_en": "Demo Cleaning Fluid",
    "components": [
        {"name": {"zh": "水"}, "cas": "7732-18-5", "concentration": "90%"},
        {"name": {"zh": "乙醇"}, "cas": "64-17-5", "concentration": "10%"},
    ],
    "physical_form": "liquid",
}


async def _search(who: Signed, **params: str) -> httpx.Response:
    return await who.client.get(f"{API}/search", params=params, headers=who.headers())


async def _found(who: Signed, q: str) -> tuple[list[int], list[int]]:
    """(enterprise ids, product ids) found for `q`."""
    response = await _search(who, q=q)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return [e["id"] for e in body["enterprises"]], [p["id"] for p in body["products"]]


async def _registered_acetone(world: World) -> tuple[int, str]:
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    code = await code_of(world, product_id)
    assert code is not None
    return product_id, code


async def _other_county_enterprise(world: World) -> int:
    """An enterprise of Jinze county (140106), approved by its county admin."""
    applied = await world.client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": OTHER_USCC, "name": "晋源示范化工有限公司", "county_id": "140106",
            "address": "山西省太原市迎泽区示范路2号", "kinds": ["producer"],
            "industry_code": "2614", "contact_name": "钱七", "contact_mobile": "13700000002",
        },
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    signed = await sign_in(world.client, "13900000204", GOOD_PASSWORD)
    admin = Signed(world.client, signed.json()["token"], signed.json()["account"]["id"])
    approved = await admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert approved.status_code == 200, approved.text
    enterprise_id: int = approved.json()["enterprise"]["id"]
    return enterprise_id


async def test_enterprises_and_products_are_found_by_each_key(world: World) -> None:
    acetone, code = await _registered_acetone(world)
    mixture = await world.owner.post(f"/enterprises/{world.enterprise_id}/products", WATER_SOLUTION)
    assert mixture.status_code == 201, mixture.text
    fluid = mixture.json()["id"]
    reviewer = world.province_reviewer
    enterprise = world.enterprise_id

    assert await _found(reviewer, "示范化工") == ([enterprise], [])  # part of the name
    assert await _found(reviewer, "示范") == ([enterprise], [fluid])  # both kinds at once
    assert await _found(reviewer, "太") == ([enterprise], [])  # a single character
    assert await _found(reviewer, "acetone") == ([], [acetone])  # English name, any case
    assert await _found(reviewer, "丙酮") == ([], [acetone])
    assert await _found(reviewer, USCC) == ([enterprise], [])
    assert await _found(reviewer, USCC.lower()) == ([enterprise], [])
    assert await _found(reviewer, "67-64-1") == ([], [acetone])  # the product's own CAS
    assert await _found(reviewer, "7732-18-5") == ([], [fluid])  # a component's
    assert await _found(reviewer, "UN1090") == ([], [acetone])
    assert await _found(reviewer, "un 1090") == ([], [acetone])
    assert await _found(reviewer, code) == ([], [acetone])  # as printed, with dashes
    assert await _found(reviewer, code.replace("-", "").lower()) == ([], [acetone])
    assert await _found(reviewer, "不存在的化学品") == ([], [])
    assert await _found(reviewer, "67-64-2") == ([], [])  # exact, not a substring
    assert await _found(reviewer, "100%_\\") == ([], [])  # LIKE's wildcards are text here

    body = (await _search(reviewer, q="丙酮")).json()
    [hit] = body["products"]
    assert hit["status"] == "registered"
    assert hit["enterprise_id"] == enterprise
    assert hit["enterprise_name"] == "太原示范化工有限公司"
    assert hit["code_id"] == code
    [listed] = (await _search(reviewer, q="示范")).json()["products"]
    assert listed["status"] == "new"  # no revision yet
    [found] = (await _search(reviewer, q=USCC)).json()["enterprises"]
    assert found == {
        "id": enterprise, "name": "太原示范化工有限公司", "uscc": USCC,
        "county_id": "140105", "county_name": found["county_name"], "status": "active",
    }  # fmt: skip
    assert "小店" in found["county_name"]


async def test_a_regulator_finds_nothing_outside_its_jurisdiction(world: World) -> None:
    other = await _other_county_enterprise(world)
    county, other_county = world.county_reviewer, world.other_county_reviewer

    assert await _found(county, "示范化工") == ([world.enterprise_id], [])
    assert await _found(other_county, "示范化工") == ([other], [])
    assert await _found(other_county, USCC) == ([], [])
    assert await _found(county, OTHER_USCC) == ([], [])
    assert await _found(county, "晋源") == ([], [])
    # The province and the nation see both counties; a viewer reads as well as a reviewer.
    assert await _found(world.province_reviewer, "示范化工") == ([world.enterprise_id, other], [])
    assert await _found(world.national_reviewer, "示范化工") == ([world.enterprise_id, other], [])
    assert await _found(world.county_viewer, "示范化工") == ([world.enterprise_id], [])
    # An enterprise searches nothing: regulators' reading, absent for it.
    assert (await _search(world.owner, q="示范化工")).status_code == 404


async def test_a_bad_text_or_page_is_refused_naming_the_field(world: World) -> None:
    reviewer = world.province_reviewer
    for params, field in (
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "长" * 101}, "q"),
        ({"q": "示范", "limit": "0"}, "limit"),
        ({"q": "示范", "limit": "101"}, "limit"),
        ({"q": "示范", "limit": "ten"}, "limit"),
        ({"q": "示范", "offset": "-1"}, "offset"),
    ):
        response = await _search(reviewer, **params)
        assert response.status_code == 422, (params, response.text)
        assert list(response.json()["error"]["fields"]) == [field], params
    assert (await _search(reviewer, q="长" * 100)).status_code == 200
    assert (await _search(reviewer, q=" 示范 ")).json()["q"] == "示范"
    assert (await _search(reviewer, q="示范\x00化工")).status_code == 200  # NUL dropped


async def test_results_come_a_page_at_a_time(world: World) -> None:
    other = await _other_county_enterprise(world)
    first = (await _search(world.province_reviewer, q="示范化工", limit="1")).json()
    assert [e["id"] for e in first["enterprises"]] == [world.enterprise_id]
    assert first["next_offset"] == 1
    second = await _search(world.province_reviewer, q="示范化工", limit="1", offset="1")
    assert [e["id"] for e in second.json()["enterprises"]] == [other]
    assert second.json()["next_offset"] is None
