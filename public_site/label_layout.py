"""Where everything on a GHS label goes (GB 15258-2009): a pure layout, computed once and
drawn twice by `public_site.labels`, as SVG and as PDF.

Lengths are in points (1/72 inch) from the label's top-left corner, y growing downwards.
The content is one column read top to bottom in GB 15258's order; the QR and its code
text sit in the bottom-right corner and the text flows around them. The body text starts
at the size's largest font and shrinks in half-point steps until everything fits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reportlab.pdfbase.pdfmetrics import stringWidth

from ghs.reference import PICTOGRAMS, PRECAUTION_GROUPS
from public_site.label_sizes import LabelError, LabelSize
from public_site.pages import Lang, localized
from public_site.scan_pages import UI
from public_site.sds_pdf import CJK_FONT

PT_PER_MM = 72 / 25.4
MONO_FONT = "Courier"  # the code text under the QR: ASCII, in a standard PDF font
QUIET_ZONE = 4  # modules of white around the QR symbol, as ISO/IEC 18004 asks
# As codesvc.records has them (public_site renders and does not import it).
_LEADING = 1.2  # line height, times the font size; the baseline sits one font size down
_MODULE_MM = 0.33  # per module wherever the label has room: reads reliably off print
_MODULE_FLOOR_MM = 0.25  # the QR shrinks to this before the content is said not to fit
_MIN_CAPTION_PT = 4.5
_NO_LINE_START = set("，。、；：？！）》」』】〕,.;:?!)]}%…·")
_NO_LINE_END = set("（《「『【〔([{")

Style = Literal["regular", "bold", "mono"]


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text; `x` is its left end, or its centre when `centred`."""

    text: str
    x: float
    baseline: float
    size: float  # font size, pt
    style: Style
    centred: bool
    width: float  # as measured for the layout (the wider of the PDF font and the estimate)

    @property
    def box(self) -> Box:
        left = self.x - self.width / 2 if self.centred else self.x
        return Box(left, self.baseline - self.size, self.width, self.size * _LEADING)


@dataclass(frozen=True, slots=True)
class PlacedPictogram:
    code: str  # GHS01 ... GHS09
    box: Box


@dataclass(frozen=True, slots=True)
class LabelLayout:
    size: LabelSize
    title: str  # the product name, for the document's metadata
    width: float
    height: float
    border: Box
    content: Box  # everything but the border lies inside it
    lines: tuple[TextLine, ...]
    pictograms: tuple[PlacedPictogram, ...]
    qr: Box  # the symbol with its quiet zone
    module: float  # pt per module
    matrix: tuple[tuple[bool, ...], ...]
    body_pt: float


def text_width(text: str, size: float, style: Style) -> float:
    """Width in points. Viewers set SVG text in a CJK font of their own, so the estimate
    takes CJK (wide) characters as 1 em and others as 0.55 em (0.6 em bold); the PDF's
    STSong-Light widths count where wider, so the text fits in both."""
    if style == "mono":
        return float(stringWidth(text, MONO_FONT, size))
    latin = 0.6 if style == "bold" else 0.55
    estimate = sum(1.0 if _is_wide(c) else latin for c in text) * size
    return max(estimate, float(stringWidth(text, CJK_FONT, size)))


