"""QR symbols of scan URLs as SVG, PNG and PDF, and A4 print sheets of many codes.

The URL is put in upper case so the symbol uses QR's alphanumeric mode: a 121-character
code behind a base URL of about 24 characters fits version 6 (41x41 modules) at error
correction M. Sizes are in CSS pixels (1/96 inch) per module; the PDF keeps the same
physical size. Rendering takes milliseconds, so each distinct symbol is rendered once
per process and kept (`render_qr` is memoised; its inputs are all it depends on).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from xml.sax.saxutils import escape

import segno
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from public_site.labels import dark_runs

ECC_LEVELS = ("L", "M", "Q", "H")
MAX_MODULE_SIZE = 40
_PT_PER_PX = 0.75  # 72 pt per inch / 96 px per inch
_QUIET_ZONE = 4  # modules of white around the symbol, as the standard asks
_CACHE_SIZE = 2048


class QrFormat(StrEnum):
    SVG = "svg"
    PNG = "png"
    PDF = "pdf"


MEDIA_TYPES = {
    QrFormat.SVG: "image/svg+xml",
    QrFormat.PNG: "image/png",
    QrFormat.PDF: "application/pdf",
}


class QrError(ValueError):
    """Options or content a QR symbol cannot be made from."""


@dataclass(frozen=True, slots=True)
class QrOptions:
    format: QrFormat = QrFormat.SVG
    ecc: str = "M"
    module_size: int = 4  # CSS pixels per module

    def __post_init__(self) -> None:
        if not isinstance(self.format, QrFormat):
            raise QrError(f"format must be one of {', '.join(f.value for f in QrFormat)}")
        if self.ecc not in ECC_LEVELS:
            raise QrError(f"error correction must be one of {', '.join(ECC_LEVELS)}")
        if not isinstance(self.module_size, int) or not 1 <= self.module_size <= MAX_MODULE_SIZE:
            raise QrError(f"module size must be a whole number from 1 to {MAX_MODULE_SIZE}")


@dataclass(frozen=True, slots=True)
class SheetItem:
    url: str
    caption: str | None = None


def qr_content(url: str) -> str:
    """What the symbol encodes: the URL in upper case (alphanumeric mode)."""
    if not isinstance(url, str) or not url:
        raise QrError("the URL must be non-empty text")
    return url.upper()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def qr_matrix(url: str, ecc: str = "M") -> tuple[tuple[bool, ...], ...]:
    """The symbol's modules, True for dark, without the quiet zone."""
    if ecc not in ECC_LEVELS:
        raise QrError(f"error correction must be one of {', '.join(ECC_LEVELS)}")
    try:
        symbol = segno.make(qr_content(url), error=ecc.lower(), boost_error=False, micro=False)
    except segno.DataOverflowError:
        raise QrError(f"{len(url)} characters do not fit in a QR symbol at level {ecc}") from None
    return tuple(tuple(bool(module) for module in row) for row in symbol.matrix)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def render_qr(url: str, caption: str | None = None, options: QrOptions = QrOptions()) -> bytes:
    """The symbol for `url` in the chosen format, with `caption` printed under it."""
    if caption is not None and (len(caption) > 40 or not caption.isprintable()):
        raise QrError("a caption is at most 40 printable characters")
    matrix = qr_matrix(url, options.ecc)
    if options.format is QrFormat.SVG:
        return _svg(matrix, caption, options.module_size)
    if options.format is QrFormat.PNG:
        return _png(matrix, caption, options.module_size)
    return _pdf(matrix, caption, options.module_size)


