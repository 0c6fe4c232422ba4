"""What a submission changes, as rows a reviewer reads side by side: a filed revision
against the product's approved one, or an enterprise record's fields old and new.

Pure functions over the registry's records. A revision is compared as the public record it
becomes (`filings.public_record`): the label as it will be printed (derived from the
classification when none was filed), the 16 SDS sections with their titles, supplier,
transport and emergency; so a reviewer sees what a scan would show, not storage details.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from codesvc.records import SDS_TITLES
from ghs.derivation import ClassificationError
from ghs.reference import PRECAUTION_GROUPS, reference
from public_site.pages import Lang
from registry_api.enterprises.operations import enterprise_fields
from registry_api.enterprises.permits import PERMIT_NAMES, PermitKind
from registry_api.enterprises.storage import Enterprise
from registry_api.products.filings import public_record
from registry_api.products.storage import Product, Revision


@dataclass(frozen=True, slots=True)
class ChangeRow:
    group: tuple[str, str]  # (Chinese, English) heading the row belongs to
    label: tuple[str, str]  # (Chinese, English) name of what the row holds
    before: str  # "" when absent
    after: str
    changed: bool


@dataclass(frozen=True, slots=True)
class RevisionChanges:
    product: Product
    filed: Revision
    base: Revision | None  # the approved revision compared against; None: a new product
    rows: list[ChangeRow]

    @property
    def changed_count(self) -> int:
        return sum(row.changed for row in self.rows)


_CLASSIFICATION = ("危险性分类", "Classification")
_LABEL = ("标签要素", "Label elements")
_SDS = ("安全技术说明书", "Safety data sheet")
_SUPPLIER = ("供应商", "Supplier")
_TRANSPORT = ("运输", "Transport")
_EMERGENCY = ("应急", "Emergency")
_GROUPS_OF_PRECAUTIONS = {
    "prevention": ("预防措施", "Prevention"),
    "response": ("事故响应", "Response"),
    "storage": ("安全储存", "Storage"),
    "disposal": ("废弃处置", "Disposal"),
}
_FIRST_AID = {
    "inhalation": ("吸入", "Inhalation"),
    "skin": ("皮肤接触", "Skin contact"),
    "eyes": ("眼睛接触", "Eye contact"),
    "ingestion": ("食入", "Ingestion"),
}
_ENTERPRISE_FIELDS = {
    "uscc": ("统一社会信用代码", "Unified social credit code"),
    "name": ("企业名称", "Name"),
    "county_id": ("所在县区", "County"),
    "park_id": ("化工园区", "Chemical park"),
    "address": ("地址", "Address"),
    "kinds": ("企业类型", "Kinds"),
    "industry_code": ("行业代码", "Industry code"),
    "responsible_person": ("主要负责人", "Responsible person"),
    "safety_head": ("安全负责人", "Head of safety"),
    "safety_head_phone": ("安全负责人电话", "Head of safety's phone"),
    "emergency_phone": ("应急电话", "Emergency phone"),
    "aging_installations": ("老旧装置", "Aging installations"),
    "permits": ("安全许可证", "Safety permits"),
    "status": ("状态", "Status"),
}


# Values stored as codes, named as people read them (others are shown as they are).
_SIGNAL_WORDS = {"danger": ("危险", "Danger"), "warning": ("警告", "Warning")}
_ENTERPRISE_VALUES = {
    "kinds": {
        "producer": ("危险化学品生产企业", "producer"),
        "importer": ("危险化学品进口企业", "importer"),
        "chemical": ("化工企业", "chemical enterprise"),
        "pharmaceutical": ("医药企业", "pharmaceutical enterprise"),
        "logistics": ("道路运输企业", "road transport company"),
        "user": ("使用单位", "user enterprise"),
    },
    "status": {"active": ("正常", "active"), "deregistered": ("已注销", "deregistered")},
}


def _named(value: Any, names: dict[str, tuple[str, str]], lang: Lang) -> Any:
    """`value` (a code, or a list of codes) by the names people read, in `lang`."""
    if isinstance(value, list):
        return [_named(item, names, lang) for item in value]
    pair = names.get(value) if isinstance(value, str) else None
    return value if pair is None else pair[0 if lang == "zh" else 1]


def field_label(name: str) -> tuple[str, str]:
    """(Chinese, English) name of an enterprise record's field."""
    return _ENTERPRISE_FIELDS.get(name, (name, name))


