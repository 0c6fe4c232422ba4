"""The revision editor (assisted 一书一签) through the console, as a browser without
JavaScript uses it: start a draft, classify from the GHS tables, see the label elements
with their rules and the label and scan previews, fill in the SDS until nothing blocks;
bad input named beside its field, a stale form refused, and scope as the API's."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import httpx

from tests.console.conftest import Person, sds_fields, text_of
from tests.registry_api.conftest import API, GOOD_PASSWORD, Signed, first_sign_in, sign_in
from tests.registry_api.world import (
    ACETONE,
    OWNER_MOBILE,
    World,
    new_draft,
    register,
    revision_body,
)

COUNTY_REVIEWER = "13900000205"
OTHER_COUNTY_REVIEWER = "13900000207"
COUNTY_ADMIN = "13900000203"
FLAMMABLE_2 = "cls.flammable_liquids.2"
EYE_IRRITANT_2A = "cls.serious_eye_damage_irritation.2A"


class _Form(HTMLParser):
    """The fields a browser would send from a page's revision form, as they stand."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("action") == self.action and a.get("method") == "post":
            self.inside = True
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value", "on")
            elif a["name"] != "csrf":
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def form_of(page: httpx.Response, action: str) -> dict[str, str]:
    parser = _Form(action)
    parser.feed(page.text)
    assert parser.fields, f"no form to {action} on the page"
    return parser.fields


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


async def _save(owner: Person, revision_id: int, changes: dict[str, str]) -> httpx.Response:
    """Change some fields of the editor's form as it stands and save it."""
    path = f"/revisions/{revision_id}"
    fields = form_of(await owner.get(path), f"/console{path}") | changes
    return await owner.submit(path, fields={k: v for k, v in fields.items() if v is not None})


def _blocking(page: httpx.Response) -> list[tuple[str, str]]:
    """The blocking problems listed: (the anchor linked, the text)."""
    section = re.search(r'<section id="blocking".*?</section>', page.text, flags=re.S)
    assert section is not None, "no list of what blocks submission"
    return [
        (anchor, text_of(httpx.Response(200, text=item)).strip())
        for anchor, item in re.findall(r'<li><a href="#([^"]+)">(.*?)</li>', section.group(0))
    ]


