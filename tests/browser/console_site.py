"""The console in a real Chromium: the whole product (resolver, registry, console, relay)
under uvicorn on the demo registry, and people at browsers of their own.

Every page a person opens is checked as a user would notice it — no console error, no
request leaving 127.0.0.1, every input labelled, text readable (WCAG AA contrast), nothing
wider than the screen — and photographed into artifacts/browser/console/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response

SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
DEMO_PASSWORD = "Demo-Safecode-2026"

# Each visible text's colour against the first opaque background behind it (WCAG 2.x
# relative luminance); SVG (the label preview, pictograms) is drawn to its own standard.
_LOW_CONTRAST = (Path(__file__).parent / "low_contrast.js").read_text()
_UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length)
    && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map((el) => el.outerHTML.slice(0, 120))"""
_OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@dataclass
class Person:
    """Someone at a browser of their own (cookies are theirs), with what the pages logged."""

    name: str
    context: BrowserContext
    page: Page
    base_url: str
    shots: Path
    screen: str
    console_errors: list[str] = field(default_factory=list)
    off_machine: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    photographed: list[str] = field(default_factory=list)

    def open(self, path: str) -> Response | None:
        return self.page.goto(self.base_url + path)

    def look(self, shot: str) -> None:
        """Check the page as it stands, and photograph it."""
        self.page.wait_for_load_state("load")
        where = self.page.url
        assert self.page.evaluate(_UNLABELLED) == [], f"unlabelled inputs on {where}"
        assert self.page.evaluate(_LOW_CONTRAST) == [], f"low contrast on {where}"
        overflow = self.page.evaluate(_OVERFLOW)
        assert overflow <= 0, f"{where} is {overflow}px wider than the {self.screen} screen"
        name = f"{len(self.photographed) + 1:02d}-{self.name}-{shot}-{self.screen}.png"
        self.page.screenshot(path=str(self.shots / name), full_page=True)
        self.photographed.append(name)

    def sign_in(self, mobile: str, password: str) -> None:
        self.open("/console/sign-in")
        self.page.get_by_label("手机号").fill(mobile)
        self.page.get_by_label(re.compile(r"^密码( \*)?$")).fill(password)
        self.page.get_by_role("button", name="登录").click()

    def assert_clean(self) -> None:
        assert self.console_errors == [], f"{self.name}'s console: {self.console_errors}"
        assert self.off_machine == [], f"{self.name}'s requests off the machine"
        assert self.server_errors == [], f"{self.name} met server errors"


@dataclass
class Stage:
    """The browser, the product's address and where screenshots go."""

    browser: Browser
    base_url: str
    shots: Path
    people: list[Person] = field(default_factory=list)

    def person(self, name: str, screen: str = "desktop") -> Person:
        context = self.browser.new_context(locale="zh-CN", **SCREENS[screen])  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        page = context.new_page()
        person = Person(name, context, page, self.base_url, self.shots, screen)

        def on_console(message: ConsoleMessage) -> None:
            # A form's 422 or a refused 403 page is the answer we mean; Chromium logs it as
            # a failed load of the document itself. A failed image or script is a bug.
            document_answer = message.location.get("url") == page.url and re.match(
                r"Failed to load resource: .* status of 4\d\d", message.text
            )
            if message.type == "error" and not document_answer:
                person.console_errors.append(f"{message.text} @ {page.url}")

        def on_request(request: Request) -> None:
            url = urlsplit(request.url)
            if url.scheme not in ("data", "blob", "about") and url.hostname != "127.0.0.1":
                person.off_machine.append(request.url)

        def on_response(response: Response) -> None:
            if response.status >= 500:
                person.server_errors.append(f"{response.status} {response.url}")

        page.on("console", on_console)
        context.on("request", on_request)
        context.on("response", on_response)
        self.people.append(person)
        return person

    def close(self) -> None:
        for person in self.people:
            person.context.close()


def number_in(text: str) -> int:
    found = re.search(r"\d+", text)
    assert found is not None, text
    return int(found.group())
