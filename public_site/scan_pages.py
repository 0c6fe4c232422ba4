"""The pages a scan shows: a record's views, and the states of a code. Pure rendering.

Records arrive as plain JSON data (the shape `codesvc.records.record_as_json` gives);
bilingual texts are `{"zh": ..., "en": ...}` and fall back to Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from public_site.pages import Lang, environment, localized, other_lang

VIEWS = ("label", "sds", "transport", "emergency")
EXPOSURE_ROUTES = ("inhalation", "skin", "eyes", "ingestion")
# The label view shows every response statement but only this many prevention ones: the
# reader needs what to do now; the rest is one tap away.
KEY_PREVENTION_STATEMENTS = 3
# Replaced per request with who reached the page and how (scanned or typed, batch, item).
SCAN_CONTEXT_MARKER = b"<!--scan-context-->"
# The page's links to its other views (and languages) start so; a page reached by a typed
# code gets `src=typed` added, so moving between views does not start claiming a scan.
_VIEW_LINK = b'href="?view='
_TYPED_VIEW_LINK = b'href="?src=typed&amp;view='


def mark_view_links_typed(page: bytes) -> bytes:
    """The pre-rendered page with its view and language links kept marked as typed."""
    return page.replace(_VIEW_LINK, _TYPED_VIEW_LINK)


UI: dict[str, dict[Lang, str]] = {
    "label": {"zh": "安全标签", "en": "Safety label"},
    "sds": {"zh": "安全技术说明书", "en": "Safety data sheet"},
    "transport": {"zh": "运输信息", "en": "Transport"},
    "emergency": {"zh": "应急处置", "en": "Emergency"},
    # The tabs: short enough for four in a row on a phone.
    "tab_label": {"zh": "标签", "en": "Label"},
    "tab_sds": {"zh": "说明书", "en": "SDS"},
    "tab_transport": {"zh": "运输", "en": "Transport"},
    "tab_emergency": {"zh": "应急", "en": "Emergency"},
    "views_nav": {"zh": "查看", "en": "Views"},
    "danger": {"zh": "危险", "en": "Danger"},
    "warning": {"zh": "警告", "en": "Warning"},
    "hazards": {"zh": "危险性说明", "en": "Hazard statements"},
    "components": {"zh": "危险组分", "en": "Hazardous components"},
    "response_now": {"zh": "发生事故时", "en": "If it happens: what to do now"},
    "key_prevention": {"zh": "预防措施（要点）", "en": "Prevention (key points)"},
    "more_precautions": {"zh": "其余防范说明", "en": "More precautionary statements"},
    "prevention": {"zh": "预防措施", "en": "Prevention"},
    "response": {"zh": "事故响应", "en": "Response"},
    "storage": {"zh": "安全储存", "en": "Storage"},
    "disposal": {"zh": "废弃处置", "en": "Disposal"},
    "first_aid": {"zh": "急救措施", "en": "First aid"},
    "inhalation": {"zh": "吸入", "en": "Inhalation"},
    "skin": {"zh": "皮肤接触", "en": "Skin contact"},
    "eyes": {"zh": "眼睛接触", "en": "Eye contact"},
    "ingestion": {"zh": "食入", "en": "Ingestion"},
    "all_emergency": {"zh": "全部应急处置信息", "en": "All emergency measures"},
    "full_sds": {"zh": "完整的安全技术说明书", "en": "The full safety data sheet"},
    "fire_fighting": {"zh": "灭火方法", "en": "Fire-fighting media"},
    "spill_response": {"zh": "泄漏应急处理", "en": "Spill response"},
    "protective_equipment": {"zh": "个体防护", "en": "Personal protective equipment"},
    "emergency_phone": {"zh": "24小时应急电话", "en": "24-hour emergency phone"},
    "public_services": {"zh": "公共救援电话", "en": "Public emergency services"},
    "fire_119": {"zh": "火警", "en": "Fire"},
    "ambulance_120": {"zh": "急救", "en": "Ambulance"},
    "contents": {"zh": "目录", "en": "Contents"},
    "supplier": {"zh": "供应商", "en": "Supplier"},
    "phone": {"zh": "电话", "en": "Phone"},
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
    "reason": {"zh": "原因", "en": "Reason"},
    "scanned": {"zh": "已验证：扫码所得，签名真实", "en": "Verified: scanned, signature genuine"},
    "withdrawn": {
        "zh": "注意：签发此安全码的密钥已被撤销，此码已作废，生产企业将重新印制标签。"
        "以下为经审核的安全信息，仍可使用。",
        "en": "Warning: the key that signed this code was revoked, so the code is withdrawn"
        " and the manufacturer will reprint the label. The approved safety information"
        " below still applies.",
    },
    "typed": {
        "zh": "手动输入的编号（未经扫码验证）",
        "en": "Typed code number (not verified by a scan)",
    },
    "batch": {"zh": "批次", "en": "Batch"},
    "serial": {"zh": "序列号", "en": "Item"},
    "code": {"zh": "安全码编号", "en": "Code"},
    "documents": {"zh": "打印", "en": "Print"},
    "sds_pdf": {"zh": "下载安全技术说明书（PDF）", "en": "Safety data sheet (PDF)"},
    "label_pdf": {"zh": "打印安全标签（PDF）", "en": "Print the label (PDF)"},
    "console": {
        "zh": "企业或监管人员：在控制台查看此码",
        "en": "Staff: open this code in the console",
    },
}
# The console's page of a code, linked from every scan page for its enterprise and its
# regulators (the console answers 404 to anyone else, and sends a reader not signed in to
# sign in and back). The link is the same for every reader, so the page stays cacheable.
# Same origin, as the home page's link to `/api/v1`: `safecode run` serves the console
# beside the resolver; split units need the front proxy to send `/console/` (and `/api/`)
# of the public host to the registry unit.
CONSOLE_CODE_PATH = "/console/codes/"
# The console's receipt page of an item, linked from the item's scan page: a receiving
# clerk signs in (and comes back) and records the receipt. Same origin, as above.
CONSOLE_RECEIVE_PATH = "/console/receive/"

# What each pictogram means, for its alt text (GB 30000 / GHS names, shortened).
PICTOGRAM_NAMES: dict[str, dict[Lang, str]] = {
    "GHS01": {"zh": "爆炸物", "en": "exploding bomb"},
    "GHS02": {"zh": "易燃", "en": "flame"},
    "GHS03": {"zh": "氧化性", "en": "flame over circle"},
    "GHS04": {"zh": "压力下气体", "en": "gas cylinder"},
    "GHS05": {"zh": "腐蚀性", "en": "corrosion"},
    "GHS06": {"zh": "急性毒性", "en": "skull and crossbones"},
    "GHS07": {"zh": "有害", "en": "exclamation mark"},
    "GHS08": {"zh": "健康危害", "en": "health hazard"},
    "GHS09": {"zh": "危害水生环境", "en": "environment"},
}

# Classes and divisions of dangerous goods (GB 6944-2012, UN Model Regulations).
TRANSPORT_CLASSES: dict[str, dict[Lang, str]] = {
    "1": {"zh": "爆炸品", "en": "Explosives"},
    "2": {"zh": "气体", "en": "Gases"},
    "2.1": {"zh": "易燃气体", "en": "Flammable gases"},
    "2.2": {"zh": "非易燃无毒气体", "en": "Non-flammable, non-toxic gases"},
    "2.3": {"zh": "毒性气体", "en": "Toxic gases"},
    "3": {"zh": "易燃液体", "en": "Flammable liquids"},
    "4.1": {"zh": "易燃固体", "en": "Flammable solids"},
    "4.2": {"zh": "易于自燃的物质", "en": "Substances liable to spontaneous combustion"},
    "4.3": {"zh": "遇水放出易燃气体的物质", "en": "Dangerous when wet"},
    "5.1": {"zh": "氧化性物质", "en": "Oxidizing substances"},
    "5.2": {"zh": "有机过氧化物", "en": "Organic peroxides"},
    "6.1": {"zh": "毒性物质", "en": "Toxic substances"},
    "6.2": {"zh": "感染性物质", "en": "Infectious substances"},
    "7": {"zh": "放射性物质", "en": "Radioactive material"},
    "8": {"zh": "腐蚀性物质", "en": "Corrosive substances"},
    "9": {"zh": "杂项危险物质和物品", "en": "Miscellaneous dangerous goods"},
}
_CLASS_TOKEN = re.compile(r"(?<![\d.])\d(?:\.\d)?(?!\d)")


def transport_class_names(value: str | None, lang: Lang) -> str:
    """The names of a class as written on a record ("3", "3 (6.1)", "1.1D"): the primary
    class first, then any subsidiary ones; empty when nothing is recognised."""
    names: list[str] = []
    for token in _CLASS_TOKEN.findall(value or ""):
        known = TRANSPORT_CLASSES.get(token) or TRANSPORT_CLASSES.get(token[0])
        if known and known[lang] not in names:
            names.append(known[lang])
    return " / ".join(names)


def render_scan_page(
    record: Mapping[str, Any],
    *,
    view: str,
    lang: Lang,
    code_id: str,
    suspended_reason: str | None = None,
) -> str:
    """One view of a record. The page keeps `SCAN_CONTEXT_MARKER` for the resolver to
    replace; all record text is escaped."""
    label = record["label"]
    groups = label.get("precautionary_statements") or {}
    prevention = list(groups.get("prevention") or [])
    more = {
        "prevention": prevention[KEY_PREVENTION_STATEMENTS:],
        "storage": list(groups.get("storage") or []),
        "disposal": list(groups.get("disposal") or []),
    }
    first_aid = (record.get("emergency") or {}).get("first_aid") or {}
    return environment.get_template("scan.html").render(
        record=record,
        view=view,
        lang=lang,
        other=other_lang(lang),
        code_id=code_id,
        suspended_reason=suspended_reason,
        views=VIEWS,
        ui={key: texts[lang] for key, texts in UI.items()},
        t=lambda value: localized(value, lang),
        pictogram_names={code: names[lang] for code, names in PICTOGRAM_NAMES.items()},
        response=list(groups.get("response") or []),
        key_prevention=prevention[:KEY_PREVENTION_STATEMENTS],
        more_precautions={group: items for group, items in more.items() if items},
        first_aid=[(route, first_aid[route]) for route in EXPOSURE_ROUTES if first_aid.get(route)],
        class_names=transport_class_names(
            (record.get("transport") or {}).get("transport_class"), lang
        ),
        console_code_path=CONSOLE_CODE_PATH,
        # A fixed comment of ours, not input: safe to emit unescaped.
        marker=Markup(SCAN_CONTEXT_MARKER.decode()),  # noqa: S704
    )


def render_revoked_page(
    *, lang: Lang, code_id: str, product_name: object, revoked_on: str, reason: str
) -> str:
    """The 410 page: what happened, when, why and what to do; never the old data."""
    return environment.get_template("revoked.html").render(
        lang=lang,
        other=other_lang(lang),
        code_id=code_id,
        product_name=localized(product_name, lang) if product_name else None,
        revoked_on=revoked_on,
        reason=reason,
    )


def render_not_genuine_page(lang: Lang) -> str:
    """The 404 page of a code whose signature does not match, with how to report it."""
    return environment.get_template("not_genuine.html").render(
        lang=lang, other=other_lang(lang), item=False
    )


def render_scan_context(
    lang: Lang,
    *,
    typed: bool,
    batch: str | None,
    serial: str | None,
    withdrawn: bool = False,
    lifecycle: ScanLifecycle | None = None,
) -> bytes:
    """The line under the title saying how the page was reached; escaped, ready to splice.

    A withdrawn code (its signing key revoked) is never called verified: the line warns
    instead, and the page's hazard data stays below it. `lifecycle` (what the registry
    knows of the batch and item named) adds a recall banner and the item's warnings above
    the line, and the batch's record, or the notice that it was never declared, below it."""
    if withdrawn:
        parts = [UI["withdrawn"][lang]]
        css = "context withdrawn"
    else:
        parts = [UI["typed" if typed else "scanned"][lang]]
        css = "context typed" if typed else "context scanned"
    if batch:
        parts.append(f"{UI['batch'][lang]}: {batch}")
    if serial:
        parts.append(f"{UI['serial'][lang]}: {serial}")
    line = f'<p class="{css}">{escape(" · ".join(parts))}</p>'
    if lifecycle is None:
        return line.encode()
    return _lifecycle_context(lang, line, lifecycle).encode()