async def test_the_owner_classifies_sees_the_label_fills_the_sds_until_nothing_blocks(
    world: World, new_person: Callable[[], Person]
) -> None:
    created = await world.owner.post(f"/enterprises/{world.enterprise_id}/products", ACETONE)
    product_id = created.json()["id"]
    owner = await _person(new_person, OWNER_MOBILE)

    start = await owner.get(f"/products/{product_id}/revisions/new")
    assert start.status_code == 200
    started = await owner.submit(f"/products/{product_id}/revisions/new")
    assert started.status_code == 303
    editor = await owner.follow(started)
    revision_id = int(started.headers["location"].split("?")[0].split("/")[-1])
    assert "已创建新版本草稿" in text_of(editor)
    api = await world.owner.get(f"/revisions/{revision_id}")
    assert api.json()["status"] == "draft"

    # An empty draft: each blocking problem links to the input it is fixed at.
    blocking = dict(_blocking(editor))
    assert "f-classification" in blocking
    assert "f-sds-sections-1-body-zh" in blocking  # the first missing section
    assert "f-sds-supplier-name-zh" in blocking
    assert "f-sds-transport-proper_shipping_name-zh" in blocking  # acetone has a UN number
    for anchor in blocking:
        assert f'id="{anchor}"' in editor.text, anchor

    # Classify: Flam. Liq. 2 and Eye Irrit. 2A, ticked in the GHS tables.
    assert f'name="{FLAMMABLE_2}"' in editor.text
    saved = await _save(owner, revision_id, {FLAMMABLE_2: "on", EYE_IRRITANT_2A: "on"})
    assert saved.status_code == 303, text_of(saved)
    editor = await owner.follow(saved)
    page = text_of(editor)
    assert "已保存。" in page
    elements = re.search(r'<section id="label-elements".*?</section>', editor.text, flags=re.S)
    assert elements is not None
    derived = text_of(httpx.Response(200, text=elements.group(0)))
    assert "信号词 危险" in derived
    assert "'Danger' supersedes 'Warning'" in derived  # the rule behind the signal word
    assert "GHS02" in derived
    assert "GHS07" in derived
    assert "Flammable liquids, category 2" in derived  # what calls for the flame
    assert "H225 高度易燃液体和蒸气" in derived
    assert "H319 造成严重眼刺激" in derived
    assert "GHS Annex 1/3: assigned to the hazard class and category" in derived
    assert "f-classification" not in dict(_blocking(editor))
    assert (await world.owner.get(f"/revisions/{revision_id}")).json()["classification"] == [
        {"class": "flammable_liquids", "category": "2"},
        {"class": "serious_eye_damage_irritation", "category": "2A"},
    ]

    # The label the resolver would print carries them; so does the scan page's preview.
    assert f"/console/revisions/{revision_id}/label.svg" in editor.text
    label = await owner.get(f"/revisions/{revision_id}/label.svg")
    assert label.status_code == 200
    assert label.headers["content-type"] == "image/svg+xml"
    assert label.text.startswith("<svg")
    assert "危险" in label.text
    assert "H225 高度易燃液体和蒸气" in label.text
    assert "H319" in label.text
    assert label.text.count("<svg x=") == 2  # two pictograms drawn
    english = await owner.get(f"/revisions/{revision_id}/label.svg", lang="en", size="150x200")
    assert "Highly flammable liquid and vapour" in english.text
    assert 'width="150mm"' in english.text
    small = await owner.get(f"/revisions/{revision_id}/label.svg", size="50x75")
    assert "does not fit the 50x75 size" in small.text  # said, in place of the label
    assert f"/console/revisions/{revision_id}/scan-preview" in editor.text
    scan = await owner.get(f"/revisions/{revision_id}/scan-preview", view="label")
    assert scan.status_code == 200
    assert "H225" in scan.text
    assert "预览" in text_of(scan)
    assert "/console/ghs/GHS02.svg" in scan.text
    assert "frame-ancestors 'self'" in scan.headers["content-security-policy"]
    assert "sandbox" in scan.headers["content-security-policy"]
    pictogram = await owner.get("/ghs/GHS02.svg")
    assert pictogram.status_code == 200
    assert (await owner.get("/ghs/GHS99.svg")).status_code == 404

    # The SDS, typed in: the blocking problems shrink to none, and filing is one link away.
    saved = await _save(owner, revision_id, sds_fields())
    assert saved.status_code == 303, text_of(saved)
    editor = await owner.follow(saved)
    assert _blocking(editor) == []
    assert "没有阻碍提交的问题" in text_of(editor)
    assert 'href="/console/enterprise/filings"' in editor.text
    api = (await world.owner.get(f"/revisions/{revision_id}")).json()
    assert api["problems"] == {}
    assert api["sds"]["supplier"]["phone"] == "0351-1234567"
    assert api["sds"]["transport"]["packing_group"] == "II"
    assert len(api["sds"]["sections"]) == 16
    scan = await owner.get(f"/revisions/{revision_id}/scan-preview", view="sds")
    assert "第1部分内容。" in scan.text

    # A second start is refused and points at the draft in the works.
    again = await owner.submit(f"/products/{product_id}/revisions/new")
    assert again.status_code == 409
    assert f"/console/revisions/{revision_id}" in again.text


async def test_bad_input_is_named_beside_its_field_with_what_was_typed_kept(
    world: World, new_person: Callable[[], Person]
) -> None:
    _product_id, revision_id = await new_draft(world)
    before = (await world.owner.get(f"/revisions/{revision_id}")).json()
    owner = await _person(new_person, OWNER_MOBILE)

    answer = await _save(
        owner,
        revision_id,
        {
            "sds.supplier.phone": "call us",
            "sds.sections.3.body.zh": "",
            "sds.sections.3.body.en": "Acetone, 100%",
            "sds.fire_fighting.zh": "用泡沫灭火（新写的）",
        },
    )
    assert answer.status_code == 422
    assert "请更正以下标出的内容" in text_of(answer)
    phone = re.search(
        r'<span class="error" id="f-sds-supplier-phone-error">([^<]+)</span>', answer.text
    )
    assert phone is not None, "no error beside the phone"
    assert 'aria-describedby=" f-sds-supplier-phone-error"' in answer.text
    assert 'value="call us"' in answer.text  # what was typed, kept
    assert 'id="f-sds-sections-3-body-zh-error"' in answer.text  # Chinese text required
    assert "Acetone, 100%" in answer.text
    assert "用泡沫灭火（新写的）" in answer.text
    assert f'name="{FLAMMABLE_2}" value="on" checked' in answer.text  # the ticks kept too
    after = (await world.owner.get(f"/revisions/{revision_id}")).json()
    assert after == before  # nothing saved

    # A draft may hold two categories of one class; submitting it may not: the problem
    # links to the box to untick.
    saved = await _save(owner, revision_id, {"cls.flammable_liquids.1": "on"})
    assert saved.status_code == 303, text_of(saved)
    [(anchor, problem)] = _blocking(await owner.follow(saved))
    assert anchor == "f-cls-flammable_liquids-2"
    assert "易燃液体，类别2" in problem
    assert "already classified as category 1" in problem


