"""The public record of a code: what a scan shows, read from plain JSON-like data.

The registry builds it from the approved revision and hands it to `publish`. Every text
a person reads is bilingual (`{"zh": ..., "en": ...}`, English optional: pages fall back
to Chinese). `parse_record` checks everything at once and names every bad field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from codesvc.errors import CodesvcError
from ghs.reference import PICTOGRAMS, PRECAUTION_GROUPS, SIGNAL_WORDS

Lang = Literal["zh", "en"]
VIEWS = ("label", "sds", "transport", "emergency")
EXPOSURE_ROUTES = ("inhalation", "skin", "eyes", "ingestion")
PACKING_GROUPS = ("I", "II", "III")
SDS_SECTIONS = 16
# The sections of GB/T 16483-2012, in order: (Chinese title, English title).
SDS_TITLES = [
    ("化学品及企业标识", "Identification"),
    ("危险性概述", "Hazards identification"),
    ("成分/组成信息", "Composition"),
    ("急救措施", "First-aid measures"),
    ("消防措施", "Fire-fighting measures"),
    ("泄漏应急处理", "Accidental release measures"),
    ("操作处置与储存", "Handling and storage"),
    ("接触控制和个体防护", "Exposure controls"),
    ("理化特性", "Physical and chemical properties"),
    ("稳定性和反应性", "Stability and reactivity"),
    ("毒理学信息", "Toxicological information"),
    ("生态学信息", "Ecological information"),
    ("废弃处置", "Disposal considerations"),
    ("运输信息", "Transport information"),
    ("法规信息", "Regulatory information"),
    ("其他信息", "Other information"),
]
_MAX_TEXT = 20_000
_MAX_ITEMS = 100
_PHONE = re.compile(r"[0-9+()\- ]{3,30}")
_UN_NUMBER = re.compile(r"UN\d{4}")
_CAS = re.compile(r"\d{2,7}-\d{2}-\d")
_STATEMENT_CODE = re.compile(r"[HP]\d{3}(\+[HP]\d{3})*|EUH\d{3}")


class RecordError(CodesvcError):
    """A record that cannot be published; `fields` maps each bad field's path to why."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        summary = "; ".join(f"{k}: {v}" for k, v in list(self.fields.items())[:5])
        super().__init__(f"the record has {len(self.fields)} bad field(s): {summary}")


@dataclass(frozen=True, slots=True)
class Text:
    zh: str
    en: str | None = None

    def in_lang(self, lang: Lang) -> str:
        return self.en if lang == "en" and self.en else self.zh


@dataclass(frozen=True, slots=True)
class Statement:
    code: str
    text: Text


@dataclass(frozen=True, slots=True)
class Component:
    """A hazardous component of a mixture, as the label names it (GB 15258 4.2.1)."""

    name: Text
    cas: str | None
    concentration: str  # as the supplier states it: "30%", "10-25%"


@dataclass(frozen=True, slots=True)
class Label:
    pictograms: tuple[str, ...]
    signal_word: str | None
    hazard_statements: tuple[Statement, ...]
    precautionary_statements: dict[str, tuple[Statement, ...]]  # by PRECAUTION_GROUPS
    components: tuple[Component, ...] = ()


@dataclass(frozen=True, slots=True)
class SdsSection:
    number: int
    title: Text
    body: Text


@dataclass(frozen=True, slots=True)
class Transport:
    un_number: str | None
    proper_shipping_name: Text | None
    transport_class: str | None
    packing_group: str | None
    emergency_measures: Text | None


@dataclass(frozen=True, slots=True)
class Emergency:
    first_aid: dict[str, Text]  # by EXPOSURE_ROUTES
    fire_fighting: Text | None
    spill_response: Text | None
    protective_equipment: Text | None


@dataclass(frozen=True, slots=True)
class Supplier:
    name: Text
    address: Text
    phone: str
    emergency_phone: str  # 24 hours


@dataclass(frozen=True, slots=True)
class PublicRecord:
    product_name: Text
    revision: str
    approved_on: date
    label: Label
    sds: tuple[SdsSection, ...]
    transport: Transport
    emergency: Emergency
    supplier: Supplier


