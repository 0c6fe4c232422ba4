"""The console's whole journey in a real Chromium, as its users live it: an enterprise
applies; the county admin approves it; the owner signs in, changes the one-time password,
adds a product, classifies it, sees the derived label, fills in the SDS and files it; the
county reviewer cannot decide it; the province and then the national admin approve; the
QR code downloaded from the console decodes to the scan page of the product. Then a
rejection and its resubmission, two reviewers deciding at once, and a forged POST.

Every page is checked (console errors, requests off the machine, labels, contrast, width)
and photographed into artifacts/browser/console/, at 1280×800 and, for the owner's and the
public pages, at 390×844.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from safecode import apps
from safecode.demo import ensure_demo_registry
from safecode.embedded import ServiceUrls
from safecode.master_key import load_master_key
from safecode.settings import load_settings
from tests.browser.conftest import SCREENSHOTS, _run, database_of_its_own
from tests.browser.console_site import DEMO_PASSWORD, Person, Stage, number_in
from tests.conftest import free_port, serving
from tests.console.conftest import sds_fields
from tests.qr_reading import qr_texts

NEW_USCC = "91140105MA0H2CR40F"  # valid check character; not among the demo enterprises
OWNER_MOBILE = "13700000009"
OWNER_PASSWORD = "Journey-Owner-2026"
COUNTY_ADMIN, COUNTY_REVIEWER = "13800000005", "13800000006"
PROVINCE_ADMIN, PROVINCE_REVIEWER = "13800000001", "13800000002"
NATIONAL_ADMIN = "13800000000"
PRODUCT_NAME = "丙酮（旅程）"


@pytest.fixture(scope="module")
def stage(
    browser: Browser,
    server_urls: ServiceUrls,
    template_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stage]:
    """The all-in-one product under uvicorn on a database of its own with the demo registry."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        {
            "SAFECODE_DATA_DIR": str(tmp_path_factory.mktemp("console")),
            "PUBLIC_BASE_URL": base_url,
        }
    )
    shots = SCREENSHOTS / "console"
    shots.mkdir(parents=True, exist_ok=True)
    with database_of_its_own(server_urls, template_database) as urls:
        _run(ensure_demo_registry(urls.database_url, master_key=load_master_key(settings)))
        with serving(apps.all_in_one_app(settings, urls), port):
            stage = Stage(browser, base_url, shots)
            yield stage
            stage.close()


def _apply(applicant: Person) -> int:
    """The public application form, sent once with a mistake and once right."""
    applicant.open("/console/apply")
    applicant.look("apply")
    page = applicant.page
    page.get_by_label("统一社会信用代码").fill("91140105MA0H2CR40E")  # wrong check character
    page.get_by_label("企业名称").fill("太原旅程化工有限公司")
    page.get_by_label("所在县（区）").select_option("140105")
    page.get_by_label(re.compile(r"^地址( \*)?$")).fill("山西省太原市小店区旅程路 8 号")
    page.get_by_label("危险化学品生产企业").check()
    page.get_by_label("国民经济行业分类代码").fill("2614")
    page.get_by_label("联系人姓名").fill("刘安全")
    page.get_by_label("联系人手机号").fill(OWNER_MOBILE)
    page.get_by_role("button", name="提交申请").click()
    # The bad field is named beside its input, and what was typed is kept.
    expect(page.locator("#f-uscc-error")).to_be_visible()
    expect(page.get_by_label("企业名称")).to_have_value("太原旅程化工有限公司")
    applicant.look("apply-error")
    page.get_by_label("统一社会信用代码").fill(NEW_USCC)
    page.get_by_role("button", name="提交申请").click()
    number = number_in(page.locator("#application-number").inner_text())
    applicant.look("apply-sent")

    page.get_by_role("link", name="查询申请进度").first.click()
    page.get_by_label("申请编号").fill(str(number))
    page.get_by_label("申请时填写的联系人手机号").fill(OWNER_MOBILE)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#application-status")).to_contain_text("审核中")
    applicant.look("application-status")
    return number