# --- batches and items (一企一批一码, 一企一物一码) -------------------------------------------


@dataclass(frozen=True, slots=True)
class RecallFacts:
    """A batch's open recall, as its scan pages announce it."""

    reason: str
    instructions: str
    since: str  # the day it started, ISO


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """One level of a batch's packaging (the inner package, or the outer one)."""

    kind: str  # the enterprise's word for it: 钢桶, drum, bag
    capacity: str
    unit: str


@dataclass(frozen=True, slots=True)
class BatchFacts:
    """What the manufacturer declared of a batch, and its open recall."""

    batch_no: str
    produced_on: str  # ISO days
    use_by: str
    use_by_kind: str  # expiry | retest
    quantity: str
    unit: str
    inner: PackageFacts | None
    outer: PackageFacts | None
    site: str | None
    recall: RecallFacts | None


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """An item's serial and its state, as its scan page shows them."""

    serial: str
    kind: str  # item | case | pallet
    state: str  # an item state's value (codesvc.item_states)
    state_name: str  # in the page's language
    state_on: str | None  # the day it entered the state, ISO
    parent: str | None  # the case or pallet it is packed in
    alerted_on: str | None  # the day of the first alert about it


@dataclass(frozen=True, slots=True)
class ScanLifecycle:
    """What the registry knows of the batch (and item) a scan path names."""

    batch: BatchFacts | None  # None: the manufacturer never declared it
    item: ItemFacts | None = None
    # False: neither store could answer just now. Nothing about the batch is claimed
    # then, and the hazard data stays: a worker must still get it.
    checked: bool = True


