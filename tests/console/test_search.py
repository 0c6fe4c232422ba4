"""Regulators' search and enterprise page in the console: the form and what it finds in
scope, a bad text shown beside its input, and an enterprise's record, products,
certificate, submissions and audit trail; outside the reader's jurisdiction a 404 page."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.console.conftest import Person, text_of
from tests.registry_api.conftest import GOOD_PASSWORD
from tests.registry_api.world import World, approve_all, code_of, new_draft, register

COUNTY_REVIEWER = "13900000205"
OTHER_COUNTY_REVIEWER = "13900000207"
PROVINCE_REVIEWER = "13900000208"
OWNER = "13700000001"
USCC = "91350100M000100Y43"


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


async def test_search_shows_a_labelled_form_and_links_what_it_finds(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, revision_id = await new_draft(world)
    reviewer = await _person(new_person, COUNTY_REVIEWER)

    empty = await reviewer.get("/search")
    assert empty.status_code == 200
    assert re.search(r'<label for="f-q">', empty.text)
    assert 'id="f-q" name="q"' in empty.text
    assert "没有找到" not in text_of(empty)  # just the form

    by_name = await reviewer.get("/search", q="示范化工")
    assert by_name.status_code == 200
    assert f'href="/console/enterprises/{world.enterprise_id}"' in by_name.text
    assert "太原示范化工有限公司" in text_of(by_name)
    assert 'value="示范化工"' in by_name.text  # the text stays in the input
    assert "没有找到产品" in text_of(by_name)

    by_uscc = await reviewer.get("/search", q=USCC)
    assert f'href="/console/enterprises/{world.enterprise_id}"' in by_uscc.text

    by_cas = await reviewer.get("/search", q="67-64-1")
    assert f'href="/console/products/{product_id}"' in by_cas.text
    assert "丙酮" in text_of(by_cas)
    assert "草稿" in text_of(by_cas)  # its state: a draft only

    await approve_all(world, await register(world, revision_id))
    code = await code_of(world, product_id)
    assert code is not None
    by_code = await reviewer.get("/search", q=code)
    assert f'href="/console/products/{product_id}"' in by_code.text
    assert "已登记" in text_of(by_code)
    assert (
        f'href="/console/products/{product_id}"' in (await reviewer.get("/search", q="UN1090")).text
    )


async def test_a_bad_text_is_shown_beside_the_input(
    world: World, new_person: Callable[[], Person]
) -> None:
    reviewer = await _person(new_person, COUNTY_REVIEWER)
    for text in ("长" * 101, "   "):
        page = await reviewer.get("/search", q=text)
        assert page.status_code == 422, text
        assert 'id="f-q-error"' in page.text
        assert re.search(r'id="f-q"[^>]*aria-describedby="[^"]*f-q-error', page.text)
        assert 'aria-invalid="true"' in page.text
    kept = await reviewer.get("/search", q="长" * 101)
    assert f'value="{"长" * 101}"' in kept.text  # what was typed, kept
    assert "最多 100 个字符" in text_of(kept)
    assert (await reviewer.get("/search", q="示范", offset="-5")).status_code == 422


async def test_nothing_outside_the_jurisdiction_is_found_or_shown(
    world: World, new_person: Callable[[], Person]
) -> None:
    other = await _person(new_person, OTHER_COUNTY_REVIEWER)
    found = await other.get("/search", q="示范化工")
    assert found.status_code == 200
    assert "/console/enterprises/" not in found.text
    assert "没有找到企业" in text_of(found)
    assert (await other.get("/search", q=USCC)).text.count("/console/enterprises/") == 0

    outside = await other.get(f"/enterprises/{world.enterprise_id}")
    assert outside.status_code == 404
    assert "太原示范化工" not in outside.text
    assert (await other.get("/enterprises/99999999")).status_code == 404
    assert (await other.get("/enterprises/abc")).status_code == 404

    # The enterprise has pages of its own: these are the regulators'.
    owner = await _person(new_person, OWNER)
    assert (await owner.get("/search", q="示范化工")).status_code == 404
    assert (await owner.get("/search")).status_code == 404
    assert (await owner.get(f"/enterprises/{world.enterprise_id}")).status_code == 404


async def test_the_enterprise_page_shows_record_products_certificate_filings_and_trail(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, revision_id = await new_draft(world)
    rejected = await register(world, revision_id)
    refused = await world.province_reviewer.post(
        f"/submissions/{rejected}/reject", {"reason": "第2部分危险性概述不完整"}
    )
    assert refused.status_code == 200, refused.text
    drafted = await world.owner.get(f"/products/{product_id}")
    [draft] = [r for r in drafted.json()["revisions"] if r["status"] == "draft"]
    approved = await register(world, draft["id"], resubmission_of=rejected)
    await approve_all(world, approved)

    reviewer = await _person(new_person, PROVINCE_REVIEWER)
    page = await reviewer.get(f"/enterprises/{world.enterprise_id}")
    assert page.status_code == 200, page.text
    text = text_of(page)
    # The record (annex 3).
    assert "太原示范化工有限公司" in text
    assert USCC in text
    assert "山西省太原市小店区示范路1号" in text
    assert "小店区" in text
    # Products with their state, the code linked.
    assert f'href="/console/products/{product_id}"' in page.text
    assert "现行版本" in text
    code = await code_of(world, product_id)
    assert code is not None
    assert code.replace("-", "") in page.text
    # The certificate and its expiry.
    [certificate] = (
        await world.owner.get(f"/enterprises/{world.enterprise_id}/certificates")
    ).json()["certificates"]
    assert certificate["number"] in text
    assert certificate["expires_on"] in text
    # Submissions with their decisions and reasons.
    for submission_id in (rejected, approved):
        assert f'href="/console/submissions/{submission_id}"' in page.text
    assert "第2部分危险性概述不完整" in text
    assert "已驳回" in text
    # The audit trail, the newest first.
    trail = page.text[page.text.index('id="audit"') :]
    assert "certificate.issue" in trail
    assert "product.create" in trail
    assert "丙酮" in text_of(page.__class__(200, text=trail))
    assert trail.index("certificate.issue") < trail.index("product.create")
    # Each action in words, its recorded name kept beside it.
    trail_text = text_of(page.__class__(200, text=trail))
    for readable in ("颁发登记证", "审核通过", "审核驳回", "提交登记申报", "新增产品"):
        assert readable in trail_text, readable
    assert trail_text.index("颁发登记证") < trail_text.index("新增产品")
    assert "<code>submission.approve</code>" in trail

    switched = await reviewer.get(
        "/lang", to="en", next=f"/console/enterprises/{world.enterprise_id}"
    )
    assert switched.status_code == 303
    english = await reviewer.get(f"/enterprises/{world.enterprise_id}")
    english_trail = text_of(
        english.__class__(200, text=english.text[english.text.index('id="audit"') :])
    )
    for readable in ("Certificate issued", "Submission approved", "Product added"):
        assert readable in english_trail, readable
    assert "颁发登记证" not in english_trail
    assert "certificate.issue" in english_trail

    county = await _person(new_person, COUNTY_REVIEWER)
    assert (await county.get(f"/enterprises/{world.enterprise_id}")).status_code == 200