def render_print_sheet(
    items: Sequence[SheetItem], *, ecc: str = "M", symbol_mm: float = 30.0
) -> bytes:
    """An A4 PDF of the symbols in a grid, each with its caption and crop marks."""
    if not items:
        raise QrError("a print sheet needs at least one code")
    if len(items) > 5000:
        raise QrError("a print sheet holds at most 5000 codes")
    if not 15 <= symbol_mm <= 100:
        raise QrError("symbol size must be from 15 to 100 mm")
    margin, gap, caption_h = 12 * mm, 8 * mm, 6 * mm
    cell_w, cell_h = symbol_mm * mm, symbol_mm * mm + caption_h
    page_w, page_h = A4
    columns = int((page_w - 2 * margin + gap) // (cell_w + gap))
    rows = int((page_h - 2 * margin + gap) // (cell_h + gap))
    per_page = columns * rows
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle("SafeCode print sheet")
    for index, item in enumerate(items):
        if index and index % per_page == 0:
            canvas.showPage()
        slot = index % per_page
        x = margin + (slot % columns) * (cell_w + gap)
        top = page_h - margin - (slot // columns) * (cell_h + gap)
        matrix = qr_matrix(item.url, ecc)
        # The symbol keeps its quiet zone inside the cell, so a cut on the marks is safe.
        module = symbol_mm * mm / (len(matrix) + 2 * _QUIET_ZONE)
        _draw_modules(canvas, matrix, x + _QUIET_ZONE * module, top - _QUIET_ZONE * module, module)
        if item.caption:
            canvas.setFont("Courier-Bold", 8)
            canvas.drawCentredString(x + cell_w / 2, top - cell_w - 4 * mm, item.caption)
        _crop_marks(canvas, x, top - cell_h, cell_w, cell_h)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _caption_height(module_size: int) -> int:
    return max(14, module_size * 4)


def _svg(matrix: tuple[tuple[bool, ...], ...], caption: str | None, module_size: int) -> bytes:
    size = len(matrix) + 2 * _QUIET_ZONE
    width = size * module_size
    height = width + (_caption_height(module_size) if caption else 0)
    path = "".join(
        f"M{x + _QUIET_ZONE} {y + _QUIET_ZONE}h{length}v1h-{length}z"
        for y, row in enumerate(matrix)
        for x, length in dark_runs(row)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<path transform="scale({module_size})" fill="#000" d="{path}"/>',
    ]
    if caption:
        font_px = _caption_height(module_size) * 0.7
        parts.append(
            f'<text x="{width / 2}" y="{width + font_px * 0.6:.1f}" text-anchor="middle" '
            f'font-family="monospace" font-weight="bold" font-size="{font_px:.1f}" '
            f'fill="#000">{escape(caption)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts).encode("utf-8")


def _png(matrix: tuple[tuple[bool, ...], ...], caption: str | None, module_size: int) -> bytes:
    size = len(matrix) + 2 * _QUIET_ZONE
    symbol = Image.new("L", (size, size), 255)
    symbol.putdata([0 if dark else 255 for row in _with_quiet_zone(matrix) for dark in row])
    symbol = symbol.resize((size * module_size, size * module_size), Image.Resampling.NEAREST)
    caption_h = _caption_height(module_size) if caption else 0
    image = Image.new("L", (symbol.width, symbol.height + caption_h), 255)
    image.paste(symbol, (0, 0))
    if caption:
        font = ImageFont.load_default(size=caption_h * 0.7)
        ImageDraw.Draw(image).text(
            (image.width / 2, symbol.height + caption_h * 0.1),
            caption,
            fill=0,
            font=font,
            anchor="mt",
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _pdf(matrix: tuple[tuple[bool, ...], ...], caption: str | None, module_size: int) -> bytes:
    module = module_size * _PT_PER_PX
    side = (len(matrix) + 2 * _QUIET_ZONE) * module
    caption_h = _caption_height(module_size) * _PT_PER_PX if caption else 0
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(side, side + caption_h), pageCompression=1)
    _draw_modules(
        canvas, matrix, _QUIET_ZONE * module, side + caption_h - _QUIET_ZONE * module, module
    )
    if caption:
        canvas.setFont("Courier-Bold", caption_h * 0.7)
        canvas.drawCentredString(side / 2, caption_h * 0.3, caption)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _with_quiet_zone(matrix: tuple[tuple[bool, ...], ...]) -> list[list[bool]]:
    width = len(matrix) + 2 * _QUIET_ZONE
    blank = [False] * width
    pad = [False] * _QUIET_ZONE
    return [blank] * _QUIET_ZONE + [[*pad, *row, *pad] for row in matrix] + [blank] * _QUIET_ZONE


def _draw_modules(
    canvas: Canvas, matrix: tuple[tuple[bool, ...], ...], left: float, top: float, module: float
) -> None:
    """Dark runs as filled rectangles; (left, top) is the symbol's top-left corner in points."""
    canvas.setFillColorRGB(0, 0, 0)
    for y, row in enumerate(matrix):
        for x, length in dark_runs(row):
            canvas.rect(
                left + x * module, top - (y + 1) * module, length * module, module, stroke=0, fill=1
            )


def _crop_marks(canvas: Canvas, x: float, y: float, w: float, h: float) -> None:
    """Short lines just outside each corner of the cell, where it is cut."""
    canvas.setLineWidth(0.3)
    gap, length = 1 * mm, 3 * mm
    for cx, dx in ((x, -1), (x + w, 1)):
        for cy, dy in ((y, -1), (y + h, 1)):
            canvas.line(cx + dx * gap, cy, cx + dx * (gap + length), cy)
            canvas.line(cx, cy + dy * gap, cx, cy + dy * (gap + length))