def _approve_application(admin: Person, number: int) -> str:
    """The county admin approves it and reads the owner's one-time password, once."""
    admin.sign_in(COUNTY_ADMIN, DEMO_PASSWORD)
    admin.open("/console/applications")
    admin.look("applications")
    admin.page.get_by_role("row").filter(has_text="太原旅程化工有限公司").get_by_role(
        "link"
    ).click()
    admin.look("application")
    admin.page.get_by_role("button", name="通过").click()
    password = admin.page.locator("#one-time-password").inner_text().strip()
    admin.look("application-approved")
    admin.page.reload()
    expect(admin.page.locator("#one-time-password")).to_have_count(0)
    return password


def _first_sign_in(owner: Person, one_time_password: str) -> None:
    """The owner signs in with the one-time password and must change it first."""
    owner.sign_in(OWNER_MOBILE, one_time_password)
    expect(owner.page).to_have_url(re.compile(r"/console/password(\?.*)?$"))
    owner.look("password-forced")
    owner.page.get_by_label("当前密码").fill(one_time_password)
    owner.page.get_by_label("新密码").fill(OWNER_PASSWORD)
    owner.page.get_by_role("button", name="保存新密码").click()
    expect(owner.page).to_have_url(re.compile(r"/console/enterprise(\?.*)?$"))
    owner.look("home-first")


def _add_product(owner: Person) -> int:
    """The owner adds acetone; the product's page follows."""
    owner.open("/console/products/new")
    owner.look("product-new")
    page = owner.page
    page.get_by_label(re.compile(r"^中文名称( \*)?$")).fill(PRODUCT_NAME)
    page.get_by_label("英文名称", exact=True).fill("Acetone (journey)")
    page.get_by_label("CAS 号", exact=True).fill("67-64-1")
    page.get_by_label("联合国编号").fill("UN1090")
    page.get_by_label(re.compile(r"^物理形态( \*)?$")).select_option("liquid")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/console/products/\d+(\?.*)?$"))
    owner.look("product")
    return number_in(page.url.split("?")[0].rsplit("/", 1)[1])


def _classify_and_fill(owner: Person) -> int:
    """Start the first revision, classify it from the GHS tables, read the label it calls
    for, and fill in the SDS until nothing blocks submission."""
    page = owner.page
    page.get_by_role("link", name="新建说明书和标签版本").click()
    owner.look("revision-new")
    page.get_by_role("button", name="新建草稿").click()
    expect(page).to_have_url(re.compile(r"/console/revisions/\d+(\?.*)?$"))
    revision_id = number_in(page.url.split("?")[0].rsplit("/", 1)[1])
    owner.look("revision-empty")
    expect(page.locator("#blocking li").first).to_be_visible()  # empty: much still blocks

    for class_name, category in (("易燃液体", "类别2"), ("严重眼损伤/眼刺激", "类别2A")):
        chooser = page.locator("details").filter(has=page.get_by_text(class_name, exact=True))
        chooser.locator("summary").click()
        chooser.get_by_label(category, exact=True).check()
    page.get_by_role("button", name="保存并推导标签要素").click()
    elements = page.locator("#label-elements")
    expect(elements).to_contain_text("H225")  # flammable liquid category 2 ...
    expect(elements).to_contain_text("H319")  # ... and eye irritation 2A
    expect(elements).to_contain_text("GHS02")
    expect(elements).to_contain_text("危险")
    label = page.get_by_role("img", name=re.compile("安全标签预览"))
    expect(label).to_have_attribute("alt", re.compile("H225"))
    assert label.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG rendered
    scan_preview = page.frame_locator("iframe.scan-preview")
    expect(scan_preview.locator("body")).to_contain_text("H225")
    owner.look("revision-classified")

    for name, value in sds_fields().items():
        field = page.locator(f'[name="{name}"]')
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#blocking")).to_contain_text("没有阻碍提交的问题")
    owner.look("revision-ready")
    return revision_id


