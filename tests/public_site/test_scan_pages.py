"""The public pages as a reader meets them: what each view and state shows, in both
languages, as well-formed HTML with nothing from elsewhere, within the weight budget."""

from __future__ import annotations

import copy
import gzip
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from codesvc.app import KEYS_PATH
from ghs.derivation import derive_label, label_elements, parse_classifications
from ghs.reference import reference
from public_site.pages import KEYS_URL, LANGS, STATIC_DIR, Lang, render_error_page, render_home_page
from public_site.scan_pages import (
    SCAN_CONTEXT_MARKER,
    VIEWS,
    render_not_genuine_page,
    render_revoked_page,
    render_scan_context,
    render_scan_page,
    transport_class_names,
)
from safecode.demo import sample_record

# A scan page (HTML and its CSS, gzipped; pictograms aside) must fit in the first round
# trip of a new connection: TCP's initial window of 10 segments is ~14.6 KB, less headers.
SCAN_PAGE_BUDGET_BYTES = 14 * 1024
CODE_ID = "14AB-CDEF-GHJK-MNPQ"
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


class _Page(HTMLParser):
    """The elements of a page, checked to be balanced as they are read."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, tuple(self.open)))
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, tuple(self.open)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style":
            self.styles.append(data)
        else:
            self.text.append(data)

    def find(self, tag: str, **wanted: str) -> list[dict[str, str]]:
        """Elements with these attribute values (`class_` matches one of the classes)."""
        found = []
        for name, attrs, _ in self.elements:
            if name != tag:
                continue
            classes = attrs.get("class", "").split()
            if "class_" in wanted and wanted["class_"] not in classes:
                continue
            if all(attrs.get(k) == v for k, v in wanted.items() if k != "class_"):
                found.append(attrs)
        return found


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    assert not page.errors, page.errors
    assert not page.open, f"unclosed: {page.open}"
    ids = [attrs["id"] for _, attrs, _ in page.elements if "id" in attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return page


def scan_page(
    view: str = "label",
    lang: Lang = "zh",
    record: dict[str, Any] | None = None,
    suspended: str | None = None,
) -> str:
    return render_scan_page(
        record or sample_record(), view=view, lang=lang, code_id=CODE_ID, suspended_reason=suspended
    )


def every_page() -> list[tuple[str, str]]:
    pages = []
    for lang in LANGS:
        pages += [(f"{view} {lang}", scan_page(view, lang)) for view in VIEWS]
        pages += [
            (f"suspended {lang}", scan_page("label", lang, suspended="核查中")),
            (
                f"revoked {lang}",
                render_revoked_page(
                    lang=lang,
                    code_id=CODE_ID,
                    product_name={"zh": "丙酮"},
                    revoked_on="2026-12-01",
                    reason="企业已注销",
                ),
            ),
            (f"not genuine {lang}", render_not_genuine_page(lang)),
            (f"home {lang}", render_home_page(lang, api_url="/api/v1")),
            *[(f"{status} {lang}", render_error_page(status, lang)) for status in (400, 404, 503)],
        ]
    return pages


def _weight(html: str) -> int:
    """gzip(HTML) + gzip(each stylesheet it links from /static/): what a first visit fetches
    before it can paint, pictograms aside."""
    total = len(gzip.compress(html.encode(), compresslevel=6))
    for attrs in parse(html).find("link", rel="stylesheet"):
        path = STATIC_DIR / attrs["href"].removeprefix("/static/")
        total += len(gzip.compress(path.read_bytes(), compresslevel=6))
    return total


def _heaviest_label() -> dict[str, Any]:
    """A mixture in the first category of nearly every health and environmental hazard:
    the GHS rules give it five pictograms, 13 hazard and 42 precautionary statements."""
    classes = [
        "flammable_liquids", "corrosive_to_metals", "acute_toxicity_oral",
        "acute_toxicity_dermal", "acute_toxicity_inhalation", "skin_corrosion_irritation",
        "serious_eye_damage_irritation", "respiratory_sensitization", "skin_sensitization",
        "germ_cell_mutagenicity", "carcinogenicity", "reproductive_toxicity",
        "stot_single_exposure", "stot_repeated_exposure", "aspiration_hazard",
        "aquatic_acute", "aquatic_chronic",
    ]  # fmt: skip
    tables = reference()
    classification = [{"class": c, "category": tables.categories_of(c)[0]} for c in classes]
    record = sample_record()
    record["label"] = label_elements(derive_label(parse_classifications(classification)))
    record["label"]["components"] = [
        {
            "name": {"zh": f"组分{n}", "en": f"Component {n}"},
            "cas": "67-64-1",
            "concentration": "5%",
        }
        for n in range(6)
    ]
    return record


@pytest.mark.parametrize("view", ["label", "sds"])
@pytest.mark.parametrize("lang", LANGS)
def test_a_scan_page_fits_the_weight_budget(view: str, lang: Lang) -> None:
    html = scan_page(view, lang)
    assert _weight(html) <= SCAN_PAGE_BUDGET_BYTES


def test_even_the_heaviest_label_view_fits_the_weight_budget() -> None:
    for lang in LANGS:
        assert _weight(scan_page("label", lang, _heaviest_label())) <= SCAN_PAGE_BUDGET_BYTES


@pytest.mark.parametrize(("name", "html"), every_page())
def test_every_page_is_well_formed_bilingual_and_self_contained(name: str, html: str) -> None:
    page = parse(html)
    lang = page.find("html")[0]["lang"]
    assert lang in ("zh-CN", "en")
    # The switch offers the other language; no script, nothing fetched from elsewhere.
    (switch,) = page.find("a", class_="lang")
    assert switch["hreflang"] == ("en" if lang == "zh-CN" else "zh")
    assert not page.find("script")
    for _, attrs, _ in page.elements:
        for attribute in ("src", "href", "action"):
            target = attrs.get(attribute, "")
            assert not re.match(r"(?i)([a-z][a-z0-9+.-]*:)?//", target), (name, target)
            assert not target.lower().startswith(("http:", "https:", "data:", "javascript:"))
    assert page.styles, "the stylesheet is inline"
    assert "@media print" in "".join(page.styles)


def test_the_label_view_puts_the_danger_and_the_phone_first() -> None:
    html = scan_page("label", "zh")
    page = parse(html)
    assert html.count(SCAN_CONTEXT_MARKER.decode()) == 1
    assert '<p class="signal danger">危险</p>' in html
    pictograms = page.find("img")
    assert [p["src"] for p in pictograms] == ["/static/ghs/GHS02.svg", "/static/ghs/GHS07.svg"]
    assert all(int(p["width"]) >= 96 and int(p["height"]) >= 96 for p in pictograms)
    assert pictograms[0]["alt"] == "GHS02 易燃"
    assert len(page.find("a", href="tel:0351-7654321")) == 1
    # In reading order: signal word, pictograms and the phone before any statement.
    for first, then in [('class="signal', "/static/ghs/"), ("/static/ghs/", "tel:0351-7654321")]:
        assert html.index(first) < html.index(then) < html.index("H225")
    assert "24小时应急电话" in html
    assert "版本 1.0" in html
    assert "2026-11-20" in html
    assert "太原示范化工有限公司" in html


def test_the_label_view_keeps_precautions_short_response_first() -> None:
    html = scan_page("label", "en")
    label = sample_record()["label"]["precautionary_statements"]
    shown, folded = html.split("<details>")
    folded = folded.split("</details>")[0]
    # Every response statement is shown, before the (at most three) prevention ones.
    for statement in label["response"]:
        assert statement["code"] in shown
    assert shown.index(label["response"][-1]["code"]) < shown.index("Prevention (key points)")
    prevention = [s["code"] for s in label["prevention"]]
    assert [code for code in prevention if f"<b>{code}</b>" in shown] == prevention[:3]
    # The rest is folded away, nothing lost.
    rest = prevention[3:] + [s["code"] for g in ("storage", "disposal") for s in label.get(g, [])]
    assert all(f"<b>{code}</b>" in folded for code in rest)
    assert f"({len(rest)})" in folded
    # First aid by route, in the order of the routes; the full views are a tap away.
    assert html.index("Inhalation") < html.index("Eye contact")
    page = parse(html)
    hrefs = {a["href"] for a in page.find("a")}
    assert {"?view=sds&lang=en", "?view=emergency&lang=en"} <= hrefs


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("lang", LANGS)
def test_the_views_nav_marks_the_current_view_and_the_switch_keeps_it(
    view: str, lang: Lang
) -> None:
    page = parse(scan_page(view, lang))
    nav = [attrs for tag, attrs, parents in page.elements if tag == "a" and "nav" in parents]
    tabs = [a for a in nav if a["href"].startswith("?view=") and "hreflang" not in a]
    assert [a["href"] for a in tabs] == [f"?view={v}&lang={lang}" for v in VIEWS]
    assert [a.get("aria-current") for a in tabs] == ["page" if v == view else None for v in VIEWS]
    other = "en" if lang == "zh" else "zh"
    assert page.find("a", class_="lang")[0]["href"] == f"?view={view}&lang={other}"
    # The emergency phone is on every view.
    assert page.find("a", href="tel:0351-7654321")


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("lang", LANGS)
def test_the_footer_links_staff_to_the_console_page_of_the_code(view: str, lang: Lang) -> None:
    page = parse(scan_page(view, lang))
    footer = [attrs for tag, attrs, parents in page.elements if tag == "a" and "footer" in parents]
    (link,) = [a for a in footer if a["href"].startswith("/console/")]
    assert link["href"] == f"/console/codes/{CODE_ID}"
    text = {"zh": "企业或监管人员：在控制台查看此码", "en": "Staff: open this code in the console"}
    assert text[lang] in "".join(page.text)
    # Left off paper, as the other links are.
    css = "".join(page.styles)
    hidden = re.search(r"([^{}]*)\{display:none\}", css[css.index("@media print") :])
    assert hidden is not None
    assert ".staff" in hidden.group(1).split(",")


def test_the_sds_view_has_sixteen_linkable_collapsible_sections() -> None:
    html = scan_page("sds", "en")
    page = parse(html)
    sections = page.find("details")
    assert [s["id"] for s in sections] == [f"section-{n}" for n in range(1, 17)]
    assert all("open" in s for s in sections)  # open for reading, find-in-page and print
    links = {a["href"] for a in page.find("a")}
    assert {f"#section-{n}" for n in range(1, 17)} <= links
    assert "4. First-aid measures" in html
    assert "Section 16 text." in html
    css = "".join(page.styles)
    print_css = css[css.index("@media print") :]
    assert "details::details-content" in print_css  # opens sections the reader closed
    assert ".views" in print_css


def test_the_transport_view_has_what_logistics_checks_on_receipt() -> None:
    record = sample_record()
    record["transport"]["transport_class"] = "3 (6.1)"
    html = scan_page("transport", "zh", record)
    for text in ["UN1090", "丙酮", "3 (6.1) · 易燃液体 / 毒性物质", "II", "熄灭火源，隔离泄漏区。"]:
        assert text in html
    assert "车辆与货物应急措施" in html


def test_the_emergency_view_by_route_fire_spill_ppe() -> None:
    html = scan_page("emergency", "en")
    for text in [
        "Inhalation",
        "Move to fresh air.",
        "Eye contact",
        "Alcohol-resistant foam",
        "切断火源",  # no English: the Chinese is shown
        "Wear chemical safety goggles.",
        'href="tel:119"',
        'href="tel:120"',
    ]:
        assert text in html
    assert "Skin contact" not in html  # routes without advice are left out


@pytest.mark.parametrize(
    ("value", "lang", "names"),
    [
        ("3", "en", "Flammable liquids"),
        ("3 (6.1)", "zh", "易燃液体 / 毒性物质"),
        ("1.1D", "en", "Explosives"),
        ("2.3", "en", "Toxic gases"),
        ("10", "en", ""),
        (None, "en", ""),
    ],
)
def test_transport_class_names(value: str | None, lang: Lang, names: str) -> None:
    assert transport_class_names(value, lang) == names


def test_a_suspended_code_shows_its_warning_above_the_page() -> None:
    html = scan_page("label", "en", suspended="<b>under review</b>")
    banner = html.index('class="banner suspended"')
    assert banner < html.index("<h1>") < html.index('class="signal')
    assert "&lt;b&gt;under review&lt;/b&gt;" in html
    assert 'role="alert"' in html


def test_the_revoked_page_says_what_when_why_and_what_to_do() -> None:
    html = render_revoked_page(
        lang="en",
        code_id=CODE_ID,
        product_name={"zh": "丙酮", "en": "Acetone"},
        revoked_on="2026-12-01",
        reason="<i>enterprise deregistered</i>",
    )
    parse(html)
    for text in ["This code has been revoked", "Acetone", "2026-12-01", "What to do", CODE_ID]:
        assert text in html
    assert "&lt;i&gt;enterprise deregistered&lt;/i&gt;" in html
    assert 'href="tel:119"' in html
    assert "H225" not in html


def test_the_not_genuine_page_says_how_to_report_it() -> None:
    headings: dict[Lang, str] = {"zh": "如何举报", "en": "How to report it"}
    for lang, heading in headings.items():
        html = render_not_genuine_page(lang)
        assert heading in html
        assert 'href="tel:12350"' in html


def test_error_pages_help_the_reader_on() -> None:
    unavailable = parse(render_error_page(503, "zh"))
    assert {"tel:119", "tel:120"} <= {a["href"] for a in unavailable.find("a")}
    not_found = parse(render_error_page(404, "en"))
    assert len(not_found.find("form", action="/lookup", method="get")) == 1
    assert not_found.find("input", name="id")


def test_the_home_page_takes_a_typed_code_and_explains_verification() -> None:
    html = render_home_page("en", api_url="/api/v1", scan_url_prefix="https://sc.example.cn/C/")
    page = parse(html)
    (form,) = page.find("form", class_="lookup")
    assert (form["action"], form["method"]) == ("/lookup", "get")
    (code,) = page.find("input", name="id")
    assert code["id"] == page.find("label")[0]["for"]
    assert page.find("input", type="hidden", name="lang", value="en")
    assert "16-character code" in html
    assert "How to verify a code" in html
    assert "looked up, but not verified" in html
    assert "https://sc.example.cn/C/" in html
    assert KEYS_URL == KEYS_PATH
    assert page.find("a", href=KEYS_PATH)


def test_record_text_is_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>"
    record = sample_record()

    def poison(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: poison(v) for k, v in value.items()}
        if isinstance(value, list):
            return [poison(v) for v in value]
        return evil if isinstance(value, str) and not value.startswith(("GHS", "danger")) else value

    hostile = poison(copy.deepcopy(record))
    hostile["label"]["pictograms"] = ['GHS02" onerror="x']
    hostile["label"]["components"] = [{"name": {"zh": evil}, "cas": evil, "concentration": evil}]
    for lang in LANGS:
        for view in VIEWS:
            html = render_scan_page(
                hostile, view=view, lang=lang, code_id=CODE_ID, suspended_reason=evil
            )
            page = parse(html)
            assert "<script>" not in html
            assert not page.find("script")
            assert not [a for _, a, _ in page.elements if "onerror" in a]


def test_the_context_line_is_escaped_and_says_how_the_page_was_reached() -> None:
    scanned = render_scan_context("en", typed=False, batch="<b>", serial="7").decode()
    assert scanned == (
        '<p class="context scanned">'
        "Verified: scanned, signature genuine · Batch: &lt;b&gt; · Item: 7</p>"
    )
    assert "not verified" in render_scan_context("en", typed=True, batch=None, serial=None).decode()


# WCAG 2.x contrast: AA asks 4.5:1 for text, 3:1 for large text and control borders.
def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rules(css: str) -> dict[str, dict[str, str]]:
    """Selector -> declarations, for the top-level rules (enough for our own stylesheet)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = css[: css.index("@media print")]
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = dict(
            (name.strip(), value.strip())
            for name, _, value in (d.partition(":") for d in body.split(";") if ":" in d)
        )
        for selector in selectors.split(","):
            rules.setdefault(selector.strip(), {}).update(declarations)
    return rules


