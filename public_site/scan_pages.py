"""The pages a scan shows: a record's views, and the states of a code. Pure rendering.

Records arrive as plain JSON data (the shape `codesvc.records.record_as_json` gives);
bilingual texts are `{"zh": ..., "en": ...}` and fall back to Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from public_site.pages import Lang, environment, localized

VIEWS = ("label", "sds", "transport", "emergency")
# Replaced per request with who reached the page and how (scanned or typed, batch, item).
SCAN_CONTEXT_MARKER = b"<!--scan-context-->"

UI: dict[str, dict[Lang, str]] = {
    "label": {"zh": "安全标签", "en": "Safety label"},
    "sds": {"zh": "安全技术说明书", "en": "Safety data sheet"},
    "transport": {"zh": "运输", "en": "Transport"},
    "emergency": {"zh": "应急处置", "en": "Emergency"},
    "danger": {"zh": "危险", "en": "Danger"},
    "warning": {"zh": "警告", "en": "Warning"},
    "hazards": {"zh": "危险性说明", "en": "Hazard statements"},
    "precautions": {"zh": "防范说明", "en": "Precautionary statements"},
    "prevention": {"zh": "预防措施", "en": "Prevention"},
    "response": {"zh": "事故响应", "en": "Response"},
    "storage": {"zh": "安全储存", "en": "Storage"},
    "disposal": {"zh": "废弃处置", "en": "Disposal"},
    "first_aid": {"zh": "急救措施", "en": "First aid"},
    "inhalation": {"zh": "吸入", "en": "Inhalation"},
    "skin": {"zh": "皮肤接触", "en": "Skin contact"},
    "eyes": {"zh": "眼睛接触", "en": "Eye contact"},
    "ingestion": {"zh": "食入", "en": "Ingestion"},
    "fire_fighting": {"zh": "消防措施", "en": "Fire-fighting"},
    "spill_response": {"zh": "泄漏应急处理", "en": "Spill response"},
    "protective_equipment": {"zh": "个体防护", "en": "Protective equipment"},
    "emergency_phone": {"zh": "24小时应急电话", "en": "24-hour emergency phone"},
    "supplier": {"zh": "供应商", "en": "Supplier"},
    "revision": {"zh": "版本", "en": "Revision"},
    "approved_on": {"zh": "审核通过日期", "en": "Approved on"},
    "un_number": {"zh": "联合国编号", "en": "UN number"},
    "proper_shipping_name": {"zh": "正式运输名称", "en": "Proper shipping name"},
    "transport_class": {"zh": "运输危险类别", "en": "Class / division"},
    "packing_group": {"zh": "包装类别", "en": "Packing group"},
    "emergency_measures": {
        "zh": "车辆与货物应急措施",
        "en": "Emergency measures for vehicle and load",
    },
    "not_given": {"zh": "未提供", "en": "Not given"},
    "suspended": {
        "zh": "注意：此安全码已被暂停使用，以下信息可能不是最新的。",
        "en": "Warning: this code is suspended; the information below may be out of date.",
    },
    "scanned": {"zh": "已验证：扫码所得，签名真实", "en": "Verified: scanned, signature genuine"},
    "typed": {
        "zh": "手动输入的编号（未经扫码验证）",
        "en": "Typed code number (not verified by a scan)",
    },
    "batch": {"zh": "批次", "en": "Batch"},
    "serial": {"zh": "序列号", "en": "Item"},
    "code": {"zh": "安全码编号", "en": "Code"},
    "sds_pdf": {"zh": "下载安全技术说明书（PDF）", "en": "Safety data sheet (PDF)"},
    "label_pdf": {"zh": "打印安全标签（PDF）", "en": "Print the label (PDF)"},
}


def render_scan_page(
    record: Mapping[str, Any],
    *,
    view: str,
    lang: Lang,
    code_id: str,
    suspended_reason: str | None = None,
) -> str:
    return environment.get_template("scan.html").render(
        record=record,
        view=view,
        lang=lang,
        code_id=code_id,
        suspended_reason=suspended_reason,
        views=VIEWS,
        ui={key: texts[lang] for key, texts in UI.items()},
        t=lambda value: localized(value, lang),
        # A fixed comment of ours, not input: safe to emit unescaped.
        marker=Markup(SCAN_CONTEXT_MARKER.decode()),  # noqa: S704
    )


def render_revoked_page(
    *, lang: Lang, code_id: str, product_name: object, revoked_on: str, reason: str
) -> str:
    return environment.get_template("revoked.html").render(
        lang=lang,
        code_id=code_id,
        product_name=localized(product_name, lang) if product_name else None,
        revoked_on=revoked_on,
        reason=reason,
    )


def render_not_genuine_page(lang: Lang) -> str:
    return environment.get_template("not_genuine.html").render(lang=lang)


def render_scan_context(lang: Lang, *, typed: bool, batch: str | None, serial: str | None) -> bytes:
    """The line under the title saying how the page was reached; escaped, ready to splice."""
    parts = [UI["typed" if typed else "scanned"][lang]]
    if batch:
        parts.append(f"{UI['batch'][lang]}: {batch}")
    if serial:
        parts.append(f"{UI['serial'][lang]}: {serial}")
    css = "context typed" if typed else "context scanned"
    return f'<p class="{css}">{escape(" · ".join(parts))}</p>'.encode()
