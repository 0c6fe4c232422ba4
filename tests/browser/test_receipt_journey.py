"""The receipt on a phone in a real Chromium: a receiving clerk of the demo's logistics
company scans the case the producer shipped, reads its transport view, follows "Record
receipt", signs in, lands back on the receipt page, taps the one button, and sees the case's
page with the receipt in its timeline.

The whole product (resolver, registry, console, relay) runs under uvicorn on the demo's
registry, products and lifecycle, recorded through the registry's own operations. Every
page is checked as a user would notice it (no console error, no request leaving
127.0.0.1, inputs labelled, contrast, nothing wider than the phone) and photographed into
artifacts/browser/receipt/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, expect

from safecode import apps
from safecode.demo import DEMO_PASSWORD, ensure_demo_registry
from safecode.demo_lifecycle import CARRIER_MOBILE, ensure_demo_lifecycle
from safecode.demo_products import ensure_demo_products
from safecode.embedded import ServiceUrls
from safecode.master_key import load_master_key
from safecode.settings import Settings, load_settings
from tests.browser.conftest import SCREENSHOTS, _run, database_of_its_own
from tests.browser.console_site import Stage
from tests.conftest import free_port, serving

CARRIER_NAME = "太原示范危货运输有限公司"
PACKAGES_PER_CASE = 12  # as the demo packs them


@dataclass(frozen=True)
class ReceiptSite:
    stage: Stage
    case_url: str  # the scan URL of the demo's case shipped and awaiting receipt


async def _demo(settings: Settings, urls: ServiceUrls, base_url: str) -> str:
    """The demo's registry, products and lifecycle; the awaiting case's scan URL."""
    master_key = load_master_key(settings)
    await ensure_demo_registry(urls.database_url, master_key=master_key)
    await ensure_demo_products(
        urls.database_url,
        master_key=master_key,
        public_base_url=base_url,
        province=settings.province,
    )
    found = await ensure_demo_lifecycle(urls.database_url, public_base_url=base_url)
    (awaiting,) = [url for what, url in found if "awaiting receipt" in what]
    return awaiting


@pytest.fixture(scope="module")
def receipt_site(
    browser: Browser,
    server_urls: ServiceUrls,
    template_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ReceiptSite]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        {
            "SAFECODE_DATA_DIR": str(tmp_path_factory.mktemp("receipt")),
            "PUBLIC_BASE_URL": base_url,
        }
    )
    shots = SCREENSHOTS / "receipt"
    shots.mkdir(parents=True, exist_ok=True)
    with database_of_its_own(server_urls, template_database) as urls:
        case_url = _run(_demo(settings, urls, base_url))
        with serving(apps.all_in_one_app(settings, urls), port):
            stage = Stage(browser, base_url, shots)
            yield ReceiptSite(stage, case_url)
            stage.close()


def test_a_clerk_receives_a_case_on_a_phone(receipt_site: ReceiptSite) -> None:
    clerk = receipt_site.stage.person("clerk", "phone")
    page = clerk.page
    serial = receipt_site.case_url.rsplit("/", 1)[1]

    # The case's label, scanned: the product's page, then its transport view.
    page.goto(receipt_site.case_url)
    expect(page.locator("h1")).to_have_text("丙酮")
    expect(page.locator(".context.item")).to_contain_text("已发货")
    clerk.look("scan")
    page.get_by_role("navigation", name="查看").get_by_role("link", name="运输").click()
    expect(page).to_have_url(re.compile(r"[?&]view=transport"))
    expect(page.locator("main")).to_contain_text("UN1090")
    clerk.look("transport")

    # Record receipt: not signed in yet, so the sign-in page, which comes back after.
    page.get_by_role("link", name=re.compile("收货登记")).click()
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    clerk.look("sign-in")
    page.get_by_label("手机号").fill(CARRIER_MOBILE)
    page.get_by_label(re.compile(r"^密码( \*)?$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(rf"/console/receive/{serial}(\?done=signed_in)?$"))

    # The transport view of what arrived, and one form: intact preselected.
    expect(page.locator("#un-number")).to_have_text("UN1090")
    expect(page.locator("#item-state")).to_contain_text("已发货")
    expect(page.locator("#contents")).to_contain_text(f"共 {PACKAGES_PER_CASE} 件")
    expect(page.get_by_label("完好")).to_be_checked()
    clerk.look("receive")

    page.get_by_role("button", name="确认收货").click()
    expect(page).to_have_url(re.compile(rf"/console/items/{serial}\?receipt=recorded$"))
    expect(page.locator("#receipt-notice")).to_contain_text("已登记收货")
    expect(page.locator("#item-state")).to_have_text("已收货")
    receipt = page.locator("#timeline li.event.receiving").last
    expect(receipt).to_contain_text(CARRIER_NAME)
    expect(receipt).to_contain_text("完好")
    expect(receipt).to_contain_text("+08:00")
    clerk.look("received")
    clerk.assert_clean()
