"""The safety data sheet as a PDF: the 16 sections of GB/T 16483, with revision and date.

Chinese is set in reportlab's standard CID font STSong-Light: the text stays real,
extractable text, and PDF viewers show it with their own CJK fonts, with nothing to
install for the reader and no font file to ship.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from public_site.pages import Lang, localized
from public_site.scan_pages import UI

CJK_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))

_TITLE = ParagraphStyle("title", fontName=CJK_FONT, fontSize=16, leading=22, spaceAfter=4)
_META = ParagraphStyle("meta", fontName=CJK_FONT, fontSize=9, leading=13, spaceAfter=8)
_HEADING = ParagraphStyle("heading", fontName=CJK_FONT, fontSize=12, leading=17, spaceBefore=8)
# CJK text breaks between any two characters.
_BODY = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10, leading=15, wordWrap="CJK")
_SECTION: dict[Lang, str] = {"zh": "第{n}部分", "en": "Section {n}"}


def render_sds_pdf(record: Mapping[str, Any], lang: Lang = "zh") -> bytes:
    """The record's SDS (the JSON shape `codesvc.records.record_as_json` gives) as A4 PDF."""
    buffer = io.BytesIO()
    title = f"{localized(record['product_name'], lang)} {UI['sds'][lang]}"
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        lang="zh-CN" if lang == "zh" else "en",
    )
    supplier = record["supplier"]
    story: list[Any] = [
        Paragraph(escape(title), _TITLE),
        Paragraph(
            escape(
                f"{UI['revision'][lang]} {record['revision']} · "
                f"{UI['approved_on'][lang]} {record['approved_on']} · "
                f"{localized(supplier['name'], lang)} · "
                f"{UI['emergency_phone'][lang]} {supplier['emergency_phone']}"
            ),
            _META,
        ),
    ]
    for section in record["sds"]:
        heading = _SECTION[lang].format(n=section["number"])
        story.append(Paragraph(escape(f"{heading} {localized(section['title'], lang)}"), _HEADING))
        body = escape(localized(section["body"], lang)).replace("\n", "<br/>")
        story += [Paragraph(body, _BODY), Spacer(1, 2 * mm)]
    document.build(story)
    return buffer.getvalue()