@dataclass
class _Reader:
    """Walks the input, collecting every problem instead of stopping at the first."""

    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if isinstance(value, Mapping):
            return value
        self.fail(path, "must be an object")
        return {}

    def string(self, value: object, path: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be non-empty text")
            return None
        if len(value) > _MAX_TEXT:
            self.fail(path, f"must be at most {_MAX_TEXT} characters")
            return None
        return value.strip()

    def matching(self, value: object, path: str, pattern: re.Pattern[str], what: str) -> str | None:
        text = self.string(value, path, optional=True)
        if text is not None and not pattern.fullmatch(text):
            self.fail(path, f"must be {what}")
            return None
        return text

    def choice(self, value: object, path: str, choices: tuple[str, ...]) -> str | None:
        if value is None:
            return None
        if value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}")
            return None
        return str(value)

    def text(self, value: object, path: str, *, optional: bool = False) -> Text | None:
        if value is None and optional:
            return None
        if isinstance(value, str):  # Chinese only
            zh = self.string(value, path)
            return None if zh is None else Text(zh)
        data = self.mapping(value, path)
        zh = self.string(data.get("zh"), f"{path}.zh")
        en = self.string(data.get("en"), f"{path}.en", optional=True)
        return None if zh is None else Text(zh, en)

    def items(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, "must be a list")
            return []
        if len(value) > _MAX_ITEMS:
            self.fail(path, f"must have at most {_MAX_ITEMS} entries")
            return []
        return value

    def statements(self, value: object, path: str) -> tuple[Statement, ...]:
        result = []
        for i, item in enumerate(self.items(value, path)):
            data = self.mapping(item, f"{path}[{i}]")
            code = self.matching(
                data.get("code"), f"{path}[{i}].code", _STATEMENT_CODE, "a GHS code like H225"
            )
            text = self.text(data.get("text"), f"{path}[{i}].text")
            if code is not None and text is not None:
                result.append(Statement(code, text))
        return tuple(result)


def parse_record(data: object) -> PublicRecord:
    """The record in `data`; raises `RecordError` naming every bad field."""
    read = _Reader()
    root = read.mapping(data, "record")
    record = _build(read, root)
    if read.errors or record is None:
        raise RecordError(read.errors or {"record": "is incomplete"})
    return record


def _build(read: _Reader, root: Mapping[str, Any]) -> PublicRecord | None:
    product_name = read.text(root.get("product_name"), "product_name")
    revision = read.string(root.get("revision"), "revision")
    approved_on = _date(read, root.get("approved_on"), "approved_on")

    label_data = read.mapping(root.get("label"), "label")
    pictograms = tuple(
        p
        for i, p in enumerate(read.items(label_data.get("pictograms"), "label.pictograms"))
        if read.choice(p, f"label.pictograms[{i}]", PICTOGRAMS) is not None
    )
    precaution_data = read.mapping(
        label_data.get("precautionary_statements", {}), "label.precautionary_statements"
    )
    for group in precaution_data:
        if group not in PRECAUTION_GROUPS:
            read.fail(f"label.precautionary_statements.{group}", "is not a precaution group")
    label = Label(
        pictograms=pictograms,
        signal_word=read.choice(label_data.get("signal_word"), "label.signal_word", SIGNAL_WORDS),
        hazard_statements=read.statements(
            label_data.get("hazard_statements"), "label.hazard_statements"
        ),
        precautionary_statements={
            group: read.statements(
                precaution_data.get(group), f"label.precautionary_statements.{group}"
            )
            for group in PRECAUTION_GROUPS
        },
        components=_components(read, label_data.get("components"), "label.components"),
    )

    sections = []
    for i, item in enumerate(read.items(root.get("sds"), "sds")):
        data = read.mapping(item, f"sds[{i}]")
        number = data.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 16:
            read.fail(f"sds[{i}].number", "must be a section number from 1 to 16")
            continue
        title = read.text(data.get("title"), f"sds[{i}].title")
        body = read.text(data.get("body"), f"sds[{i}].body")
        if title and body:
            sections.append(SdsSection(number, title, body))
    numbers = sorted(s.number for s in sections)
    sds_ok = not any(path.startswith("sds") for path in read.errors)
    if sds_ok and numbers != list(range(1, SDS_SECTIONS + 1)):
        read.fail("sds", "must have the 16 sections of GB/T 16483, each once")

    transport_data = read.mapping(root.get("transport", {}), "transport")
    transport = Transport(
        un_number=read.matching(
            transport_data.get("un_number"), "transport.un_number", _UN_NUMBER, "like UN1230"
        ),
        proper_shipping_name=read.text(
            transport_data.get("proper_shipping_name"),
            "transport.proper_shipping_name",
            optional=True,
        ),
        transport_class=read.string(
            transport_data.get("transport_class"), "transport.transport_class", optional=True
        ),
        packing_group=read.choice(
            transport_data.get("packing_group"), "transport.packing_group", PACKING_GROUPS
        ),
        emergency_measures=read.text(
            transport_data.get("emergency_measures"), "transport.emergency_measures", optional=True
        ),
    )

    emergency_data = read.mapping(root.get("emergency", {}), "emergency")
    first_aid_data = read.mapping(emergency_data.get("first_aid", {}), "emergency.first_aid")
    first_aid = {}
    for route, value in first_aid_data.items():
        if route not in EXPOSURE_ROUTES:
            read.fail(f"emergency.first_aid.{route}", "is not a route of exposure")
            continue
        text = read.text(value, f"emergency.first_aid.{route}")
        if text is not None:
            first_aid[route] = text
    emergency = Emergency(
        first_aid=first_aid,
        fire_fighting=read.text(
            emergency_data.get("fire_fighting"), "emergency.fire_fighting", optional=True
        ),
        spill_response=read.text(
            emergency_data.get("spill_response"), "emergency.spill_response", optional=True
        ),
        protective_equipment=read.text(
            emergency_data.get("protective_equipment"),
            "emergency.protective_equipment",
            optional=True,
        ),
    )

    supplier_data = read.mapping(root.get("supplier"), "supplier")
    supplier_name = read.text(supplier_data.get("name"), "supplier.name")
    supplier_address = read.text(supplier_data.get("address"), "supplier.address")
    phone = read.matching(supplier_data.get("phone"), "supplier.phone", _PHONE, "a phone number")
    emergency_phone = read.matching(
        supplier_data.get("emergency_phone"), "supplier.emergency_phone", _PHONE, "a phone number"
    )
    if emergency_phone is None and "supplier.emergency_phone" not in read.errors:
        read.fail("supplier.emergency_phone", "is required: the 24-hour emergency phone")
    if phone is None and "supplier.phone" not in read.errors:
        read.fail("supplier.phone", "is required")

    if (
        product_name is None
        or revision is None
        or approved_on is None
        or supplier_name is None
        or supplier_address is None
        or phone is None
        or emergency_phone is None
    ):
        return None
    return PublicRecord(
        product_name=product_name,
        revision=revision,
        approved_on=approved_on,
        label=label,
        sds=tuple(sorted(sections, key=lambda s: s.number)),
        transport=transport,
        emergency=emergency,
        supplier=Supplier(supplier_name, supplier_address, phone, emergency_phone),
    )


