"""Every scan view and state in a real Chromium, as a phone and as a desktop show them.

Each page must load with no console error and no request leaving 127.0.0.1; the label
view must show the signal word, a pictogram and the emergency phone without scrolling.
Screenshots of every page land in artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    FloatRect,
    Locator,
    Page,
    ViewportSize,
)

from tests.browser.conftest import Site

VIEWS = ("label", "sds", "transport", "emergency")
LANGS = ("zh", "en")
SDS_SECTIONS = 16
MIN_TAP_TARGET_PX = 44  # WCAG 2.5.5: a gloved thumb needs this much
SCREENS: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


@dataclass
class Visit:
    """A page opened in a fresh tab, with what it logged and requested on the way."""

    page: Page
    status: int | None
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self, status: int) -> None:
        assert self.status == status, f"{self.page.url} answered {self.status}, not {status}"
        assert self.console_errors == [], f"console errors on {self.page.url}"
        leaving = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob")
            and urlsplit(url).hostname != "127.0.0.1"
        ]
        assert leaving == [], f"requests leaving 127.0.0.1 from {self.page.url}"


@dataclass
class Screen:
    """A browser context of one size; every `open` is a new tab in it."""

    name: str
    context: BrowserContext
    screenshots: Path

    def open(self, url: str) -> Visit:
        page = self.context.new_page()
        visit = Visit(page, None)
        page.on("console", lambda message: _note_console_error(visit, message))
        page.on("pageerror", lambda error: visit.console_errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: visit.requests.append(request.url))
        response = page.goto(url)
        visit.status = None if response is None else response.status
        return visit

    def screenshot(self, visit: Visit, name: str) -> None:
        # CSS pixels: half the phone's device pixels, and twice as quick to write.
        visit.page.screenshot(
            path=self.screenshots / f"{name}-{self.name}.png", full_page=True, scale="css"
        )


def _note_console_error(visit: Visit, message: ConsoleMessage) -> None:
    if message.type != "error":
        return
    url = message.location.get("url", "")
    failed_load = message.text.startswith("Failed to load resource: the server responded with")
    # Chromium logs the document's own non-2xx status as an error; the tests check that
    # status themselves (a 404 page is meant to be a 404).
    if failed_load and url == visit.page.url:
        return
    visit.console_errors.append(f"{message.text} ({url})")


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Browser, screenshots: Path) -> Iterator[Screen]:
    context = browser.new_context(**SCREENS[request.param])
    yield Screen(request.param, context, screenshots)
    context.close()


def _label_url(site: Site, lang: str) -> str:
    return f"{site.base_url}/C/{site.active}?view=label&lang={lang}"


def _view_linked(page: Page, href: str) -> str:
    """The view a link of the views nav leads to (no `view`: the default, the label)."""
    return parse_qs(urlsplit(urljoin(page.url, href)).query).get("view", ["label"])[0]


def _box_on_screen(page: Page, target: Locator) -> tuple[FloatRect, ViewportSize]:
    """Where `target` is, in CSS pixels from the top left of the screen, and the screen."""
    box = target.bounding_box()
    assert box is not None, f"{target} is not rendered"
    assert page.viewport_size is not None
    return box, page.viewport_size


def _assert_above_the_fold(page: Page, selector: str, what: str) -> None:
    target = page.locator(selector).first
    assert target.is_visible(), f"{what} ({selector}) is not visible"
    box, viewport = _box_on_screen(page, target)
    assert 0 <= box["y"] <= viewport["height"] - box["height"], (
        f"{what} ({selector}) spans y={box['y']:.0f}..{box['y'] + box['height']:.0f} px, "
        f"below the fold of a {viewport['width']}x{viewport['height']} screen"
    )


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("view", VIEWS)
def test_every_view_loads_cleanly_from_this_server_alone(
    screen: Screen, site: Site, view: str, lang: str
) -> None:
    visit = screen.open(f"{site.base_url}/C/{site.active}?view={view}&lang={lang}")
    screen.screenshot(visit, f"view-{view}-{lang}")
    visit.assert_clean(200)
    page = visit.page
    assert (page.locator("html").get_attribute("lang") or "").startswith(lang)
    current = page.locator('[aria-current="page"]')
    assert current.count() == 1, "the views nav marks exactly one view as the current one"
    assert _view_linked(page, current.get_attribute("href") or "") == view
    if view == "sds":
        missing = [
            n for n in range(1, SDS_SECTIONS + 1) if page.locator(f"#section-{n}").count() != 1
        ]
        assert missing == [], "SDS sections without their #section-N anchor"


@pytest.mark.parametrize("lang", LANGS)
def test_the_label_view_shows_the_danger_and_the_phone_without_scrolling(
    screen: Screen, site: Site, lang: str
) -> None:
    visit = screen.open(_label_url(site, lang))
    visit.assert_clean(200)
    page = visit.page
    assert page.evaluate("window.scrollY") == 0
    _assert_above_the_fold(page, ".signal", "the signal word")
    assert page.locator(".signal.danger, .signal.warning").count() == 1
    _assert_above_the_fold(page, ".pictograms img", "the first pictogram")
    broken = page.locator(".pictograms img").evaluate_all(
        "images => images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == [], "pictograms that did not load"
    _assert_above_the_fold(page, '.phone a[href^="tel:"]', "the emergency phone link")


@pytest.mark.parametrize("lang", LANGS)
def test_every_link_and_button_on_the_label_view_is_a_tap_target(
    screen: Screen, site: Site, lang: str
) -> None:
    visit = screen.open(_label_url(site, lang))
    visit.assert_clean(200)
    small = []
    for target in visit.page.locator("a, button").all():
        box = target.bounding_box()
        if target.is_visible() and box is not None and box["height"] < MIN_TAP_TARGET_PX:
            small.append(f"{target.inner_text().strip()!r}: {box['height']:.0f} px")
    assert not small, f"under {MIN_TAP_TARGET_PX} px tall: {'; '.join(small)}"


def test_the_pages_name_an_icon_the_server_has(screen: Screen, site: Site) -> None:
    visit = screen.open(_label_url(site, "zh"))
    icon: str = visit.page.evaluate(
        """() => document.querySelector('link[rel~="icon"]')?.href
                 ?? new URL('/favicon.ico', location.href).href"""
    )
    if not icon.startswith("data:"):
        response = visit.page.request.get(icon)
        assert response.status == 200, f"the browser asks for {icon}: {response.status}"


@pytest.mark.parametrize(("lang", "other"), [("zh", "en"), ("en", "zh")])
def test_the_language_switch_keeps_the_sds_view(
    screen: Screen, site: Site, lang: str, other: str
) -> None:
    visit = screen.open(f"{site.base_url}/C/{site.active}?view=sds&lang={lang}")
    page = visit.page
    switch = page.locator(f'a[hreflang="{other}"]').or_(
        page.get_by_role("link", name=LANGUAGE_NAMES[other], exact=True)
    )
    with page.expect_response(lambda r: r.request.is_navigation_request()) as switched:
        switch.first.click()
    page.wait_for_load_state()
    assert switched.value.status == 200
    visit.assert_clean(200)
    landed = urlsplit(page.url)
    assert landed.path == f"/C/{site.active}"
    assert parse_qs(landed.query).get("view") == ["sds"]
    assert (page.locator("html").get_attribute("lang") or "").startswith(other)
    current = page.locator('[aria-current="page"]').get_attribute("href") or ""
    assert _view_linked(page, current) == "sds"
    assert page.locator("#section-1").count() == 1


@pytest.mark.parametrize("lang", LANGS)
def test_an_sds_section_opens_at_its_link(screen: Screen, site: Site, lang: str) -> None:
    visit = screen.open(f"{site.base_url}/C/{site.active}?view=sds&lang={lang}#section-4")
    visit.assert_clean(200)
    page = visit.page
    section = page.locator("#section-4")
    assert section.is_visible()
    box, viewport = _box_on_screen(page, section)
    # At the top of the screen, give or take a sub-pixel of scrolling.
    assert -1 <= box["y"] < viewport["height"] / 2, f"#section-4 is at y={box['y']:.0f} px"


# state -> (the page's URL without `lang`, its status, whether it shows the product's label)
STATES: dict[str, tuple[Callable[[Site], str], int, bool]] = {
    "home": (lambda s: f"{s.base_url}/", 200, False),
    "typed": (lambda s: f"{s.base_url}/lookup?id={s.active[:16]}", 200, True),
    "suspended": (lambda s: f"{s.base_url}/C/{s.suspended}", 200, True),
    "revoked": (lambda s: f"{s.base_url}/C/{s.revoked}", 410, False),
    "unknown": (lambda s: f"{s.base_url}/C/{s.unknown}", 404, False),
    "not-genuine": (lambda s: f"{s.base_url}/C/{s.forged}", 404, False),
    "junk": (lambda s: f"{s.base_url}/C/NOT-A-CODE", 400, False),
    "unavailable": (lambda s: f"{s.unavailable_url}/C/{s.active}", 503, False),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", list(STATES))
def test_every_state_loads_cleanly_from_this_server_alone(
    screen: Screen, site: Site, state: str, lang: str
) -> None:
    url, status, shows_label = STATES[state]
    base = url(site)
    visit = screen.open(f"{base}{'&' if '?' in base else '?'}lang={lang}")
    screen.screenshot(visit, f"state-{state}-{lang}")
    visit.assert_clean(status)
    page = visit.page
    assert (page.locator("html").get_attribute("lang") or "").startswith(lang)
    signal = page.locator(".signal")
    if shows_label:
        assert signal.is_visible(), "a suspended or typed code shows its label"
    else:
        assert signal.count() == 0, "no error page shows a product's label"