LIFECYCLE_UI: dict[str, dict[Lang, str]] = {
    "recalled_batch": {"zh": "召回：此批次已被召回", "en": "Recall: this batch is recalled"},
    "recall_since": {"zh": "召回开始日期", "en": "Recalled since"},
    "recall_reason": {"zh": "原因", "en": "Reason"},
    "recall_instructions": {"zh": "处置要求", "en": "What to do"},
    "undeclared": {"zh": "生产企业未申报此批次", "en": "Batch not declared by the manufacturer"},
    "undeclared_detail": {
        "zh": "登记系统中没有此批次，无法核实标签上的批次信息。"
        "以下安全信息适用于此产品，请照常遵守；如有疑问，请向供应商核实。",
        "en": "The registry has no such batch, so the batch on this label cannot be checked. The"
        " safety information below applies to the product: follow it, and check the batch"
        " with the supplier.",
    },
    "unchecked": {
        "zh": "暂时无法核对批次和序列号，请稍后再扫码。以下安全信息仍然适用。",
        "en": "The batch and item could not be checked just now; scan again later. The safety"
        " information below still applies.",
    },
    "batch": {"zh": "批次", "en": "Batch"},
    "produced_on": {"zh": "生产日期", "en": "Produced on"},
    "use_by_expiry": {"zh": "有效期至", "en": "Use by"},
    "use_by_retest": {"zh": "复检日期", "en": "Retest by"},
    "quantity": {"zh": "批量", "en": "Quantity"},
    "packaging": {"zh": "包装", "en": "Packaging"},
    "inner": {"zh": "内包装", "en": "Inner"},
    "outer": {"zh": "外包装", "en": "Outer"},
    "site": {"zh": "生产地点", "en": "Site"},
    "item": {"zh": "包装件", "en": "Package"},
    "case": {"zh": "箱", "en": "Case"},
    "pallet": {"zh": "托盘", "en": "Pallet"},
    "state": {"zh": "状态", "en": "State"},
    "packed_in": {"zh": "装于", "en": "packed in"},
    "receive": {"zh": "收货登记（企业人员）", "en": "Record receipt (staff)"},
    "caution": {
        "zh": "注意：{day} 曾就此包装的序列号发出警示，请向供应商核实。",
        "en": "Caution: an alert was raised about this package's serial on {day}: check it"
        " with the supplier.",
    },
}

