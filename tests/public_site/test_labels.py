"""GHS labels as GB 15258 lays them out: every element there as text, sized by the package,
and a QR that an independent decoder (zxing-cpp) reads back off the printed page."""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from typing import Any

import pypdfium2
import pytest
import resvg_py
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from codesvc.codes import group_code_id, new_code_id, scan_url
from codesvc.qr import qr_content, qr_matrix
from codesvc.records import parse_record, record_as_json
from codesvc.signing import new_private_key, sign_code
from public_site.label_layout import layout_label
from public_site.labels import (
    LABEL_SIZES,
    LabelError,
    LabelSize,
    label_size_for,
    label_size_named,
    render_label_pdf,
    render_label_svg,
)
from public_site.pages import Lang
from safecode.demo import sample_record
from tests.conftest import pdf_text
from tests.qr_reading import qr_texts

CODE = sign_code(new_private_key(), new_code_id("14"), "01")
URL = scan_url("https://safecode.example.cn", CODE, "LOT-2026-11")
CODE_TEXT = group_code_id(CODE.code_id)
MATRIX = qr_matrix(URL)
HEADINGS = ["【预防措施】", "【事故响应】", "【安全储存】", "【废弃处置】"]
SVG = "{http://www.w3.org/2000/svg}"
MM_PER_PT = 25.4 / 72


def _record(*, trimmed: bool = False) -> dict[str, Any]:
    """The demo record as the scan pages get it, with a statement holding < & > and one
    without English; `trimmed` keeps one statement each, for the smallest labels."""
    data = sample_record()
    label = data["label"]
    label["hazard_statements"].insert(
        1, {"code": "H373", "text": {"zh": "远离<热源> & 氧化剂", "en": "Keep <away> & closed"}}
    )
    label["hazard_statements"][0]["text"] = {"zh": "仅有中文的说明文字"}
    if trimmed:
        label["hazard_statements"] = label["hazard_statements"][:3]
        for group, statements in label["precautionary_statements"].items():
            label["precautionary_statements"][group] = statements[:1]
    return record_as_json(parse_record(data))


def _squash(text: str) -> str:
    """Without white space: wrapped lines join up again, whatever the line breaks were."""
    return re.sub(r"\s+", "", text)


def _texts(value: object, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value["zh"])
    return str(value)


def _pdf_images(pdf: bytes, scale: float) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=scale).to_pil() for page in document]
    finally:
        document.close()


def _svg_image(svg: bytes, dpi: float) -> Image.Image:
    # resvg_py needs a dpi to resolve the label's width and height in millimetres.
    png = resvg_py.svg_to_bytes(svg_string=svg.decode(), background="#ffffff", dpi=dpi)
    return Image.open(io.BytesIO(bytes(png)))


def _decode(image: Image.Image) -> list[str]:
    return qr_texts(image)


def _render(fmt: str, record: dict[str, Any], size: LabelSize, lang: Lang = "zh") -> bytes:
    render = render_label_pdf if fmt == "pdf" else render_label_svg
    return render(record, qr=MATRIX, code_text=CODE_TEXT, size=size, lang=lang)


@pytest.mark.parametrize(
    ("capacity_ml", "name"),
    [
        (0.5, "simplified"),
        (100, "simplified"),
        (100.01, "50x75"),
        (3000, "50x75"),
        (3001, "75x100"),
        (50_000, "75x100"),
        (50_001, "100x150"),
        (500_000, "100x150"),
        (500_001, "150x200"),
        (1_000_000, "150x200"),
        (1_000_001, "200x300"),
        (1e12, "200x300"),
    ],
)
def test_the_size_follows_gb_15258_by_package_capacity(capacity_ml: float, name: str) -> None:
    size = label_size_for(capacity_ml)
    assert size.name == name
    assert size.simplified == (name == "simplified")
    assert label_size_named(name) is size


@pytest.mark.parametrize("capacity_ml", [0, -1, -0.0, math.nan, math.inf, -math.inf, True, "5"])
def test_a_capacity_that_is_no_positive_finite_number_is_refused(capacity_ml: Any) -> None:
    with pytest.raises(LabelError, match="capacity"):
        label_size_for(capacity_ml)


def test_sizes_are_picked_by_name_and_an_unknown_name_lists_the_valid_ones() -> None:
    assert (label_size_named("75×100").width_mm, label_size_named("75X100").height_mm) == (75, 100)
    with pytest.raises(LabelError) as error:
        label_size_named("A4")
    for size in LABEL_SIZES:
        assert size.name in str(error.value)


