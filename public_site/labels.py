"""Print-ready GHS labels as GB 15258-2009 lays them out, as SVG and as PDF.

Both are drawn from one layout (`public_site.label_layout`), so they agree line for line.
The PDF sets text in the standard CID font STSong-Light (real, extractable text; viewers
use their own CJK fonts) and the pictograms as vector art; the SVG stands alone, with the
pictograms inline and text as <text> in the reader's CJK font.
"""

from __future__ import annotations

import functools
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing
from reportlab.pdfgen.canvas import Canvas
from svglib.svglib import svg2rlg

from public_site.label_layout import MONO_FONT, QUIET_ZONE, LabelLayout, TextLine, layout_label
from public_site.label_sizes import (
    LABEL_SIZES,
    LabelError,
    LabelSize,
    label_size_for,
    label_size_named,
)
from public_site.pages import STATIC_DIR, Lang
from public_site.sds_pdf import CJK_FONT

__all__ = [
    "LABEL_SIZES",
    "LabelError",
    "LabelSize",
    "dark_runs",
    "label_size_for",
    "label_size_named",
    "render_label_pdf",
    "render_label_svg",
]

_GHS_DIR = STATIC_DIR / "ghs"
_SVG_NS = "{http://www.w3.org/2000/svg}"
_FONT_FAMILY = (
    "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC','SimHei',sans-serif"
)
_BORDER_PT = 0.5


def render_label_svg(
    record: Mapping[str, Any],
    *,
    qr: Sequence[Sequence[bool]],
    code_text: str,
    size: LabelSize,
    lang: Lang = "zh",
) -> bytes:
    """The label as a standalone SVG document, `size` in millimetres; see `render_label_pdf`."""
    layout = layout_label(record, qr=qr, code_text=code_text, size=size, lang=lang)
    w, h = layout.width, layout.height
    border = layout.border
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size.width_mm:g}mm" '
        f'height="{size.height_mm:g}mm" viewBox="0 0 {w:.2f} {h:.2f}">',
        f"<title>{escape(layout.title)}</title>",
        f'<rect width="{w:.2f}" height="{h:.2f}" fill="#fff"/>',
        f'<rect x="{border.x:.2f}" y="{border.y:.2f}" width="{border.width:.2f}" '
        f'height="{border.height:.2f}" fill="none" stroke="#000" stroke-width="{_BORDER_PT}"/>',
    ]
    for pictogram in layout.pictograms:
        view_box, inner = _pictogram_svg(pictogram.code)
        box = pictogram.box
        parts.append(
            f'<svg x="{box.x:.2f}" y="{box.y:.2f}" width="{box.width:.2f}" '
            f'height="{box.height:.2f}" viewBox="{view_box}">{inner}</svg>'
        )
    origin_x, origin_y = (
        layout.qr.x + QUIET_ZONE * layout.module,
        layout.qr.y + QUIET_ZONE * layout.module,
    )
    path = "".join(
        f"M{x} {y}h{length}v1h-{length}z"
        for y, row in enumerate(layout.matrix)
        for x, length in dark_runs(row)
    )
    parts.append(
        f'<path transform="translate({origin_x:.3f} {origin_y:.3f}) scale({layout.module:.4f})" '
        f'fill="#000" d="{path}"/>'
    )
    parts.append(f'<g font-family="{_FONT_FAMILY}" fill="#000">')
    parts += [_svg_text(line) for line in layout.lines]
    parts.append("</g></svg>")
    return "".join(parts).encode("utf-8")