async def test_a_stale_form_is_refused_with_what_was_typed_kept(
    world: World, new_person: Callable[[], Person]
) -> None:
    _product_id, revision_id = await new_draft(world)
    owner = await _person(new_person, OWNER_MOBILE)
    path = f"/revisions/{revision_id}"
    opened = form_of(await owner.get(path), f"/console{path}")

    # Someone saves meanwhile, through the API.
    read = await world.owner.get(path)
    changed = revision_body(fire_fighting={"zh": "他人写的灭火方法"})
    put = await world.put(world.owner, path, changed, read.headers["etag"])
    assert put.status_code == 200, put.text
    theirs = put.json()

    answer = await owner.submit(
        path, fields=opened | {"sds.fire_fighting.zh": "我写的灭火方法", "sds.fire_fighting.en": ""}
    )
    assert answer.status_code == 412
    assert "已被他人保存" in text_of(answer)
    assert "我写的灭火方法" in answer.text
    assert (await world.owner.get(path)).json() == theirs  # nothing changed
    # The form now carries the version just read: saving again is on purpose, and works.
    again = form_of(answer, f"/console{path}")
    assert again["version"] == str(theirs["version"])
    assert (await owner.submit(path, fields=again)).status_code == 303
    mine = (await world.owner.get(path)).json()
    assert mine["sds"]["fire_fighting"]["zh"] == "我写的灭火方法"
    assert mine["classification"] == theirs["classification"]  # H336, the choice, kept
    assert {"class": "stot_single_exposure", "category": "3", "hazard": "H336"} in mine[
        "classification"
    ]


async def test_scope_is_the_apis_and_regulators_read_only(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, revision_id = await new_draft(world)
    before = (await world.owner.get(f"/revisions/{revision_id}")).json()
    paths = [
        f"/revisions/{revision_id}",
        f"/revisions/{revision_id}/label.svg",
        f"/revisions/{revision_id}/scan-preview",
        f"/products/{product_id}/revisions/new",
    ]

    # Another enterprise, approved in the same county.
    applied = await world.client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": "91110000600037341L", "name": "太原另一化工有限公司",
            "county_id": "140105", "address": "山西省太原市小店区另一路2号",
            "kinds": ["producer"], "industry_code": "2614", "contact_name": "钱七",
            "contact_mobile": "13700000002",
        },
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    signed = (await sign_in(world.client, COUNTY_ADMIN, GOOD_PASSWORD)).json()
    admin = Signed(world.client, signed["token"], signed["account"]["id"])
    approved = await admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert approved.status_code == 200, approved.text
    await first_sign_in(world.client, "13700000002", approved.json()["temporary_password"])
    other = await _person(new_person, "13700000002")
    out_of_scope = await _person(new_person, OTHER_COUNTY_REVIEWER)
    for stranger in (other, out_of_scope):
        for path in paths:
            assert (await stranger.get(path)).status_code == 404, path
        sent = await stranger.submit(
            "/password", f"/revisions/{revision_id}", {"version": "1", FLAMMABLE_2: "on"}
        )
        assert sent.status_code == 404
    assert (await world.owner.get(f"/revisions/{revision_id}")).json() == before

    # A regulator in scope reads it, with its previews, but has no form.
    county = await _person(new_person, COUNTY_REVIEWER)
    page = await county.get(f"/revisions/{revision_id}")
    assert page.status_code == 200
    assert "只读" in text_of(page)
    assert "<textarea" not in page.text
    assert f'action="/console/revisions/{revision_id}"' not in page.text
    assert "H225" in page.text
    assert "第1部分内容。" in page.text
    assert (await county.get(f"/revisions/{revision_id}/label.svg")).status_code == 200
    refused = await county.submit(
        "/password", f"/revisions/{revision_id}", {"version": str(before["version"])}
    )
    assert refused.status_code == 403
    assert (await world.owner.get(f"/revisions/{revision_id}")).json() == before

    # Once filed, the owner's own revision is read-only too.
    await register(world, revision_id)
    owner = await _person(new_person, OWNER_MOBILE)
    filed = await owner.get(f"/revisions/{revision_id}")
    assert filed.status_code == 200
    assert "审核中" in text_of(filed)
    assert "<textarea" not in filed.text
