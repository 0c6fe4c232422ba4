"""A batch's journey in a real Chromium: the demo producer signs in, opens its product,
declares a batch, issues 10 serials for it and recalls it; the batch's public scan page,
reached from the console's link, shows the red recall banner above the data.

The whole product (resolver, registry, console, relay) runs under uvicorn on the demo's
registry and products. Every page is checked as a user would notice it (no console error,
no request leaving 127.0.0.1, inputs labelled, contrast, width) and photographed into
artifacts/browser/batch/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from safecode import apps
from safecode.demo import DEMO_PASSWORD, ensure_demo_registry
from safecode.demo_lifecycle import PRODUCER_MOBILE
from safecode.demo_products import ensure_demo_products
from safecode.embedded import ServiceUrls
from safecode.master_key import load_master_key
from safecode.settings import Settings, load_settings
from tests.browser.conftest import SCREENSHOTS, _run, database_of_its_own
from tests.browser.console_site import Stage
from tests.conftest import free_port, serving

RED = "rgb(185, 28, 28)"  # the banner's border: site.css's .forged, the colour of danger


async def _demo(settings: Settings, urls: ServiceUrls, base_url: str) -> None:
    master_key = load_master_key(settings)
    await ensure_demo_registry(urls.database_url, master_key=master_key)
    await ensure_demo_products(
        urls.database_url, master_key=master_key, public_base_url=base_url,
        province=settings.province,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stage(
    browser: Browser,
    server_urls: ServiceUrls,
    template_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stage]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        {"SAFECODE_DATA_DIR": str(tmp_path_factory.mktemp("batch")), "PUBLIC_BASE_URL": base_url}
    )
    shots = SCREENSHOTS / "batch"
    shots.mkdir(parents=True, exist_ok=True)
    with database_of_its_own(server_urls, template_database) as urls:
        _run(_demo(settings, urls, base_url))
        with serving(apps.all_in_one_app(settings, urls), port):
            stage = Stage(browser, base_url, shots)
            yield stage
            stage.close()


def _label(text: str) -> re.Pattern[str]:
    """A required input's label, its star or not."""
    return re.compile(rf"^{re.escape(text)}( \*)?$")


def test_a_producer_declares_issues_and_recalls_a_batch(stage: Stage) -> None:
    owner = stage.person("owner")
    page = owner.page
    owner.sign_in(PRODUCER_MOBILE, DEMO_PASSWORD)
    owner.open("/console/products")
    page.get_by_role("link", name="丙酮", exact=True).click()
    page.get_by_role("link", name="申报批次").click()
    expect(page.locator("h1")).to_have_text("申报批次")
    owner.look("declare")

    produced = date.today() - timedelta(days=3)
    page.get_by_label(_label("批号")).fill("LOT-BROWSER-1")
    page.get_by_label(_label("生产日期")).fill(produced.isoformat())
    page.get_by_label(_label("有效期至 / 复验期至")).fill(
        (produced + timedelta(days=730)).isoformat()
    )
    page.get_by_label(_label("数量")).fill("400")
    page.get_by_label(_label("单位")).select_option("L")
    page.get_by_label(_label("包装类型")).select_option("drum")
    page.get_by_label(_label("每件容量")).fill("200")
    page.get_by_label(_label("容量单位")).select_option("L")
    page.get_by_role("button", name="申报", exact=True).click()
    expect(page).to_have_url(re.compile(r"/console/batches/\d+\?changed=declared$"))
    expect(page.locator("#facts")).to_contain_text("每桶 200 L")

    page.get_by_label(_label("数量")).fill("10")
    page.get_by_role("button", name="生成", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?changed=issued$"))
    expect(page.locator("tr.issue")).to_contain_text("10")
    expect(page.get_by_role("link", name="序列号 CSV（包装线用）")).to_be_visible()
    owner.look("issued")

    page.get_by_label(_label("召回原因")).fill("杂质超标")
    page.get_by_label(_label("给持有者的处置要求")).fill("停止使用，联系供应商退回。")
    page.get_by_role("button", name="召回此批次").click()
    expect(page).to_have_url(re.compile(r"\?changed=recalled$"))
    expect(page.locator("#recall-banner")).to_contain_text("杂质超标")
    owner.look("recalled")

    page.locator("#scan-link").click()
    banner = page.locator(".banner.recall")
    for _ in range(10):  # the relay carries the recall to the scans within a second
        if banner.count():
            break
        page.wait_for_timeout(300)
        page.reload()
    expect(banner).to_contain_text("此批次已被召回")
    expect(banner).to_contain_text("停止使用，联系供应商退回。")
    assert banner.evaluate("e => getComputedStyle(e).borderTopColor") == RED
    # Above the data: the banner comes before the product's hazard data on the page.
    assert banner.evaluate(
        "e => !!(e.compareDocumentPosition(document.querySelector('.views')) & 4)"
    )
    owner.look("scan")
    owner.assert_clean()