def render_label_pdf(
    record: Mapping[str, Any],
    *,
    qr: Sequence[Sequence[bool]],
    code_text: str,
    size: LabelSize,
    lang: Lang = "zh",
) -> bytes:
    """The label of `record` (the shape `codesvc.records.record_as_json` gives) as a one-page
    PDF the size of the label.

    `qr` is the QR module matrix without its quiet zone (True = dark), `code_text` the code
    id printed under it. Raises LabelError when the content does not fit `size`.
    """
    layout = layout_label(record, qr=qr, code_text=code_text, size=size, lang=lang)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(layout.width, layout.height), pageCompression=1)
    canvas.setTitle(layout.title)
    border = layout.border
    canvas.setLineWidth(_BORDER_PT)
    canvas.rect(border.x, layout.height - border.y - border.height, border.width, border.height)
    for pictogram in layout.pictograms:
        box = pictogram.box
        drawing = _pictogram_drawing(pictogram.code)
        canvas.saveState()
        canvas.translate(box.x, layout.height - box.y - box.height)
        canvas.scale(box.width / drawing.width, box.height / drawing.height)
        renderPDF.draw(drawing, canvas, 0, 0)
        canvas.restoreState()
    _draw_qr(canvas, layout)
    for line in layout.lines:
        _draw_line(canvas, line, layout.height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _svg_text(line: TextLine) -> str:
    attributes = f'x="{line.x:.2f}" y="{line.baseline:.2f}" font-size="{line.size:.2f}"'
    if line.centred:
        attributes += ' text-anchor="middle"'
    if line.style == "bold":
        attributes += ' font-weight="bold"'
    elif line.style == "mono":
        attributes += ' font-family="monospace"'
    return f"<text {attributes}>{escape(line.text)}</text>"


def _draw_line(canvas: Canvas, line: TextLine, page_height: float) -> None:
    font = MONO_FONT if line.style == "mono" else CJK_FONT
    x = line.x
    if line.centred:  # centred on the PDF font's own width, which the layout's is at least
        x -= canvas.stringWidth(line.text, font, line.size) / 2
    canvas.saveState()  # the text render mode outlives the text object: restore it after
    text = canvas.beginText(x, page_height - line.baseline)
    text.setFont(font, line.size)
    if line.style == "bold":
        # STSong-Light has no bold face: outline the glyphs as well as filling them.
        canvas.setLineWidth(line.size * 0.04)
        text.setTextRenderMode(2)
    text.textOut(line.text)
    canvas.drawText(text)
    canvas.restoreState()


def _draw_qr(canvas: Canvas, layout: LabelLayout) -> None:
    """Dark runs of modules as filled rectangles, inside the quiet zone the layout left."""
    module = layout.module
    left = layout.qr.x + QUIET_ZONE * module
    top = layout.height - layout.qr.y - QUIET_ZONE * module
    canvas.setFillColorRGB(0, 0, 0)
    for y, row in enumerate(layout.matrix):
        for x, length in dark_runs(row):
            canvas.rect(
                left + x * module, top - (y + 1) * module, length * module, module, stroke=0, fill=1
            )


def dark_runs(row: Sequence[bool]) -> Iterator[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row of a QR symbol: a symbol is
    drawn a run at a time (codesvc.qr draws its own symbols with this too)."""
    start = None
    for x, dark in enumerate([*row, False]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            yield start, x - start
            start = None


@functools.cache
def _pictogram_source(code: str) -> bytes:
    text = (_GHS_DIR / f"{code}.svg").read_text("utf-8")
    # svglib reads colour keywords in lower case only (GHS07 says "Red"); CSS ignores case.
    text = re.sub(
        r"\b(fill|stroke)(\s*:\s*)([A-Za-z]+)\b", lambda m: m[1] + m[2] + m[3].lower(), text
    )
    return text.encode("utf-8")


@functools.cache
def _pictogram_drawing(code: str) -> Drawing:
    drawing = svg2rlg(io.BytesIO(_pictogram_source(code)))
    if drawing is None:
        raise LabelError(f"the pictogram {code} could not be read")
    return drawing


@functools.cache
def _pictogram_svg(code: str) -> tuple[str, str]:
    """The pictogram's viewBox and its elements, to nest in a label's SVG."""
    root = ET.fromstring(_pictogram_source(code))  # noqa: S314 -- our own static files
    _keep_plain_svg(root)
    view_box = root.get("viewBox") or f"0 0 {root.get('width')} {root.get('height')}"
    return view_box, "".join(ET.tostring(child, encoding="unicode") for child in root)


def _keep_plain_svg(element: ET.Element) -> None:
    """Drops the drawing program's metadata, and the SVG namespace from tags, so the
    elements serialise without prefixes inside the label's own <svg>."""
    for child in list(element):
        if not child.tag.startswith(_SVG_NS) or child.tag == f"{_SVG_NS}metadata":
            element.remove(child)
            continue
        child.tag = child.tag.removeprefix(_SVG_NS)
        for name in [name for name in child.attrib if name.startswith("{")]:
            del child.attrib[name]
        _keep_plain_svg(child)
