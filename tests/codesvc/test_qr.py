"""QR output read back by an independent decoder (zxing-cpp), as a phone camera would."""

from __future__ import annotations

import io

import pypdfium2
import pytest
import resvg_py
from PIL import Image

from codesvc.codes import Code, group_code_id, new_code_id, scan_url
from codesvc.qr import (
    QrError,
    QrFormat,
    QrOptions,
    SheetItem,
    qr_matrix,
    render_print_sheet,
    render_qr,
)
from codesvc.signing import new_private_key, sign_code
from tests.qr_reading import qr_texts

KEY = new_private_key()
BASE_URL = "https://safecode.example.cn"  # 27 characters, about what a deployment uses


def _code() -> Code:
    return sign_code(KEY, new_code_id("14"), "01")


def _decode(image: Image.Image) -> list[str]:
    return qr_texts(image)


def _png_image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _svg_image(data: bytes) -> Image.Image:
    return _png_image(bytes(resvg_py.svg_to_bytes(svg_string=data.decode(), background="#ffffff")))


def _pdf_pages(data: bytes) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(data)
    try:
        return [page.render(scale=3).to_pil() for page in document]
    finally:
        document.close()


def test_a_scan_url_fits_version_6_at_level_m_in_alphanumeric_mode() -> None:
    url = scan_url(BASE_URL, _code())
    assert len(url) == 27 + 3 + 121
    assert len(qr_matrix(url, "M")) == 41  # version 6 is 41 x 41 modules


@pytest.mark.parametrize("caption", [True, False])
@pytest.mark.parametrize("fmt", list(QrFormat))
def test_every_format_decodes_back_to_the_exact_url(fmt: QrFormat, caption: bool) -> None:
    code = _code()
    url = scan_url(BASE_URL, code, "LOT-2026-11")
    data = render_qr(url, group_code_id(code.code_id) if caption else None, QrOptions(fmt))
    if fmt is QrFormat.PNG:
        images = [_png_image(data)]
    elif fmt is QrFormat.SVG:
        images = [_svg_image(data)]
    else:
        images = _pdf_pages(data)
    assert len(images) == 1
    assert _decode(images[0]) == [url]


def test_the_caption_is_printed_under_the_symbol() -> None:
    code = _code()
    grouped = group_code_id(code.code_id)
    svg = render_qr(scan_url(BASE_URL, code), grouped, QrOptions(QrFormat.SVG))
    assert f">{grouped}</text>" in svg.decode()
    with_caption = _png_image(render_qr(scan_url(BASE_URL, code), grouped, QrOptions(QrFormat.PNG)))
    without = _png_image(render_qr(scan_url(BASE_URL, code), None, QrOptions(QrFormat.PNG)))
    assert with_caption.width == without.width
    assert with_caption.height > without.height


@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_every_error_correction_level_decodes(ecc: str) -> None:
    url = scan_url(BASE_URL, _code())
    png = render_qr(url, None, QrOptions(QrFormat.PNG, ecc=ecc, module_size=3))
    assert _decode(_png_image(png)) == [url]


def test_module_size_sets_the_pixel_size() -> None:
    url = scan_url(BASE_URL, _code())
    small = _png_image(render_qr(url, None, QrOptions(QrFormat.PNG, module_size=2)))
    large = _png_image(render_qr(url, None, QrOptions(QrFormat.PNG, module_size=10)))
    assert (small.width, large.width) == ((41 + 8) * 2, (41 + 8) * 10)


def test_a_symbol_is_rendered_once_then_served_from_memory() -> None:
    url = scan_url(BASE_URL, _code())
    first = render_qr(url, None, QrOptions(QrFormat.PNG))
    hits = render_qr.cache_info().hits
    assert render_qr(url, None, QrOptions(QrFormat.PNG)) is first
    assert render_qr.cache_info().hits == hits + 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: QrOptions(QrFormat.PNG, ecc="X"),
        lambda: QrOptions(QrFormat.PNG, module_size=0),
        lambda: QrOptions(QrFormat.PNG, module_size=41),
        lambda: QrOptions("gif"),  # type: ignore[arg-type]
        lambda: render_qr("", None),
        lambda: render_qr("HTTP://X/" + "A" * 5000, None),
        lambda: render_qr("HTTP://X/C/1", "\x00caption"),
        lambda: render_print_sheet([]),
        lambda: render_print_sheet([SheetItem("HTTP://X")], symbol_mm=5),
    ],
)
def test_bad_options_and_content_give_the_typed_error(make: object) -> None:
    with pytest.raises(QrError):
        make()  # type: ignore[operator]


def test_a_print_sheet_holds_every_code_decodable_with_its_caption() -> None:
    codes = [_code() for _ in range(40)]
    items = [SheetItem(scan_url(BASE_URL, c), group_code_id(c.code_id)) for c in codes]
    pdf = render_print_sheet(items, symbol_mm=30)
    pages = _pdf_pages(pdf)
    assert len(pages) == 2  # 5 columns x 6 rows of 30 mm symbols fit an A4 page
    decoded = [text for page in pages for text in _decode(page)]
    assert sorted(decoded) == sorted(item.url for item in items)
    text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert group_code_id(codes[0].code_id) in text
