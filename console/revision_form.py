"""The revision editor's form: a revision's content as inputs, a posted form as the
registry's `RevisionForm` body, and each error or blocking problem tied to its input.

Pure functions over the registry's records and the GHS tables. Inputs are named by the
paths the registry's errors use wherever the two can agree (`sds.supplier.phone`,
`sds.sections.3.body.zh` for the third section); a classification is a checkbox a GHS
category (`cls.flammable_liquids.2`), its statement choice a select (`hazard.…`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from codesvc.records import EXPOSURE_ROUTES, SDS_TITLES
from console.forms import Posted
from ghs.reference import HazardCategory, reference

# How the label is filed: derived from the classification (None), or as filed before.
LABEL_DERIVED = "derived"
LABEL_FILED = "filed"


def checkbox_name(class_id: str, category: str) -> str:
    return f"cls.{class_id}.{category}"


def hazard_name(class_id: str, category: str) -> str:
    return f"hazard.{class_id}.{category}"


def input_id(name: str) -> str:
    """The id the form macros give the input `name` (anchors link to it)."""
    return "f-" + name.replace(".", "-").replace("[", "-").replace("]", "")


def hazard_choices(category: HazardCategory) -> list[str]:
    """The statements a category lets the classifier choose between (H350, H350i); empty
    when it offers no choice."""
    if all(len(options) == 1 for options in category.hazards):
        return []
    return [code for options in category.hazards for code in options if len(options) > 1]


@dataclass(frozen=True, slots=True)
class CategoryOption:
    category: str
    name: str  # a checkbox's input name
    label_zh: str
    signal_word: str | None
    pictograms: tuple[str, ...]
    hazards: tuple[str, ...]  # the statements it calls for (each choice's default)
    choices: tuple[str, ...]  # where it offers a choice of statement


@dataclass(frozen=True, slots=True)
class ClassOption:
    class_id: str
    zh: str
    en: str
    categories: tuple[CategoryOption, ...]


def class_options() -> list[ClassOption]:
    """The GHS tables as the editor's checkboxes: every class with its categories."""
    ref = reference()
    grouped: dict[str, list[CategoryOption]] = {}
    for (class_id, category), found in ref.categories.items():
        grouped.setdefault(class_id, []).append(
            CategoryOption(
                category=category,
                name=checkbox_name(class_id, category),
                label_zh=found.category_zh,
                signal_word=found.signal_word,
                pictograms=found.pictograms,
                hazards=tuple(options[0] for options in found.hazards),
                choices=tuple(hazard_choices(found)),
            )
        )
    return [
        ClassOption(class_id, ref.classes[class_id].zh, ref.classes[class_id].en, tuple(items))
        for class_id, items in grouped.items()
    ]


@dataclass(frozen=True, slots=True)
class TextInput:
    name: str  # the input's name; a bilingual one is two inputs, `name.zh` and `name.en`
    zh: str
    en: str
    bilingual: bool = True
    choices: tuple[str, ...] = ()  # a select's options (besides "none")


@dataclass(frozen=True, slots=True)
class TextGroup:
    id: str
    zh: str
    en: str
    inputs: tuple[TextInput, ...]


_ROUTE_NAMES = {
    "inhalation": ("吸入", "Inhalation"),
    "skin": ("皮肤接触", "Skin contact"),
    "eyes": ("眼睛接触", "Eye contact"),
    "ingestion": ("食入", "Ingestion"),
}

# The SDS's structured parts beside its 16 sections: what the label, transport and
# emergency views of a scan are made of.
TEXT_GROUPS: tuple[TextGroup, ...] = (
    TextGroup(
        "supplier",
        "供应商",
        "Supplier",
        (
            TextInput("sds.supplier.name", "名称", "Name"),
            TextInput("sds.supplier.address", "地址", "Address"),
            TextInput("sds.supplier.phone", "电话", "Phone", bilingual=False),
            TextInput(
                "sds.supplier.emergency_phone",
                "24 小时应急咨询电话",
                "24-hour emergency phone",
                bilingual=False,
            ),
        ),
    ),
    TextGroup(
        "first-aid",
        "急救措施（扫码页“应急”）",
        "First aid (the scan's emergency view)",
        tuple(TextInput(f"sds.first_aid.{r}", *_ROUTE_NAMES[r]) for r in EXPOSURE_ROUTES),
    ),
    TextGroup(
        "emergency",
        "应急处置",
        "Emergency response",
        (
            TextInput("sds.fire_fighting", "灭火方法", "Fire fighting"),
            TextInput("sds.spill_response", "泄漏应急处理", "Spill response"),
            TextInput("sds.protective_equipment", "个体防护装备", "Protective equipment"),
        ),
    ),
    TextGroup(
        "transport",
        "运输",
        "Transport",
        (
            TextInput("sds.transport.proper_shipping_name", "正式运输名称", "Proper shipping name"),
            TextInput("sds.transport.transport_class", "运输类别", "Class", bilingual=False),
            TextInput(
                "sds.transport.packing_group",
                "包装类别",
                "Packing group",
                bilingual=False,
                choices=("I", "II", "III"),
            ),
            TextInput("sds.transport.emergency_measures", "运输应急措施", "Emergency measures"),
        ),
    ),
)