@pytest.mark.parametrize("size", ["50x75", "100x150"])
def test_the_chinese_label_carries_every_element_in_order(size: str) -> None:
    record = _record(trimmed=size == "50x75")
    text = _squash(pdf_text(_render("pdf", record, label_size_named(size))))
    label, supplier = record["label"], record["supplier"]
    expected = [
        record["product_name"]["zh"],
        record["product_name"]["en"],
        "危险",
        *[s["code"] + _texts(s["text"], "zh") for s in label["hazard_statements"]],
        *HEADINGS,
        "请参阅化学品安全技术说明书",
        _texts(supplier["name"], "zh"),
        _texts(supplier["address"], "zh"),
        supplier["phone"],
        "应急咨询电话：" + supplier["emergency_phone"],
        CODE_TEXT,
    ]
    positions = [text.find(_squash(part)) for part in expected]
    assert -1 not in positions, [
        part for part, at in zip(expected, positions, strict=True) if at < 0
    ]
    assert positions == sorted(positions)  # GB 15258's order, QR code text last
    assert "远离<热源>&氧化剂" in text  # escaped on the way in, plain text out
    for statements in label["precautionary_statements"].values():
        for statement in statements:
            assert _squash(statement["code"] + _texts(statement["text"], "zh")) in text


def test_the_english_label_falls_back_to_chinese_where_no_english_exists() -> None:
    record = _record()
    # English takes more room: the demo's 19 precautionary statements need 150x200.
    text = _squash(pdf_text(_render("pdf", record, label_size_named("150x200"), "en")))
    label = record["label"]
    for part in [
        record["product_name"]["en"],
        record["product_name"]["zh"],
        "Danger",
        "Prevention",
        "Response",
        "Storage",
        "Disposal",
        "Refer to the safety data sheet",
        "24-hour emergency phone",
        "仅有中文的说明文字",  # no English given
        "Keep <away> & closed",
        _texts(record["supplier"]["name"], "en"),
        *[
            _texts(s["text"], "en")
            for group in label["precautionary_statements"].values()
            for s in group
        ],
    ]:
        assert _squash(part) in text, part
    assert "危险" not in text
    assert "预防措施" not in text


def test_the_simplified_label_leaves_out_the_precautionary_statements() -> None:
    record = _record()
    pdf = _render("pdf", record, label_size_for(100))
    text = _squash(pdf_text(pdf))
    supplier = record["supplier"]
    for part in [
        record["product_name"]["zh"],
        record["product_name"]["en"],
        "危险",
        *[s["code"] + _texts(s["text"], "zh") for s in record["label"]["hazard_statements"]],
        "请参阅化学品安全技术说明书",
        _texts(supplier["name"], "zh"),
        supplier["phone"],
        supplier["emergency_phone"],
        CODE_TEXT,
    ]:
        assert _squash(part) in text, part
    for heading in HEADINGS:
        assert heading not in text
    for statements in record["label"]["precautionary_statements"].values():
        assert all(statement["code"] not in text for statement in statements)


def test_a_mixture_names_its_hazardous_components() -> None:
    record = _record(trimmed=True)
    record["label"]["components"] = [
        {"name": {"zh": "甲醇", "en": "Methanol"}, "cas": "67-56-1", "concentration": "10-20%"},
        {"name": {"zh": "专有组分"}, "cas": None, "concentration": "<5%"},
    ]
    size = label_size_named("75x100")
    zh = _squash(pdf_text(_render("pdf", record, size)))
    assert "危险组分：甲醇10-20%（CAS67-56-1）；专有组分<5%" in zh
    en = _squash(pdf_text(_render("pdf", record, size, "en")))
    assert "Hazardouscomponents:Methanol10-20%(CAS67-56-1);专有组分<5%" in en
    first_hazard = record["label"]["hazard_statements"][0]["code"]
    assert zh.index("危险组分") < zh.index(first_hazard)  # the product identifier comes first