def layout_label(
    record: Mapping[str, Any],
    *,
    qr: Sequence[Sequence[bool]],
    code_text: str,
    size: LabelSize,
    lang: Lang = "zh",
) -> LabelLayout:
    """The label of `record` (`codesvc.records.record_as_json`'s shape) on `size`, with the
    QR module matrix `qr` (no quiet zone, True = dark) and `code_text` printed under it.

    Raises LabelError when the content does not fit even at the size's smallest text.
    """
    matrix = tuple(tuple(bool(module) for module in row) for row in qr)
    if not 21 <= len(matrix) <= 177 or any(len(row) != len(matrix) for row in matrix):
        raise LabelError("the QR must be a square matrix of 21 to 177 modules, no quiet zone")
    if not 0 < len(code_text) <= 64 or not code_text.isascii() or not code_text.isprintable():
        raise LabelError("the code text must be 1 to 64 printable ASCII characters")
    blocks = _blocks(record, lang, simplified=size.simplified)
    steps = int((size.max_text_pt - size.min_text_pt) / 0.5)
    bodies = [size.max_text_pt - 0.5 * i for i in range(steps + 1)]
    inner_mm = size.width_mm - 2 * (_border_inset(size) + _padding(size)) / PT_PER_MM
    side_mm = min(0.3 * inner_mm, 25.0)  # a phone reads 25 mm from well beyond arm's length
    preferred = max(side_mm / (len(matrix) + 2 * QUIET_ZONE), _MODULE_MM)
    shrunk = [
        preferred - 0.02 * i for i in range(1, 100) if preferred - 0.02 * i >= _MODULE_FLOOR_MM
    ]
    # Text shrinks first; the QR only once the text is as small as it may be.
    attempts = [(body, preferred) for body in bodies] + [(bodies[-1], m) for m in shrunk]
    for body, module_mm in attempts:
        layout = _try(blocks, size, matrix, module_mm * PT_PER_MM, code_text, body)
        if layout is not None:
            return layout
    raise LabelError(
        f"the label's content does not fit the {size.name} size ({size.width_mm:g}x"
        f"{size.height_mm:g} mm), even with {size.min_text_pt:g} pt text: choose a larger size"
    )


@dataclass(frozen=True, slots=True)
class _Paragraph:
    text: str
    scale: float = 1.0  # font size, times the body size
    style: Style = "regular"
    centred: bool = False
    space_before: float = 0.0  # times the body size


@dataclass(frozen=True, slots=True)
class _PictogramRow:
    codes: tuple[str, ...]


_WORDS: dict[str, dict[Lang, str]] = {
    "components": {"zh": "危险组分", "en": "Hazardous components"},
    "sds": {"zh": "请参阅化学品安全技术说明书", "en": "Refer to the safety data sheet"},
    "supplier": {"zh": "供应商", "en": "Supplier"},
    "address": {"zh": "地址", "en": "Address"},
    "phone": {"zh": "电话", "en": "Phone"},
    "emergency_phone": {"zh": "应急咨询电话", "en": "24-hour emergency phone"},
}


def _blocks(
    record: Mapping[str, Any], lang: Lang, *, simplified: bool
) -> list[_Paragraph | _PictogramRow]:
    """The label's content in GB 15258's order; the simplified label (4.3) has no
    precautionary statements and no address."""
    label = record.get("label") or {}
    supplier = record["supplier"]
    colon = "：" if lang == "zh" else ": "

    def labelled(word: str, value: object) -> str:
        return f"{_WORDS[word][lang]}{colon}{_clean(localized(value, lang))}"

    name = _clean(localized(record["product_name"], lang))
    other = _clean(localized(record["product_name"], "en" if lang == "zh" else "zh"))
    blocks: list[_Paragraph | _PictogramRow] = [_Paragraph(name, 1.8, "bold", centred=True)]
    if other and other != name:
        blocks.append(_Paragraph(other, 1.15, centred=True))
    components = [_component(c, lang) for c in label.get("components") or []]
    if components:
        separator = "；" if lang == "zh" else "; "
        blocks.append(
            _Paragraph(labelled("components", separator.join(components)), 0.9, space_before=0.3)
        )
    pictograms = tuple(label.get("pictograms") or ())
    unknown = [code for code in pictograms if code not in PICTOGRAMS]
    if unknown:
        raise LabelError(f"unknown GHS pictogram(s): {', '.join(map(str, unknown))}")
    if pictograms:
        blocks.append(_PictogramRow(pictograms))
    signal_word = label.get("signal_word")
    if signal_word:
        blocks.append(
            _Paragraph(UI[signal_word][lang], 1.8, "bold", centred=True, space_before=0.2)
        )
    for i, statement in enumerate(label.get("hazard_statements") or []):
        blocks.append(_Paragraph(_statement(statement, lang), space_before=0.3 if i == 0 else 0))
    if not simplified:
        precautions = label.get("precautionary_statements") or {}
        for group in PRECAUTION_GROUPS:
            statements = precautions.get(group) or []
            if statements:
                heading = f"【{UI[group][lang]}】" if lang == "zh" else UI[group][lang]
                blocks.append(_Paragraph(heading, style="bold", space_before=0.3))
                # A group's statements run on, as on GB 15258's sample label: a line each
                # would take a 100x150 label's whole height for a solvent's 19 statements.
                blocks.append(_Paragraph(" ".join(_statement(s, lang) for s in statements)))
    blocks.append(_Paragraph(_WORDS["sds"][lang], style="bold", space_before=0.4))
    blocks.append(_Paragraph(labelled("supplier", supplier["name"]), space_before=0.2))
    if not simplified:
        blocks.append(_Paragraph(labelled("address", supplier["address"])))
    blocks.append(_Paragraph(labelled("phone", supplier["phone"])))
    blocks.append(
        _Paragraph(labelled("emergency_phone", supplier["emergency_phone"]), style="bold")
    )
    return blocks


