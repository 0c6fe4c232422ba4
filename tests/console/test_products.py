"""The products pages of the console, used as a browser without JavaScript uses them:
the enterprise's list, adding and correcting a product (a mixture's components in rows),
the product's page with its code, and the code's downloads (QR as SVG, PNG and PDF, the
label PDF by size or package capacity, the A4 print sheet); and who reaches none of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pypdfium2

from tests.conftest import pdf_text
from tests.console.conftest import Person, text_of
from tests.qr_reading import qr_texts
from tests.registry_api.conftest import API, GOOD_PASSWORD, Signed, first_sign_in, sign_in
from tests.registry_api.world import (
    OWNER_MOBILE,
    World,
    approve_all,
    code_of,
    new_draft,
    register,
)

COUNTY_REVIEWER = "13900000205"
COUNTY_VIEWER = "13900000206"
OTHER_COUNTY_REVIEWER = "13900000207"
OTHER_COUNTY_ADMIN = "13900000204"
OTHER_OWNER_MOBILE = "13700000002"
A4_POINTS = (595, 842)  # 210 x 297 mm
_CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>", flags=re.S)


async def _person(new_person: Callable[[], Person], mobile: str) -> Person:
    person = new_person()
    signed = await person.sign_in(mobile, GOOD_PASSWORD)
    assert signed.status_code == 303, text_of(signed)
    return person


def _unlabelled(page: httpx.Response) -> list[str]:
    """The form controls of a page that a screen reader could not name: no <label for>
    and no aria-label (hidden inputs and buttons need none)."""
    missing = []
    for _tag, attributes in _CONTROL.findall(page.text):
        if re.search(r'type="(hidden|submit|button)"', attributes):
            continue
        if "aria-label=" in attributes:
            continue
        found = re.search(r'\bid="([^"]+)"', attributes)
        if found is None or f'<label for="{found.group(1)}"' not in page.text:
            missing.append(attributes.strip()[:120])
    return missing


def _product_id(location: str) -> int:
    found = re.fullmatch(r"/console/products/([0-9]+)\?done=(created|saved)", location)
    assert found is not None, location
    return int(found.group(1))


def _kept(page: httpx.Response, name: str, value: str) -> bool:
    """The input `name` shows `value` again (what was typed is kept)."""
    return (
        re.search(rf'name="{re.escape(name)}"[^>]*value="{re.escape(value)}"', page.text)
        is not None
    )


def _error_of(page: httpx.Response, input_id: str) -> str:
    """The message beside an input, tied to it by aria-describedby."""
    found = re.search(rf'<span class="error" id="{re.escape(input_id)}-error">([^<]*)<', page.text)
    assert found is not None, f"no error beside {input_id}: {text_of(page)[:600]}"
    described = re.search(rf'id="{re.escape(input_id)}"[^>]*aria-describedby="([^"]*)"', page.text)
    assert described is not None, input_id
    assert f"{input_id}-error" in described.group(1), input_id
    return found.group(1)


def _decode_png(data: bytes) -> list[str]:
    return qr_texts(data)


def _pdf_pages(data: bytes) -> list[tuple[int, int]]:
    document = pypdfium2.PdfDocument(data)
    try:
        sizes = [page.get_size() for page in document]
        return [(round(width), round(height)) for width, height in sizes]
    finally:
        document.close()


async def _approved_product(world: World) -> tuple[int, str]:
    """Acetone with its first revision approved: (product id, code as printed)."""
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    code = await code_of(world, product_id)
    assert code is not None
    return product_id, code


async def _other_enterprise(world: World) -> Signed:
    """A second enterprise, of the other county, its owner signed in to the API."""
    applied = await world.client.post(
        f"{API}/enterprise-applications",
        json={
            "uscc": "91110000600037341L", "name": "太原第二化工有限公司", "county_id": "140106",
            "address": "山西省太原市迎泽区化工路2号", "kinds": ["producer", "chemical"],
            "industry_code": "2614", "contact_name": "钱七", "contact_mobile": OTHER_OWNER_MOBILE,
        },
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    signed = await sign_in(world.client, OTHER_COUNTY_ADMIN, GOOD_PASSWORD)
    admin = Signed(world.client, signed.json()["token"], signed.json()["account"]["id"])
    approved = await admin.post(f"/enterprise-applications/{applied.json()['id']}/approve")
    assert approved.status_code == 200, approved.text
    return await first_sign_in(
        world.client, OTHER_OWNER_MOBILE, approved.json()["temporary_password"]
    )


ACETONE_FORM = {
    "name_zh": "丙酮",
    "name_en": "Acetone",
    "cas_numbers": "67-64-1",
    "un_number": "un1090",  # taken in either case
    "catalogue_number": "137",
    "physical_form": "liquid",
}


async def test_the_owner_adds_a_product_every_bad_field_named_and_sees_it_listed(
    world: World, new_person: Callable[[], Person]
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    empty = await owner.get("/products")
    assert empty.status_code == 200
    assert "还没有产品" in text_of(empty)

    form = await owner.get("/products/new")
    assert form.status_code == 200
    assert _unlabelled(form) == []
    assert 'name="components[2].concentration"' in form.text  # rows to fill, without a script

    bad = await owner.submit(
        "/products/new",
        fields={
            "name_zh": " ",
            "name_en": "Acetone",
            "cas_numbers": "67-64-2",  # a wrong check digit
            "un_number": "1090",
            "catalogue_number": "9999",
            "highly_toxic": "on",
            "physical_form": "plasma",
        },
    )
    assert bad.status_code == 422
    assert "请更正以下标出的内容" in text_of(bad)
    for input_id in ("f-name_zh", "f-cas_numbers", "f-un_number", "f-catalogue_number"):
        _error_of(bad, input_id)
    _error_of(bad, "f-physical_form")
    assert "应不大于 2828" in _error_of(bad, "f-catalogue_number")
    assert 'id="f-name_en-error"' not in bad.text
    assert _kept(bad, "name_en", "Acetone")
    assert _kept(bad, "un_number", "1090")
    assert _kept(bad, "catalogue_number", "9999")
    assert ">67-64-2</textarea>" in bad.text
    assert re.search(r'name="highly_toxic"[^>]*checked', bad.text)
    assert _unlabelled(bad) == []
    assert "还没有产品" in text_of(await owner.get("/products"))  # nothing saved

    # Neither CAS numbers nor components: said beside the CAS numbers.
    nothing = await owner.submit("/products/new", fields=ACETONE_FORM | {"cas_numbers": ""})
    assert nothing.status_code == 422
    assert "components" in _error_of(nothing, "f-cas_numbers")

    created = await owner.submit("/products/new", fields=ACETONE_FORM)
    assert created.status_code == 303, text_of(created)
    product_id = _product_id(created.headers["location"])
    page = await owner.follow(created)
    assert page.status_code == 200
    shown = text_of(page)
    assert "已创建" in shown
    assert "丙酮" in shown
    assert "Acetone" in shown
    assert "UN1090" in shown
    assert "137" in shown
    assert "新建" in shown  # no revision yet
    assert "产品的第一个版本获批准后生成安全码" in shown

    listed = await owner.get("/products")
    [row] = re.findall(r"<tr>.*?</tr>", listed.text, flags=re.S)[1:]
    assert f'href="/console/products/{product_id}"' in row
    assert "67-64-1" in text_of(httpx.Response(200, text=row))
    assert "新建" in text_of(httpx.Response(200, text=row))

    again = await owner.submit("/products/new", fields=ACETONE_FORM)
    assert again.status_code == 409
    assert _error_of(again, "f-name_zh")
    assert _kept(again, "name_zh", "丙酮")

    # A draft revision changes the status the list shows.
    await new_draft(world)
    assert "草稿" in text_of(await owner.get("/products"))


async def test_a_mixture_is_added_in_rows_and_its_bad_rows_are_named(
    world: World, new_person: Callable[[], Person]
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    mixture = {
        "name_zh": "稀释剂",
        "physical_form": "liquid",
        "components[0].name.zh": "甲苯",
        "components[0].name.en": "Toluene",
        "components[0].cas": "108-88-3",
        "components[0].concentration": "40-60%",
        # row 1 left empty: not saved, and the rows after it keep their numbers
        "components[2].name.zh": "",
        "components[2].name.en": "Xylene",
        "components[2].cas": "1330-20-7",
        "components[2].concentration": "",
    }
    bad = await owner.submit("/products/new", fields=mixture)
    assert bad.status_code == 422, text_of(bad)
    assert _error_of(bad, "f-components-2-name-zh")
    assert _error_of(bad, "f-components-2-concentration")
    assert 'id="f-components-0-name-zh-error"' not in bad.text
    assert 'id="f-components-1-name-zh-error"' not in bad.text
    assert _kept(bad, "components[0].name.zh", "甲苯")
    assert _kept(bad, "components[2].name.en", "Xylene")
    assert 'name="components[5].name.zh"' in bad.text  # empty rows to add more
    assert _unlabelled(bad) == []

    good = mixture | {"components[2].name.zh": "二甲苯", "components[2].concentration": "30%"}
    created = await owner.submit("/products/new", fields=good)
    assert created.status_code == 303, text_of(created)
    product_id = _product_id(created.headers["location"])
    shown = text_of(await owner.follow(created))
    assert "甲苯 108-88-3 40-60%" in shown
    assert "二甲苯 1330-20-7 30%" in shown
    assert "混合物，2 个组分" in text_of(await owner.get("/products"))

    # The form of the saved mixture: its two components in rows 0 and 1, empty rows after.
    edit = await owner.get(f"/products/{product_id}/edit")
    assert _kept(edit, "components[1].name.zh", "二甲苯")
    assert _kept(edit, "components[4].name.zh", "")
    assert _unlabelled(edit) == []


async def test_a_product_is_corrected_and_a_stale_form_changes_nothing(
    world: World, new_person: Callable[[], Person]
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    created = await owner.submit("/products/new", fields=ACETONE_FORM)
    product_id = _product_id(created.headers["location"])
    edit = f"/products/{product_id}/edit"

    form = await owner.get(edit)
    assert form.status_code == 200
    assert _unlabelled(form) == []
    assert _kept(form, "name_zh", "丙酮")
    assert _kept(form, "un_number", "UN1090")
    assert '<input type="hidden" name="version" value="1">' in form.text
    assert '<option value="liquid" selected>' in form.text

    # A second tab opened the same form before the first saved.
    first = await owner.submit(edit, fields=ACETONE_FORM | {"version": "1", "name_en": "Propanone"})
    assert first.status_code == 303, text_of(first)
    assert _product_id(first.headers["location"]) == product_id
    saved = text_of(await owner.follow(first))
    assert "已保存" in saved
    assert "Propanone" in saved

    stale = await owner.submit(
        edit, fields=ACETONE_FORM | {"version": "1", "name_en": "Dimethyl ketone"}
    )
    assert stale.status_code == 412
    said = text_of(stale)
    assert "此产品已被他人修改，您的更改未保存" in said
    assert _kept(stale, "name_en", "Dimethyl ketone")  # what was typed stays
    assert '<input type="hidden" name="version" value="2">' in stale.text
    record = await world.owner.get(f"/products/{product_id}")
    assert record.json()["name"]["en"] == "Propanone"  # the stale form changed nothing

    # Bad fields in a correction: named, and nothing saved.
    bad = await owner.submit(edit, fields=ACETONE_FORM | {"version": "2", "cas_numbers": "x"})
    assert bad.status_code == 422
    assert _error_of(bad, "f-cas_numbers")
    assert '<input type="hidden" name="version" value="2">' in bad.text
    assert (await world.owner.get(f"/products/{product_id}")).json()["cas_numbers"] == ["67-64-1"]

    # A form that lost its version is refused with a page, not saved.
    lost = await owner.submit(edit, fields=ACETONE_FORM | {"name_en": "Lost"})
    assert lost.status_code == 422
    assert (await world.owner.get(f"/products/{product_id}")).json()["name"]["en"] == "Propanone"

    # The English page says it in English.
    owner.client.cookies.set("sc_lang", "en", path="/console")
    english = await owner.submit(edit, fields=ACETONE_FORM | {"version": "1"})
    assert english.status_code == 412
    assert "Someone else changed this product" in text_of(english)


async def test_an_approved_product_shows_its_code_and_its_qr_downloads(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, code = await _approved_product(world)
    owner = await _person(new_person, OWNER_MOBILE)

    page = await owner.get(f"/products/{product_id}")
    assert page.status_code == 200
    shown = text_of(page)
    assert code in shown
    assert "已批准" in shown
    assert "有效" in shown
    assert _unlabelled(page) == []
    listed = text_of(await owner.get("/products"))
    assert code in listed
    assert "已批准" in listed

    svg = await owner.get(f"/products/{product_id}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith(("<svg", "<?xml"))
    pdf = await owner.get(f"/products/{product_id}/qr.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    png = await owner.get(f"/products/{product_id}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert f'filename="{code}.png"' in png.headers["content-disposition"]

    [scanned] = _decode_png(png.content)
    assert scanned.startswith("HTTP://")
    assert "/C/" in scanned
    scan_link = re.search(r'<a href="([^"]+)">打开扫码页</a>', page.text)
    assert scan_link is not None
    assert scan_link.group(1) == scanned
    await world.relay.drain()
    scan_page = await world.resolver.get(urlsplit(scanned).path, follow_redirects=True)
    assert scan_page.status_code == 200
    assert "丙酮" in scan_page.text

    from_api = await world.owner.get(f"/products/{product_id}/qr.png")
    assert from_api.status_code == 200
    assert from_api.content == png.content  # the very symbol the API gives


async def test_the_label_pdf_by_size_or_capacity_and_the_a4_print_sheet(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, code = await _approved_product(world)
    owner = await _person(new_person, OWNER_MOBILE)
    await world.relay.drain()

    page = await owner.get(f"/products/{product_id}")
    links = re.findall(r'href="([^"]*/label\.pdf\?size=[^"]+)"', page.text)
    assert len(links) == 6  # every size of GB 15258 table 1
    for link in links[:1] + links[-1:]:
        url = urlsplit(link.replace("&amp;", "&"))
        label = await world.resolver.get(f"{url.path}?{url.query}")
        assert label.status_code == 200, link
        assert label.headers["content-type"] == "application/pdf"

    by_size = await owner.get(f"/products/{product_id}/label.pdf", size="150×200")
    assert by_size.status_code == 303
    target = urlsplit(by_size.headers["location"])
    assert target.path == f"/documents/{code.replace('-', '')}/label.pdf"
    assert "size=150x200" in target.query
    label = await world.resolver.get(f"{target.path}?{target.query}")
    assert label.status_code == 200, text_of(label)[-600:]
    assert label.headers["content-type"] == "application/pdf"
    assert "丙酮" in pdf_text(label.content)
    assert [(round(w * 25.4 / 72), round(h * 25.4 / 72)) for w, h in _pdf_pages(label.content)] == [
        (150, 200)
    ]
    # A size too small for what acetone's label says: the resolver tells so, a 400 page.
    small = await owner.get(f"/products/{product_id}/label.pdf", size="75x100")
    target = urlsplit(small.headers["location"])
    too_small = await world.resolver.get(f"{target.path}?{target.query}")
    assert too_small.status_code == 400
    assert "choose a larger size" in text_of(too_small)

    by_capacity = await owner.get(f"/products/{product_id}/label.pdf", capacity_ml="200000")
    assert by_capacity.status_code == 303
    target = urlsplit(by_capacity.headers["location"])
    # The capacity is a form: a browser follows its redirect to the public site only if the
    # page's policy lets the form go there.
    [form_action] = re.findall(r"form-action ([^;]+)", page.headers["content-security-policy"])
    assert f"{target.scheme}://{target.netloc}" in form_action.split()
    assert f'action="/console/products/{product_id}/label.pdf"' in page.text
    assert "capacity_ml=200000" in target.query
    drum = await world.resolver.get(f"{target.path}?{target.query}")
    assert drum.status_code == 200
    assert drum.headers["content-type"] == "application/pdf"

    for query in (
        {"size": "1x1"},
        {"capacity_ml": "a lot"},
        {"capacity_ml": "-5"},
        {"capacity_ml": "nan"},
        {"capacity_ml": "1e999"},
    ):
        refused = await owner.get(f"/products/{product_id}/label.pdf", **query)
        assert refused.status_code == 422, query
        assert "标签尺寸或包装容量有误" in text_of(refused), query

    sheet = await owner.get("/enterprise/qr-sheet.pdf")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "application/pdf"
    assert _pdf_pages(sheet.content) == [A4_POINTS]
    assert "/console/enterprise/qr-sheet.pdf" in (await owner.get("/products")).text


async def test_before_approval_there_is_nothing_to_download(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, _ = await new_draft(world)
    owner = await _person(new_person, OWNER_MOBILE)
    for path in ("qr.svg", "qr.png", "qr.pdf", "label.pdf"):
        missing = await owner.get(f"/products/{product_id}/{path}")
        assert missing.status_code == 404, path
        assert "页面不存在" in text_of(missing)
    assert (await owner.get("/enterprise/qr-sheet.pdf")).status_code == 404
    assert "qr-sheet.pdf" not in (await owner.get("/products")).text


async def test_other_enterprises_see_nothing_and_regulators_read_but_do_not_edit(
    world: World, new_person: Callable[[], Person]
) -> None:
    product_id, code = await _approved_product(world)
    await _other_enterprise(world)
    other = await _person(new_person, OTHER_OWNER_MOBILE)
    assert "丙酮" not in text_of(await other.get("/products"))
    for path in ("", "/edit", "/qr.svg", "/qr.png", "/qr.pdf", "/label.pdf"):
        refused = await other.get(f"/products/{product_id}{path}")
        assert refused.status_code == 404, path
        assert "没有这个页面，或您无权查看" in text_of(refused)
    assert (await other.get("/products", enterprise=str(world.enterprise_id))).status_code == 404
    assert (
        await other.get("/enterprise/qr-sheet.pdf", enterprise=str(world.enterprise_id))
    ).status_code == 404
    forged = await other.submit(
        "/products/new", f"/products/{product_id}/edit", ACETONE_FORM | {"version": "1"}
    )
    assert forged.status_code == 404

    for mobile in (COUNTY_REVIEWER, COUNTY_VIEWER):
        regulator = await _person(new_person, mobile)
        page = await regulator.get(f"/products/{product_id}")
        assert page.status_code == 200, mobile
        assert code in text_of(page)
        assert f"/products/{product_id}/edit" not in page.text
        assert "qr-sheet.pdf" not in page.text
        assert (await regulator.get(f"/products/{product_id}/qr.png")).status_code == 200
        assert f'href="/console/products?enterprise={world.enterprise_id}"' in page.text
        listed = await regulator.get("/products", enterprise=str(world.enterprise_id))
        assert listed.status_code == 200
        assert "丙酮" in text_of(listed)
        assert "/console/products/new" not in listed.text
        assert (await regulator.get(f"/products/{product_id}/edit")).status_code == 403
        tried = await regulator.submit(
            f"/products/{product_id}",
            f"/products/{product_id}/edit",
            ACETONE_FORM | {"version": "1", "name_en": "Changed"},
        )
        assert tried.status_code == 403, mobile
        assert "您的账号不能执行此操作" in text_of(tried)
        assert (await regulator.get("/products/new")).status_code == 403
    record = await world.owner.get(f"/products/{product_id}")
    assert record.json()["name"]["en"] == "Acetone"

    outside = await _person(new_person, OTHER_COUNTY_REVIEWER)
    assert (await outside.get(f"/products/{product_id}")).status_code == 404
    assert (await outside.get(f"/products/{product_id}/qr.png")).status_code == 404
    listed = await outside.get("/products", enterprise=str(world.enterprise_id))
    assert listed.status_code == 404


async def test_junk_ids_are_a_404_page_never_a_500(
    world: World, new_person: Callable[[], Person]
) -> None:
    owner = await _person(new_person, OWNER_MOBILE)
    junk = ("abc", "99999999999999999999", "999999999999999999", "-1", "1.5", "１", "0x10", "%20")
    for raw in junk:
        for suffix in ("", "/edit", "/qr.svg", "/qr.png", "/qr.pdf", "/label.pdf"):
            answer = await owner.client.get(f"/console/products/{raw}{suffix}")
            assert answer.status_code == 404, (raw, suffix, answer.status_code)
            assert "页面不存在" in text_of(answer)
        posted = await owner.submit(
            "/products/new", f"/products/{raw}/edit", ACETONE_FORM | {"version": "1"}
        )
        assert posted.status_code == 404, raw
    for raw in ("abc", "99999999999999999999", "-1"):
        assert (await owner.get("/products", enterprise=raw)).status_code == 404, raw
        assert (await owner.get("/enterprise/qr-sheet.pdf", enterprise=raw)).status_code == 404
    regulator = await _person(new_person, COUNTY_REVIEWER)
    assert (await regulator.get("/products")).status_code == 404  # which enterprise's?