def section_name(number: int) -> str:
    return f"sds.sections.{number}.body"


SECTIONS: tuple[tuple[int, str, str, str], ...] = tuple(
    (number, section_name(number), zh, en) for number, (zh, en) in enumerate(SDS_TITLES, start=1)
)


# --- a revision as the form shows it ----------------------------------------------------


def revision_values(revision_content: dict[str, Any]) -> dict[str, str]:
    """A revision's classification and SDS as the editor's inputs show them."""
    values: dict[str, str] = {}
    for item in revision_content.get("classification") or []:
        class_id, category = str(item.get("class")), str(item.get("category"))
        values[checkbox_name(class_id, category)] = "on"
        if item.get("hazard"):
            values[hazard_name(class_id, category)] = str(item["hazard"])
    sds: dict[str, Any] = revision_content.get("sds") or {}
    for section in sds.get("sections") or []:
        _put_text(values, section_name(int(section.get("number", 0))), section.get("body"))
    for group in TEXT_GROUPS:
        for text in group.inputs:
            _put_text(values, text.name, _at(sds, text.name.removeprefix("sds.")))
    values["label_mode"] = LABEL_DERIVED if revision_content.get("label") is None else LABEL_FILED
    return values


def _at(data: dict[str, Any], path: str) -> Any:
    found: Any = data
    for part in path.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return found


def _put_text(values: dict[str, str], name: str, value: Any) -> None:
    if isinstance(value, dict):
        values[f"{name}.zh"] = str(value.get("zh") or "")
        values[f"{name}.en"] = str(value.get("en") or "")
    elif value is not None:
        values[name] = str(value)


# --- a posted form as the registry's body -------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevisionData:
    body: dict[str, object]  # a RevisionForm's body
    renames: list[tuple[str, str]]  # (path in the body, the input's name)


def revision_data(form: Posted, filed_label: dict[str, Any] | None) -> RevisionData:
    """The posted editor as a RevisionForm body. `filed_label` is the label the revision
    has filed, kept when the form says to keep it."""
    renames: list[tuple[str, str]] = []
    classification: list[dict[str, str]] = []
    for (class_id, category), found in reference().categories.items():
        if form.get(checkbox_name(class_id, category)) != "on":
            continue
        item = {"class": class_id, "category": category}
        hazard = form.text(hazard_name(class_id, category))
        if hazard is not None and hazard_choices(found):
            item["hazard"] = hazard
        at = f"classification[{len(classification)}]"
        renames += [
            (f"{at}.hazard", hazard_name(class_id, category)),
            (at, checkbox_name(class_id, category)),
        ]
        classification.append(item)
    sections: list[dict[str, object]] = []
    for number, name, _zh, _en in SECTIONS:
        text = _bilingual(form, name)
        if text is not None:
            renames.append((f"sds.sections[{len(sections)}].body", name))
            sections.append({"number": number, "body": text})
    sds: dict[str, object] = {"sections": sections}
    supplier = {
        "name": _bilingual(form, "sds.supplier.name"),
        "address": _bilingual(form, "sds.supplier.address"),
        "phone": form.text("sds.supplier.phone"),
        "emergency_phone": form.text("sds.supplier.emergency_phone"),
    }
    if any(value is not None for value in supplier.values()):
        # Given at all, given whole: each part left out is named beside its input.
        sds["supplier"] = {
            key: value if value is not None else ({"zh": ""} if key in ("name", "address") else "")
            for key, value in supplier.items()
        }
    first_aid = {r: _bilingual(form, f"sds.first_aid.{r}") for r in EXPOSURE_ROUTES}
    sds["first_aid"] = {route: text for route, text in first_aid.items() if text is not None}
    for part in ("fire_fighting", "spill_response", "protective_equipment"):
        sds[part] = _bilingual(form, f"sds.{part}")
    transport = {
        "proper_shipping_name": _bilingual(form, "sds.transport.proper_shipping_name"),
        "transport_class": form.text("sds.transport.transport_class"),
        "packing_group": form.text("sds.transport.packing_group"),
        "emergency_measures": _bilingual(form, "sds.transport.emergency_measures"),
    }
    sds["transport"] = transport if any(v is not None for v in transport.values()) else None
    keep_filed = filed_label is not None and form.get("label_mode") != LABEL_DERIVED
    body: dict[str, object] = {
        "classification": classification,
        "label": filed_label if keep_filed else None,
        "sds": sds,
    }
    return RevisionData(body, renames)