def _statement(statement: Mapping[str, Any], lang: Lang) -> str:
    return _clean(f"{statement['code']} {localized(statement['text'], lang)}")


def _component(component: Mapping[str, Any], lang: Lang) -> str:
    text = f"{localized(component['name'], lang)} {component['concentration']}"
    if component.get("cas"):
        text += f"（CAS {component['cas']}）" if lang == "zh" else f" (CAS {component['cas']})"
    return _clean(text)


def _clean(text: str) -> str:
    """One line of printable text: runs of white space as one space, control and format
    characters (which XML and PDF text cannot carry) dropped."""
    return "".join(c for c in " ".join(text.split()) if unicodedata.category(c)[0] != "C")


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _border_inset(size: LabelSize) -> float:
    return max(1.0, 0.02 * min(size.width_mm, size.height_mm)) * PT_PER_MM


def _padding(size: LabelSize) -> float:
    return max(2.0, 0.03 * min(size.width_mm, size.height_mm)) * PT_PER_MM


@dataclass
class _Flow:
    """The column being filled, top down, around the QR block at the bottom right."""

    content: Box
    block: Box  # the QR, its quiet zone and its code text
    gap: float
    y: float
    lines: list[TextLine] = field(default_factory=list)
    pictograms: list[PlacedPictogram] = field(default_factory=list)

    def span(self, height: float) -> tuple[float, float] | None:
        """Left and right ends of the free space from `y` down `height`; None past the end."""
        if self.y + height > self.content.y + self.content.height:
            return None
        right = self.content.x + self.content.width
        if self.y < self.block.y + self.block.height and self.y + height > self.block.y - self.gap:
            right = self.block.x - self.gap
        return self.content.x, right

    def paragraph(self, paragraph: _Paragraph, body: float) -> bool:
        size = body * paragraph.scale
        self.y += paragraph.space_before * body
        tokens = _tokens(paragraph.text)
        while tokens:
            span = self.span(size * _LEADING)
            if span is None:
                return False
            left, right = span
            text = _take_line(tokens, right - left, size, paragraph.style)
            if text is None:
                return False
            if not text:  # only spaces were left
                break
            x = (left + right) / 2 if paragraph.centred else left
            width = text_width(text, size, paragraph.style)
            self.lines.append(
                TextLine(text, x, self.y + size, size, paragraph.style, paragraph.centred, width)
            )
            self.y += size * _LEADING
        return True

    def pictogram_rows(self, codes: tuple[str, ...], preferred: float, body: float) -> bool:
        gap = 0.05 * preferred
        count = len(codes)
        fit = (self.content.width - (count - 1) * gap) / count
        # All in one row while they keep three quarters of their size; more rows past that.
        side = min(preferred, fit) if fit >= 0.75 * preferred else preferred
        self.y += 0.3 * body
        remaining = list(codes)
        while remaining:
            span = self.span(side)
            if span is None or span[1] - span[0] < side:
                return False
            left, right = span
            row = remaining[: max(1, int((right - left + gap) // (side + gap)))]
            del remaining[: len(row)]
            x = left + (right - left - (len(row) * side + (len(row) - 1) * gap)) / 2
            for i, code in enumerate(row):
                self.pictograms.append(
                    PlacedPictogram(code, Box(x + i * (side + gap), self.y, side, side))
                )
            self.y += side + gap
        return True


def _try(
    blocks: list[_Paragraph | _PictogramRow],
    size: LabelSize,
    matrix: tuple[tuple[bool, ...], ...],
    module: float,
    code_text: str,
    body: float,
) -> LabelLayout | None:
    width, height = size.width_mm * PT_PER_MM, size.height_mm * PT_PER_MM
    inset, padding = _border_inset(size), _padding(size)
    border = Box(inset, inset, width - 2 * inset, height - 2 * inset)
    content = Box(
        inset + padding, inset + padding, border.width - 2 * padding, border.height - 2 * padding
    )
    side = (len(matrix) + 2 * QUIET_ZONE) * module
    caption_pt = max(_MIN_CAPTION_PT, min(body, side / text_width(code_text, 1.0, "mono")))
    caption_width = text_width(code_text, caption_pt, "mono")
    block_width = max(side, caption_width)
    block_height = side + caption_pt * _LEADING
    if block_width > content.width or block_height > content.height:
        return None
    block = Box(
        content.x + content.width - block_width,
        content.y + content.height - block_height,
        block_width,
        block_height,
    )
    centre = block.x + block.width / 2
    qr = Box(centre - side / 2, block.y, side, side)
    caption = TextLine(
        code_text, centre, qr.y + side + caption_pt, caption_pt, "mono", True, caption_width
    )
    flow = _Flow(content, block, gap=max(0.5 * PT_PER_MM, 0.3 * body), y=content.y)
    # At least 10 mm a side (a square centimetre, as EU CLP asks), more on larger labels.
    preferred_pictogram = min(max(0.12 * height, 10 * PT_PER_MM), 0.27 * content.width)
    for item in blocks:
        if isinstance(item, _PictogramRow):
            placed = flow.pictogram_rows(item.codes, preferred_pictogram, body)
        else:
            placed = flow.paragraph(item, body)
        if not placed:
            return None
    return LabelLayout(
        size=size,
        title=blocks[0].text if isinstance(blocks[0], _Paragraph) else "",
        width=width,
        height=height,
        border=border,
        content=content,
        lines=(*flow.lines, caption),
        pictograms=tuple(flow.pictograms),
        qr=qr,
        module=module,
        matrix=matrix,
        body_pt=body,
    )


def _tokens(text: str) -> list[str]:
    """Pieces between which a line may break: after a space and next to any CJK character
    (Chinese breaks anywhere), but never before closing or after opening punctuation."""
    tokens: list[str] = []
    for char in text:
        if (
            tokens
            and not (char in _NO_LINE_START or tokens[-1][-1] in _NO_LINE_END)
            and (tokens[-1][-1] == " " or _is_wide(char) or _is_wide(tokens[-1][-1]))
        ):
            tokens.append(char)
        elif tokens:
            tokens[-1] += char
        else:
            tokens.append(char)
    return tokens


def _take_line(tokens: list[str], width: float, size: float, style: Style) -> str | None:
    """Takes from `tokens` the text of one line at most `width` wide; a piece wider than a
    whole line is broken between characters. None if not even one character fits."""
    line = ""
    while tokens:
        if not line and tokens[0].isspace():  # no line starts with a space
            tokens.pop(0)
            continue
        candidate = line + tokens[0]
        if text_width(candidate.rstrip(), size, style) <= width:
            line = candidate
            tokens.pop(0)
        elif line:
            break
        else:
            piece = tokens[0]
            count = 0
            while count < len(piece) and text_width(piece[: count + 1], size, style) <= width:
                count += 1
            if count == 0:
                return None
            line, tokens[0] = piece[:count], piece[count:]
            break
    return line.rstrip()