def _file_registration(owner: Person, revision_id: int, resubmits: int | None = None) -> int:
    """File the draft for registration (a resubmission names the rejected filing)."""
    owner.open("/console/enterprise/filings")
    page = owner.page
    page.locator(f"#f-revision-{revision_id}").check()
    if resubmits is not None:
        page.get_by_label("重新申报被驳回的登记（可选）").select_option(str(resubmits))
    owner.look("filings")
    page.get_by_role("button", name="提交登记申报").click()
    waiting = page.get_by_role("status").filter(has_text="正在审核")
    expect(waiting).to_be_visible()
    owner.look("filed")
    return number_in(waiting.inner_text())


def _county_cannot_decide(reviewer: Person, submission_id: int) -> None:
    reviewer.sign_in(COUNTY_REVIEWER, DEMO_PASSWORD)
    reviewer.open("/console/reviews")
    reviewer.look("county-queue")
    link = f"/console/submissions/{submission_id}"
    expect(reviewer.page.locator(f'a[href="{link}"]')).to_have_count(0)
    reviewer.open(link)  # in scope: it may read the filing, not decide it
    expect(reviewer.page.get_by_role("heading", level=1)).to_be_visible()
    expect(reviewer.page.get_by_role("button", name="通过")).to_have_count(0)
    reviewer.look("county-submission")


def _reject(reviewer: Person, submission_id: int, reason: str) -> None:
    reviewer.sign_in(PROVINCE_REVIEWER, DEMO_PASSWORD)
    reviewer.open("/console/reviews")
    reviewer.look("province-queue")
    reviewer.page.get_by_role("link", name=f"#{submission_id}", exact=True).click()
    # Beside the filing, the enterprise's record, its values named as people read them.
    expect(reviewer.page.locator("main")).to_contain_text("危险化学品生产企业")
    reviewer.look("province-submission")
    reviewer.page.get_by_role("button", name="驳回").click()  # no reason yet
    expect(reviewer.page.locator("#f-reason-error")).to_be_visible()
    reviewer.page.get_by_label(re.compile(r"^驳回理由( \*)?$")).fill(reason)
    reviewer.page.get_by_role("button", name="驳回").click()
    expect(reviewer.page.locator("main")).to_contain_text("已驳回")
    reviewer.look("province-rejected")


def _two_decide_at_once(first: Person, second: Person, submission_id: int) -> None:
    """Both open the filing; the first approves; the second, deciding on what it saw, is
    told someone else decided first."""
    for person in (first, second):
        person.open(f"/console/submissions/{submission_id}")
    first.page.get_by_role("button", name="通过").click()
    expect(first.page.locator("main")).to_contain_text("已通过")
    second.page.get_by_role("button", name="通过").click()
    expect(second.page.locator("main")).to_contain_text("其他审核人员已先作出决定")
    second.look("decided-elsewhere")


def _national_approves(national: Person, submission_id: int) -> None:
    national.sign_in(NATIONAL_ADMIN, DEMO_PASSWORD)
    national.open("/console/reviews")
    national.page.get_by_role("link", name=f"#{submission_id}", exact=True).click()
    national.look("national-submission")
    national.page.get_by_role("button", name="通过").click()
    expect(national.page.get_by_role("button", name="通过")).to_have_count(0)
    national.look("national-approved")


def _decode_qr(png: bytes) -> str:
    [text] = qr_texts(png)
    return text


def _scan_downloaded_qr(owner: Person, product_id: int, visitor: Person) -> None:
    """The PNG the product page offers decodes to the code, and its scan page shows the
    product's label."""
    owner.open(f"/console/products/{product_id}")
    owner.look("product-approved")
    with owner.page.expect_download() as download:
        owner.page.get_by_role("link", name="PNG", exact=True).click()
    path = download.value.path()
    url = _decode_qr(path.read_bytes())
    # QR alphanumeric mode writes the whole URL in capitals; scheme and host ignore case.
    assert url.lower().startswith(f"{owner.base_url}/c/"), url
    visitor.page.goto(url)
    expect(visitor.page.locator("body")).to_contain_text(PRODUCT_NAME)
    expect(visitor.page.locator("body")).to_contain_text("H225")
    visitor.look("scan-page")