def _components(read: _Reader, value: object, path: str) -> tuple[Component, ...]:
    result = []
    for i, item in enumerate(read.items(value, path)):
        data = read.mapping(item, f"{path}[{i}]")
        name = read.text(data.get("name"), f"{path}[{i}].name")
        cas = read.matching(data.get("cas"), f"{path}[{i}].cas", _CAS, "a CAS number like 67-64-1")
        concentration = read.string(data.get("concentration"), f"{path}[{i}].concentration")
        if name is not None and concentration is not None:
            result.append(Component(name, cas, concentration))
    return tuple(result)


def _date(read: _Reader, value: object, path: str) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    read.fail(path, "must be a date like 2026-11-28")
    return None


def record_as_json(record: PublicRecord) -> dict[str, Any]:
    """The record as plain JSON data; `parse_record` reads it back to an equal record."""

    def text(value: Text | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {"zh": value.zh, **({"en": value.en} if value.en else {})}

    def statements(items: tuple[Statement, ...]) -> list[dict[str, Any]]:
        return [{"code": s.code, "text": text(s.text)} for s in items]

    return {
        "product_name": text(record.product_name),
        "revision": record.revision,
        "approved_on": record.approved_on.isoformat(),
        "label": {
            "pictograms": list(record.label.pictograms),
            "signal_word": record.label.signal_word,
            "hazard_statements": statements(record.label.hazard_statements),
            "precautionary_statements": {
                group: statements(items)
                for group, items in record.label.precautionary_statements.items()
            },
            "components": [
                {"name": text(c.name), "cas": c.cas, "concentration": c.concentration}
                for c in record.label.components
            ],
        },
        "sds": [
            {"number": s.number, "title": text(s.title), "body": text(s.body)} for s in record.sds
        ],
        "transport": {
            "un_number": record.transport.un_number,
            "proper_shipping_name": text(record.transport.proper_shipping_name),
            "transport_class": record.transport.transport_class,
            "packing_group": record.transport.packing_group,
            "emergency_measures": text(record.transport.emergency_measures),
        },
        "emergency": {
            "first_aid": {route: text(t) for route, t in record.emergency.first_aid.items()},
            "fire_fighting": text(record.emergency.fire_fighting),
            "spill_response": text(record.emergency.spill_response),
            "protective_equipment": text(record.emergency.protective_equipment),
        },
        "supplier": {
            "name": text(record.supplier.name),
            "address": text(record.supplier.address),
            "phone": record.supplier.phone,
            "emergency_phone": record.supplier.emergency_phone,
        },
    }