def show(value: Any, lang: Lang) -> str:
    """A record's value as text: bilingual texts in both languages (a reviewer checks
    both), the reader's first; lists one item a line."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, dict) and "zh" in value and set(value) <= {"zh", "en"}:
        first, second = (value.get("zh"), value.get("en"))
        if lang == "en":
            first, second = second, first
        return "\n".join(str(text) for text in (first, second) if text)
    if isinstance(value, dict) and "code" in value:
        text = show(value.get("text"), lang).replace("\n", " / ")
        return f"{value['code']} {text}".strip()
    if isinstance(value, list):
        return "\n".join(show(item, lang) for item in value)
    if isinstance(value, dict):
        return "\n".join(f"{key}: {show(item, lang)}" for key, item in value.items())
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    return str(value)


def _permit_lines(permits: list[dict[str, Any]] | None, lang: Lang) -> list[str]:
    """Permits a line each: the kind by name, number, issuer and validity (a reviewer checks
    them against the permits the enterprise shows). Their kinds were checked when filed."""
    lines = []
    for permit in permits or []:
        zh, en = PERMIT_NAMES[PermitKind(permit["kind"])]
        lines.append(
            f"{zh if lang == 'zh' else en} {permit['number']} · {permit['issuer']} · "
            f"{permit['valid_from']} – {permit['valid_until']}"
        )
    return lines


def _field_text(name: str, value: Any, lang: Lang) -> str:
    """A record field's value as a reviewer reads it."""
    if name == "permits":
        return "\n".join(_permit_lines(value, lang))
    return show(_named(value, _ENTERPRISE_VALUES.get(name, {}), lang), lang)


def _same(before: Any, after: Any) -> bool:
    def canonical(value: Any) -> str:
        empty = value is None or value == "" or value == [] or value == {}
        return "" if empty else json.dumps(value, sort_keys=True, ensure_ascii=False)

    return canonical(before) == canonical(after)


def _classification(revision: Revision, lang: Lang) -> list[str]:
    ref = reference()
    lines = []
    for item in revision.classification:
        found = ref.classes.get(str(item.get("class")))
        name = item.get("class") if found is None else (found.zh if lang == "zh" else found.en)
        hazard = f" ({item['hazard']})" if item.get("hazard") else ""
        lines.append(f"{name} {item.get('category')}{hazard}")
    return lines


def _record(product: Product, revision: Revision | None) -> dict[str, Any]:
    """The public record of `revision` ({} for none, or one whose classification no longer
    parses: then its label shows as absent rather than failing the page)."""
    if revision is None:
        return {}
    try:
        return public_record(product, revision, revision.approved_on or date.today())
    except ClassificationError:
        return {"sds": [], "label": {}, "transport": {}, "emergency": {}}