# The states a scan must warn of, each with what it means for the reader; {day} is when.
# The other states are shown on the item's line only.
ITEM_STATE_WARNINGS: dict[str, dict[Lang, tuple[str, str]]] = {
    "destroyed": {
        "zh": ("已销毁", "此包装不应存在。"),
        "en": ("Destroyed", "this package should not exist."),
    },
    "consumed": {
        "zh": ("已用完", "此包装应已用空，不应再出现。"),
        "en": ("Used up", "this package should be empty and out of circulation."),
    },
    "recalled": {
        "zh": ("已召回", "请勿使用，按供应商的召回要求退回或处置。"),
        "en": ("Recalled", "do not use it; return or dispose of it as the supplier's recall asks."),
    },
    "quarantined": {
        "zh": ("已隔离", "此包装曾被报告损坏，供应商解除隔离前请勿使用。"),
        "en": (
            "Quarantined",
            "it was reported damaged; do not use it until the supplier clears it.",
        ),
    },
}


def item_state_warning(item: ItemFacts, lang: Lang) -> str | None:
    """ "已销毁（2026-03-01）：此包装不应存在。" for the states a reader must be warned of."""
    texts = ITEM_STATE_WARNINGS.get(item.state)
    if texts is None:
        return None
    done, meaning = texts[lang]
    if lang == "zh":
        return f"{done}（{item.state_on}）：{meaning}" if item.state_on else f"{done}：{meaning}"
    return f"{done} on {item.state_on}: {meaning}" if item.state_on else f"{done}: {meaning}"


