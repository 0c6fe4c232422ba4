"""What the packaging line prints from an issue of serials: the CSV its printers read (one
line per package: its number in the issue, its serial and the URL its QR carries) and A4
sheets of QR labels, each with its serial under it. Pure: rows in, bytes out.

A batch's scan URL is made once (`codesvc.codes.scan_url` checks the code and the batch
number); each item's URL is that and `/S/{serial}`, which is what `scan_url` gives for the
serial, without checking again serials the service issued itself.

The sheets are drawn here rather than with `codesvc.qr.render_print_sheet`, whose symbols
are few and reused (product codes, memoised): an item's symbol is drawn once, and a sheet
holds hundreds. Each symbol's modules go into the PDF as one block of operators in module
units, which takes a fraction of a millisecond where drawing them rectangle by rectangle
through reportlab takes several; encoding the symbol (segno, choosing the best mask as the
QR standard asks) is then most of the time, about 10 ms a symbol.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from codesvc.qr import qr_content
from public_site.labels import dark_runs

CSV_HEADER = b"seq,serial,url\r\n"  # RFC 4180 line ends, as spreadsheet programs write them
SYMBOL_MM = 30.0  # as the product codes' sheets: a phone reads it from arm's length
_QUIET_ZONE = 4  # modules of white around a symbol, as the standard asks
_MARGIN, _GAP, _CAPTION = 12 * mm, 8 * mm, 6 * mm


def item_url(batch_url: str, serial: str) -> str:
    """The URL an item's QR carries: its batch's scan URL and its serial (upper case)."""
    return f"{batch_url}/S/{serial}"


def serial_lines(rows: Iterable[tuple[int, str]], batch_url: str) -> bytes:
    """CSV lines (no header) of (seq, serial) rows. Serials and URLs hold no comma, quote
    or line break, so no field needs quoting."""
    return "".join(
        f"{seq},{serial},{item_url(batch_url, serial)}\r\n" for seq, serial in rows
    ).encode("ascii")


def sheet_layout(symbol_mm: float = SYMBOL_MM) -> tuple[int, int]:
    """(columns, rows) of symbols on an A4 page."""
    page_w, page_h = A4
    cell_w, cell_h = symbol_mm * mm, symbol_mm * mm + _CAPTION
    columns = int((page_w - 2 * _MARGIN + _GAP) // (cell_w + _GAP))
    rows = int((page_h - 2 * _MARGIN + _GAP) // (cell_h + _GAP))
    return columns, rows


def serials_sheet(rows: Sequence[tuple[int, str]], batch_url: str, title: str) -> bytes:
    """An A4 PDF of the items' QR codes in seq order, each with its serial printed under it
    and crop marks around it; each page's foot names `title` and the seqs on it."""
    if not rows:
        raise ValueError("a sheet needs at least one serial")
    columns, per_column = sheet_layout()
    per_page = columns * per_column
    cell_w, cell_h = SYMBOL_MM * mm, SYMBOL_MM * mm + _CAPTION
    page_h = A4[1]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    for start in range(0, len(rows), per_page):
        page = rows[start : start + per_page]
        for slot, (_, serial) in enumerate(page):
            x = _MARGIN + (slot % columns) * (cell_w + _GAP)
            top = page_h - _MARGIN - (slot // columns) * (cell_h + _GAP)
            canvas.addLiteral(_symbol(item_url(batch_url, serial), x, top, SYMBOL_MM * mm))
            canvas.setFont("Courier-Bold", 9)
            canvas.drawCentredString(x + cell_w / 2, top - cell_w - 4 * mm, serial)
            _crop_marks(canvas, x, top - cell_h, cell_w, cell_h)
        canvas.setFont("Helvetica", 7)
        canvas.drawString(_MARGIN, _MARGIN / 2, f"{title}  ·  seq {page[0][0]}-{page[-1][0]}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _symbol(url: str, left: float, top: float, side: float) -> str:
    """PDF operators filling the symbol's dark modules, its quiet zone inside `side` points
    from (left, top): one rectangle per run of dark modules, in module units."""
    matrix = segno.make(qr_content(url), error="m", boost_error=False, micro=False).matrix
    module = side / (len(matrix) + 2 * _QUIET_ZONE)
    origin_x, origin_y = left + _QUIET_ZONE * module, top - _QUIET_ZONE * module
    runs = "".join(
        f"{x} {y} {length} 1 re\n"
        for y, row in enumerate(matrix)
        for x, length in dark_runs([bool(m) for m in row])
    )
    # y grows downwards in module units: the rows are drawn as they are read.
    return f"q 0 g {module:.5f} 0 0 {-module:.5f} {origin_x:.3f} {origin_y:.3f} cm\n{runs}f Q\n"


def _crop_marks(canvas: Canvas, x: float, y: float, w: float, h: float) -> None:
    """Short lines just outside each corner of the cell, where it is cut."""
    canvas.setLineWidth(0.3)
    gap, length = 1 * mm, 3 * mm
    for cx, dx in ((x, -1), (x + w, 1)):
        for cy, dy in ((y, -1), (y + h, 1)):
            canvas.line(cx + dx * gap, cy, cx + dx * (gap + length), cy)
            canvas.line(cx, cy + dy * gap, cx, cy + dy * (gap + length))
