"""The resolver's Content-Security-Policy in a real Chromium: every public page, the files
people open directly (pictograms, a label's SVG) and the code entry form work under it with
no violation, each page styled by its own stylesheet; and an injected script is refused, so
a violation is seen when there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from codesvc.serials import new_serials
from tests.browser.conftest import Site
from tests.browser.test_scan_pages import STATES, VIEWS


def _view_of_the_active_code(view: str) -> Callable[[Site], str]:
    return lambda s: f"{s.base_url}/C/{s.active}?view={view}"


# Every state the scan pages' tests show (home, typed, suspended, revoked, unknown, not
# genuine, junk, unavailable), the other views, and what is opened directly:
# name -> (its URL, its status, whether it is an HTML page of the site).
ANSWERS: dict[str, tuple[Callable[[Site], str], int, bool]] = {
    **{state: (url, status, True) for state, (url, status, _) in STATES.items()},
    **{view: (_view_of_the_active_code(view), 200, True) for view in VIEWS},
    "batch not declared": (lambda s: f"{s.base_url}/C/{s.active}/B/LOT-7", 200, True),
    "item never issued": (
        lambda s: f"{s.base_url}/C/{s.active}/B/LOT-7/S/{new_serials(1)[0]}",
        404,
        True,
    ),
    "typed, unknown": (lambda s: f"{s.base_url}/lookup?id={s.unknown[:16]}", 404, True),
    "no such page": (lambda s: f"{s.base_url}/no/such/page", 404, True),
    "pictogram": (lambda s: f"{s.base_url}/static/ghs/GHS07.svg", 200, False),
    "label as SVG": (lambda s: f"{s.base_url}/documents/{s.active[:16]}/label.svg", 200, False),
    "icon": (lambda s: f"{s.base_url}/static/favicon.svg", 200, False),
}


@dataclass
class Watched:
    """A tab, with the Content-Security-Policy violations Chromium reported in it."""

    page: Page
    violations: list[str] = field(default_factory=list)

    def open(self, url: str) -> tuple[int, str]:
        """The status and Content-Security-Policy header of the page at `url`."""
        response = self.page.goto(url)
        assert response is not None, url
        self.page.wait_for_load_state("load")
        return response.status, response.headers.get("content-security-policy", "")


def _note_violation(watched: Watched, message: ConsoleMessage) -> None:
    if "Content Security Policy" in message.text:
        watched.violations.append(f"{message.text} ({message.location.get('url', '')})")


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    yield context
    context.close()


@pytest.fixture
def tab(context: BrowserContext) -> Watched:
    watched = Watched(context.new_page())
    watched.page.on("console", lambda message: _note_violation(watched, message))
    return watched


def _styled(page: Page) -> bool:
    """Whether the site's stylesheet applies (it sets the body's margin to 0 and colours
    the header), rather than the browser's defaults."""
    return bool(
        page.evaluate(
            """() => getComputedStyle(document.body).marginTop === '0px'
                     && getComputedStyle(document.querySelector('header.top'))
                            .backgroundColor === 'rgb(31, 41, 55)'"""
        )
    )


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_every_answer_works_under_its_policy(tab: Watched, site: Site, answer: str) -> None:
    url, expected, is_page = ANSWERS[answer]
    status, policy = tab.open(url(site))
    assert status == expected
    assert "default-src 'none'" in policy, "the answer carries no policy to be tested"
    assert tab.violations == []
    if is_page:
        assert _styled(tab.page), "the page's own stylesheet was not applied"


def test_the_pictograms_draw_in_their_colours(tab: Watched, site: Site) -> None:
    """Each pictogram as the label view shows it: a red diamond around white, not the black
    that an SVG whose colours were refused would draw."""
    tab.open(f"{site.base_url}/C/{site.active}?lang=en")
    shares = tab.page.locator(".pictograms img").evaluate_all(
        """images => images.map(image => {
            const canvas = document.createElement('canvas');
            canvas.width = canvas.height = 96;
            const drawing = canvas.getContext('2d');
            drawing.drawImage(image, 0, 0, 96, 96);
            const pixels = drawing.getImageData(0, 0, 96, 96).data;
            let red = 0, white = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                const [r, g, b, a] = pixels.slice(i, i + 4);
                if (a > 200 && r > 200 && g < 80 && b < 80) red++;
                if (a > 200 && r > 230 && g > 230 && b > 230) white++;
            }
            return {src: image.getAttribute('src'), red: red / 9216, white: white / 9216};
        })"""
    )
    assert tab.violations == []
    assert shares, "the label view shows no pictogram"
    for share in shares:
        assert share["red"] > 0.05, share
        assert share["white"] > 0.2, share


def test_the_code_entry_form_leads_to_the_page(tab: Watched, site: Site) -> None:
    tab.open(f"{site.base_url}/?lang=en")
    tab.page.fill("#code-id", site.active[:16])
    with tab.page.expect_navigation():
        tab.page.click("form.lookup button[type=submit]")
    assert tab.page.url.startswith(f"{site.base_url}/C/{site.active}?src=typed")
    assert tab.violations == []
    assert _styled(tab.page)


def test_an_injected_script_is_refused(tab: Watched, site: Site) -> None:
    """What an injected script would meet: it does not run, and the violation is seen (so
    "no violation" above means there was none)."""
    tab.open(f"{site.base_url}/C/{site.active}")
    ran = tab.page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'document.body.dataset.injected = "ran"';
            document.head.append(script);
            return document.body.dataset.injected === "ran";
        }"""
    )
    tab.page.wait_for_timeout(100)
    assert not ran
    assert tab.violations, "Chromium reported no violation for an injected script"
    assert _styled(tab.page)