def test_colours_meet_wcag_aa_and_targets_are_44px() -> None:
    rules = _rules("".join(parse(scan_page()).styles))
    white = "#ffffff"

    def colour(selector: str, prop: str = "color") -> str:
        value = rules[selector][prop]
        return "#" + "".join(2 * c for c in value[1:]) if len(value) == 4 else value

    pairs = [
        (colour("body"), colour("body", "background")),
        (colour("a"), white),
        (colour(".signal.danger"), white),
        (colour(".signal.warning"), white),
        (colour(".phone a"), colour(".phone a", "background")),
        (colour(".context.scanned"), colour(".context.scanned", "background")),
        (colour(".context.typed"), colour(".context.typed", "background")),
        (
            colour(".views a[aria-current=page]"),
            colour(".views a[aria-current=page]", "background"),
        ),
        (colour(".top a"), colour(".top", "background")),
        (colour(".muted"), white),
        (colour(".facts dt"), white),
        (colour("body"), "#fef3c7"),  # suspended banner
        (colour("body"), "#fee2e2"),  # revoked / not genuine banner
    ]
    for foreground, background in pairs:
        assert _contrast(foreground, background) >= 4.5, (foreground, background)
    assert "#b91c1c" in rules[".signal.danger"]["color"]
    for selector in ("a", "summary"):
        assert rules[selector]["min-height"] == "44px"
    assert rules["a"]["min-width"] == "44px"
    assert int(rules[".pictograms img"]["width"].removesuffix("px")) >= 96