def test_the_whole_journey_through_the_console(stage: Stage) -> None:
    applicant = stage.person("applicant", "phone")
    number = _apply(applicant)
    county_admin = stage.person("county-admin")
    password = _approve_application(county_admin, number)
    owner = stage.person("owner")
    _first_sign_in(owner, password)

    product_id = _add_product(owner)
    revision_id = _classify_and_fill(owner)
    first_filing = _file_registration(owner, revision_id)

    _county_cannot_decide(stage.person("county-reviewer"), first_filing)
    province_reviewer = stage.person("province-reviewer")
    reason = "第5部分应写明适用的灭火剂"
    _reject(province_reviewer, first_filing, reason)

    owner.open("/console/enterprise")
    expect(owner.page.locator("#rejections ~ * .reason").first).to_have_text(reason)
    owner.look("home-rejected")
    page = owner.page
    owner.open(f"/console/revisions/{revision_id}")
    page.locator('[name="sds.sections.5.body.zh"]').fill("灭火剂：抗溶性泡沫、干粉、二氧化碳。")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#blocking")).to_contain_text("没有阻碍提交的问题")
    second_filing = _file_registration(owner, revision_id, resubmits=first_filing)

    province_admin = stage.person("province-admin")
    province_admin.sign_in(PROVINCE_ADMIN, DEMO_PASSWORD)
    _two_decide_at_once(province_reviewer, province_admin, second_filing)
    _national_approves(stage.person("national-admin"), second_filing)

    _scan_downloaded_qr(owner, product_id, stage.person("scanner", "phone"))
    owner_on_phone = stage.person("owner-phone", "phone")
    owner_on_phone.sign_in(OWNER_MOBILE, OWNER_PASSWORD)
    owner_on_phone.open("/console/enterprise")
    expect(owner_on_phone.page.locator("main")).to_contain_text(PRODUCT_NAME)
    owner_on_phone.look("home-phone")
    owner_on_phone.open(f"/console/products/{product_id}")
    owner_on_phone.look("product-phone")
    for person in stage.people:
        person.assert_clean()


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(stage: Stage) -> None:
    admin = stage.person("forger")
    admin.sign_in(COUNTY_ADMIN, DEMO_PASSWORD)
    admin.open("/console/units/140105")
    before = admin.page.locator("main").inner_text()
    forged = admin.page.request.post(
        f"{stage.base_url}/console/units/140105/parks", form={"name": "伪造园区"}
    )
    assert forged.status == 403
    assert "伪造园区" not in forged.text()
    admin.open("/console/units/140105")
    assert admin.page.locator("main").inner_text() == before


def test_sign_in_and_its_form_work_from_the_keyboard_alone(stage: Stage) -> None:
    person = stage.person("keyboard")
    person.open("/console/sign-in")
    page = person.page
    page.keyboard.press("Tab")  # the skip link comes first
    focused = page.evaluate("() => document.activeElement.textContent")
    assert "跳" in focused, focused
    page.keyboard.press("Enter")
    for _ in range(20):  # on to the mobile input, however many links the header holds
        if page.evaluate("() => document.activeElement.name") == "mobile":
            break
        page.keyboard.press("Tab")
    page.keyboard.type(PROVINCE_REVIEWER)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/reviews(\?.*)?$"))
    outline = page.evaluate(
        "() => { const a = document.querySelector('nav a'); a.focus();"
        " return getComputedStyle(a).outlineStyle; }"
    )
    assert outline != "none"  # a focused link is seen
    person.look("keyboard-signed-in")
    person.assert_clean()
