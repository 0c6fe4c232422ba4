from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from public_site.pages import negotiate_lang, render_error_page


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        (None, None, "zh"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "fr-FR, en;q=0.5, zh;q=0.8", "zh"),
        (None, "fr, de", "zh"),
        (None, "zh-CN;q=0, en;q=0.1", "en"),
        (None, "en;q=abc, zh;q=0.2", "zh"),
        ("en", "zh-CN", "en"),
        ("xx", "en", "en"),
    ],
)
def test_the_page_language_follows_the_query_then_the_browser(
    query: str | None, accept: str | None, expected: str
) -> None:
    assert negotiate_lang(query, accept) == expected


@given(st.one_of(st.none(), st.text(max_size=20)), st.one_of(st.none(), st.text(max_size=300)))
def test_any_header_gives_a_language_we_have(query: str | None, accept: str | None) -> None:
    assert negotiate_lang(query, accept) in ("zh", "en")


def test_error_pages_escape_what_they_show() -> None:
    page = render_error_page(404, "en", detail="<script>alert(1)</script>")
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "Page not found" in page