def _package_text(package: PackageFacts | None) -> str:
    if package is None:
        return ""
    return " ".join(part for part in (package.kind, package.capacity, package.unit) if part)


def _lifecycle_context(lang: Lang, line: str, lifecycle: ScanLifecycle) -> str:
    """The context line with what is known of the batch and item around it: the recall and
    the item's warnings above it (above the data, on every view), the batch below."""
    ui = {key: texts[lang] for key, texts in LIFECYCLE_UI.items()}
    batch, item = lifecycle.batch, lifecycle.item
    return environment.get_template("scan_lifecycle.html").render(
        lang=lang,
        ui=ui,
        # Escaped already (the context line as every scan gets it).
        line=Markup(line),  # noqa: S704
        lifecycle=lifecycle,
        batch=batch,
        item=item,
        warning=None if item is None else item_state_warning(item, lang),
        caution=None
        if item is None or item.alerted_on is None
        else ui["caution"].format(day=item.alerted_on),
        inner=_package_text(batch.inner) if batch else "",
        outer=_package_text(batch.outer) if batch else "",
        use_by_label=ui.get(f"use_by_{batch.use_by_kind}", "") if batch else "",
        console_receive_path=CONSOLE_RECEIVE_PATH,
    )


def render_not_genuine_item_page(lang: Lang) -> str:
    """The 404 page of a serial the manufacturer never issued for the code and batch the
    path names (or never issued at all), with how to report it; never the product data."""
    return environment.get_template("not_genuine.html").render(
        lang=lang, other=other_lang(lang), item=True
    )