@pytest.mark.parametrize("size", LABEL_SIZES, ids=lambda s: s.name)
def test_the_pdf_page_is_the_label_size_and_its_qr_reads_back(size: LabelSize) -> None:
    pdf = _render("pdf", _record(trimmed=True), size)
    document = pypdfium2.PdfDocument(pdf)
    width, height = document[0].get_size()
    assert len(document) == 1
    document.close()
    assert width * MM_PER_PT == pytest.approx(size.width_mm, abs=0.5)
    assert height * MM_PER_PT == pytest.approx(size.height_mm, abs=0.5)
    # About 12 pixels a module on the small sizes, fewer on the large where modules are big.
    (image,) = _pdf_images(pdf, scale=600 / size.width_mm)
    assert _decode(image) == [qr_content(URL)]


@pytest.mark.parametrize("size", ["simplified", "50x75", "200x300"])
def test_the_svg_is_well_formed_standalone_and_its_qr_reads_back(size: str) -> None:
    record = _record(trimmed=True)
    svg = _render("svg", record, label_size_named(size))
    root = ET.fromstring(svg)
    assert root.get("width", "").endswith("mm")
    assert root.get("height", "").endswith("mm")
    assert b"href" not in svg  # pictograms inline, nothing to fetch
    nested = root.findall(f"{SVG}svg")
    assert len(nested) == len(record["label"]["pictograms"])
    text = _squash("".join(element.text or "" for element in root.iter(f"{SVG}text")))
    assert "远离<热源>&氧化剂" in text
    assert CODE_TEXT in text
    assert "远离&lt;热源&gt; &amp; 氧化剂".encode() in svg
    group = root.find(f"{SVG}g")
    assert group is not None
    assert "Noto Sans CJK SC" in group.get("font-family", "")
    assert _decode(_svg_image(svg, dpi=600 if size != "200x300" else 150)) == [qr_content(URL)]


def _crowded_record() -> dict[str, Any]:
    record = _record()
    statement = (
        "远离热源、火花、明火和热表面，使用防爆的电气、通风、照明设备，只能使用不产生火花的工具。"
    )
    record["label"]["precautionary_statements"]["prevention"] = [
        {"code": f"P2{n:02d}", "text": {"zh": statement}} for n in range(24)
    ]
    return record


def test_content_too_big_for_the_size_is_refused_with_advice_and_fits_a_larger_one() -> None:
    record = _crowded_record()
    with pytest.raises(LabelError, match=r"does not fit the 50x75 size .*larger size"):
        _render("pdf", record, label_size_named("50x75"))
    text = _squash(pdf_text(_render("pdf", record, label_size_named("200x300"))))
    assert text.count("P223远离热源") == 1


@pytest.mark.parametrize(
    ("qr", "code_text"),
    [([[True] * 5] * 5, CODE_TEXT), ([[True] * 21] * 20, CODE_TEXT), (MATRIX, ""), (MATRIX, "码")],
)
def test_a_bad_qr_matrix_or_code_text_is_refused(qr: Any, code_text: str) -> None:
    with pytest.raises(LabelError):
        render_label_svg(_record(), qr=qr, code_text=code_text, size=label_size_named("50x75"))


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(min_size=1, max_size=400),
    size=st.sampled_from(LABEL_SIZES[:3]),
    lang=st.sampled_from(["zh", "en"]),
    pictograms=st.integers(min_value=0, max_value=9),
)
def test_text_never_leaves_the_label_nor_covers_the_qr_or_pictograms(
    text: str, size: LabelSize, lang: Lang, pictograms: int
) -> None:
    record = _record(trimmed=True)
    record["label"]["hazard_statements"][1]["text"] = {"zh": text, "en": text}
    record["label"]["pictograms"] = [f"GHS0{n}" for n in range(1, pictograms + 1)]
    try:
        layout = layout_label(record, qr=MATRIX, code_text=CODE_TEXT, size=size, lang=lang)
    except LabelError as error:
        refusal = str(error)
    else:
        refusal = ""
    if refusal:
        assert "choose a larger size" in refusal
        return
    content = layout.content
    for line in layout.lines:
        box = line.box
        assert content.x - 0.01 <= box.x
        assert box.x + box.width <= content.x + content.width + 0.01
        assert content.y - 0.01 <= box.y
        assert box.y + box.height <= content.y + content.height + 0.01
        assert not any(box.overlaps(p.box) for p in layout.pictograms)
        if line.style != "mono":  # the code text belongs under the QR
            assert not box.overlaps(layout.qr)
    assert not any(p.box.overlaps(layout.qr) for p in layout.pictograms)
    ET.fromstring(render_label_svg(record, qr=MATRIX, code_text=CODE_TEXT, size=size, lang=lang))