def revision_rows(
    product: Product, filed: Revision, base: Revision | None, lang: Lang
) -> list[ChangeRow]:
    """Every element of the filed revision beside the approved one's, changed ones marked."""
    old, new = _record(product, base), _record(product, filed)
    rows: list[ChangeRow] = []

    def add(group: tuple[str, str], label: tuple[str, str], before: Any, after: Any) -> None:
        changed = base is not None and not _same(before, after)
        rows.append(ChangeRow(group, label, show(before, lang), show(after, lang), changed))

    add(
        _CLASSIFICATION,
        ("危险类别", "Hazard classes"),
        [] if base is None else _classification(base, lang),
        _classification(filed, lang),
    )
    old_label, new_label = old.get("label", {}), new.get("label", {})
    add(_LABEL, ("象形图", "Pictograms"), old_label.get("pictograms"), new_label.get("pictograms"))
    add(
        _LABEL,
        ("信号词", "Signal word"),
        _named(old_label.get("signal_word"), _SIGNAL_WORDS, lang),
        _named(new_label.get("signal_word"), _SIGNAL_WORDS, lang),
    )
    add(
        _LABEL,
        ("危险说明", "Hazard statements"),
        old_label.get("hazard_statements"),
        new_label.get("hazard_statements"),
    )
    for group in PRECAUTION_GROUPS:
        zh, en = _GROUPS_OF_PRECAUTIONS[group]
        add(
            _LABEL,
            (f"防范说明：{zh}", f"Precautions: {en}"),
            old_label.get("precautionary_statements", {}).get(group),
            new_label.get("precautionary_statements", {}).get(group),
        )
    old_sections = {s["number"]: s["body"] for s in old.get("sds", [])}
    new_sections = {s["number"]: s["body"] for s in new.get("sds", [])}
    for number, (zh, en) in enumerate(SDS_TITLES, start=1):
        add(
            _SDS,
            (f"第{number}部分 {zh}", f"Section {number}: {en}"),
            old_sections.get(number),
            new_sections.get(number),
        )
    old_supplier, new_supplier = old.get("supplier") or {}, new.get("supplier") or {}
    for key, label in (
        ("name", ("名称", "Name")),
        ("address", ("地址", "Address")),
        ("phone", ("电话", "Phone")),
        ("emergency_phone", ("24小时应急电话", "24-hour emergency phone")),
    ):
        add(_SUPPLIER, label, old_supplier.get(key), new_supplier.get(key))
    old_transport, new_transport = old.get("transport", {}), new.get("transport", {})
    for key, label in (
        ("un_number", ("UN编号", "UN number")),
        ("proper_shipping_name", ("正式运输名称", "Proper shipping name")),
        ("transport_class", ("运输类别", "Transport class")),
        ("packing_group", ("包装类别", "Packing group")),
        ("emergency_measures", ("运输应急措施", "Emergency measures")),
    ):
        add(_TRANSPORT, label, old_transport.get(key), new_transport.get(key))
    old_emergency, new_emergency = old.get("emergency", {}), new.get("emergency", {})
    for route, label in _FIRST_AID.items():
        add(
            _EMERGENCY,
            (f"急救：{label[0]}", f"First aid: {label[1]}"),
            (old_emergency.get("first_aid") or {}).get(route),
            (new_emergency.get("first_aid") or {}).get(route),
        )
    for key, label in (
        ("fire_fighting", ("消防措施", "Fire fighting")),
        ("spill_response", ("泄漏应急处理", "Spill response")),
        ("protective_equipment", ("个体防护", "Protective equipment")),
    ):
        add(_EMERGENCY, label, old_emergency.get(key), new_emergency.get(key))
    return rows


def base_revision(revisions: list[Revision], filed: Revision) -> Revision | None:
    """The approved revision `filed` is measured against: the newest one approved before it
    (while it waits, the current one; once approved itself, the one it superseded)."""
    approved = [
        r
        for r in revisions
        if r.id != filed.id and r.status in ("current", "superseded") and r.number < filed.number
    ]
    return max(approved, key=lambda r: r.number, default=None)


def record_rows(current: Enterprise, changes: dict[str, Any], lang: Lang) -> list[ChangeRow]:
    """An info update's fields: the record's value now beside the one asked for."""
    fields: dict[str, Any] = dict(enterprise_fields(current))
    group = ("企业信息", "Enterprise record")
    return [
        ChangeRow(
            group,
            field_label(name),
            _field_text(name, fields.get(name), lang),
            _field_text(name, value, lang),
            not _same(fields.get(name), value),
        )
        for name, value in changes.items()
    ]


def enterprise_record(current: Enterprise, lang: Lang) -> list[tuple[tuple[str, str], str]]:
    """The enterprise's record as (field label, text) pairs, for beside a submission."""
    return [
        (field_label(name), _field_text(name, value, lang))
        for name, value in enterprise_fields(current).items()
    ]
