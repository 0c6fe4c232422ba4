"""The SDS as a PDF: every section there, Chinese as real text a reader can search."""

from __future__ import annotations

from codesvc.records import SDS_TITLES, parse_record, record_as_json
from public_site.sds_pdf import render_sds_pdf
from safecode.demo import sample_record
from tests.conftest import pdf_text


def _record() -> dict[str, object]:
    data = sample_record(revision="2.1")
    sections = data["sds"]
    sections[6]["body"] = {
        "zh": "远离火种 <热源> & 氧化剂。\n密闭保存。",
        "en": "Keep <away> & closed.",
    }
    sections[15]["body"] = "仅有中文的说明。"  # no English given
    return record_as_json(parse_record(data))


def test_the_chinese_sds_has_all_sixteen_sections_as_text() -> None:
    text = pdf_text(render_sds_pdf(_record(), "zh"))
    assert "丙酮 安全技术说明书" in text
    assert "版本 2.1" in text
    assert "2026-11-20" in text
    assert "0351-7654321" in text
    for number, (title, _) in enumerate(SDS_TITLES, start=1):
        assert f"第{number}部分 {title}" in text
    assert "远离火种 <热源> & 氧化剂。" in text  # escaped on the way in, plain text out
    assert "密闭保存。" in text


def test_the_english_sds_falls_back_to_chinese_where_no_english_exists() -> None:
    record = _record()
    text = pdf_text(render_sds_pdf(record, "en"))
    assert "Acetone Safety data sheet" in text
    assert "Section 16 Other information" in text
    assert "Keep <away> & closed." in text
    assert "仅有中文的说明。" in text