def _bilingual(form: Posted, name: str) -> dict[str, str | None] | None:
    """A text in Chinese and English; None when both are blank. English alone is sent
    with an empty Chinese text, so the registry names the Chinese one as missing."""
    zh, en = form.text(f"{name}.zh"), form.text(f"{name}.en")
    if zh is None and en is None:
        return None
    return {"zh": zh or "", "en": en}


def renamed(fields: dict[str, str], renames: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Error paths of the body sent, as the names of the form's inputs."""
    ordered = sorted(renames, key=lambda rename: -len(rename[0]))
    result: dict[str, str] = {}
    for path, message in fields.items():
        for sent, typed in ordered:
            if path == sent or path.startswith((sent + ".", sent + "[")):
                path = typed + path[len(sent) :]
                break
        result[path] = message
    return result


# --- what blocks submission, each tied to its input --------------------------------------


@dataclass(frozen=True, slots=True)
class Blocker:
    anchor: str  # the id of the input (or part of the page) to fix it at
    what: tuple[str, str]  # (Chinese, English) name of the field
    message: str


# `revision_problems` says "section 3, 4 missing": the first is where to start.
_MISSING_SECTIONS = re.compile(r"section (\d{1,2})[\d, ]* missing")


def _field_names() -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for number, name, zh, en in SECTIONS:
        names[name] = (f"第 {number} 节 {zh}", f"Section {number}: {en}")
    for group in TEXT_GROUPS:
        for text in group.inputs:
            names[text.name] = (f"{group.zh}：{text.zh}", f"{group.en}: {text.en}")
    return names


def blockers(problems: dict[str, str], classification: list[dict[str, Any]]) -> list[Blocker]:
    """The registry's reasons a draft cannot be submitted (`revision_problems`), each with
    the input it is fixed at. Messages are the registry's own."""
    names = _field_names()
    found: list[Blocker] = []
    for path, message in problems.items():
        found.append(_blocker(path, message, classification, names))
    return found


def _blocker(
    path: str,
    message: str,
    classification: list[dict[str, Any]],
    names: dict[str, tuple[str, str]],
) -> Blocker:
    if path.startswith("classification"):
        entry = _entry_of(path, classification)
        if entry is not None:
            class_id, category = entry
            ref = reference()
            known = ref.categories.get((class_id, category))
            what = (
                (known.label_zh, known.label_en)
                if known is not None
                else (f"{class_id} {category}", f"{class_id} {category}")
            )
            return Blocker(input_id(checkbox_name(class_id, category)), what, message)
        return Blocker("f-classification", ("危险性分类", "Classification"), message)
    if path.startswith("label"):
        return Blocker("f-label", ("已申报的标签", "The filed label"), f"{path}: {message}")
    if path == "sds.sections":
        missing = _MISSING_SECTIONS.search(message)
        first = None if missing is None else int(missing.group(1))
        anchor = input_id(section_name(first) + ".zh") if first else "f-sds-sections"
        return Blocker(anchor, ("安全技术说明书的 16 节", "The 16 SDS sections"), message)
    if path == "sds.supplier":
        return Blocker(input_id("sds.supplier.name.zh"), ("供应商", "Supplier"), message)
    base = path.removeprefix("record.")
    for name, what in names.items():
        if base == name.removeprefix("sds.") or path == name:
            anchor = name + (".zh" if _is_bilingual(name) else "")
            return Blocker(input_id(anchor), what, message)
    return Blocker("f-sds", (path, path), message)


def _entry_of(path: str, classification: list[dict[str, Any]]) -> tuple[str, str] | None:
    rest = path.removeprefix("classification")
    if not rest.startswith("["):
        return None
    index = rest[1:].partition("]")[0]
    if not index.isdigit() or int(index) >= len(classification):
        return None
    item = classification[int(index)]
    return str(item.get("class")), str(item.get("category"))


def _is_bilingual(name: str) -> bool:
    for group in TEXT_GROUPS:
        for text in group.inputs:
            if text.name == name:
                return text.bilingual
    return name.startswith("sds.sections.")
