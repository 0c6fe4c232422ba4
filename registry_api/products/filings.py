"""What an enterprise files for a product, checked whole, and the public record it becomes.

Pure functions: a revision is checked when it is submitted (a draft may be incomplete),
every problem named by the path of the revision's field; on final approval the same
revision becomes the record `codesvc.publish` takes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from codesvc.records import SDS_TITLES, RecordError, parse_record
from ghs.conformity import check_label
from ghs.derivation import (
    ClassificationError,
    derive_label,
    label_elements,
    parse_classifications,
)
from ghs.reference import PRECAUTION_GROUPS, reference
from registry_api.products.storage import Product, Revision


def revision_problems(product: Product, revision: Revision) -> dict[str, str]:
    """Every reason the revision cannot be submitted, by field path; empty when it can."""
    problems: dict[str, str] = {}
    try:
        classifications = parse_classifications(revision.classification)
    except ClassificationError as exc:
        problems |= {
            path.replace("classifications", "classification", 1): message
            for path, message in exc.fields.items()
        }
    else:
        if revision.label is not None:
            problems |= check_label(derive_label(classifications), revision.label)
    sds = revision.sds
    numbers = [section.get("number") for section in sds.get("sections", [])]
    missing = [n for n in range(1, len(SDS_TITLES) + 1) if n not in numbers]
    doubled = sorted({n for n in numbers if numbers.count(n) > 1})
    if missing or doubled:
        parts = [f"section {', '.join(map(str, missing))} missing"] if missing else []
        parts += [f"section {', '.join(map(str, doubled))} given twice"] if doubled else []
        problems["sds.sections"] = "; ".join(parts) + " (GB/T 16483 has 16 sections, once each)"
    if sds.get("supplier") is None:
        problems["sds.supplier"] = "is required: name, address, phone and 24-hour emergency phone"
    if product.un_number and not (sds.get("transport") or {}).get("proper_shipping_name"):
        problems["sds.transport.proper_shipping_name"] = (
            f"is required for a product with a UN number ({product.un_number})"
        )
    if not problems:
        try:
            parse_record(public_record(product, revision, date.today()))
        except RecordError as exc:  # a safety net: anything the checks above missed
            problems |= {f"record.{path}": message for path, message in exc.fields.items()}
    return problems


def public_record(product: Product, revision: Revision, approved_on: date) -> dict[str, Any]:
    """The record a scan shows for this revision (the shape `codesvc.publish` takes)."""
    sds = revision.sds
    transport = sds.get("transport") or {}
    bodies = {section["number"]: section["body"] for section in sds.get("sections", [])}
    return {
        "product_name": _text(product.name_zh, product.name_en),
        "revision": str(revision.number),
        "approved_on": approved_on.isoformat(),
        "label": {**_label(revision), "components": product.components},
        "sds": [
            {"number": number, "title": {"zh": zh, "en": en}, "body": bodies[number]}
            for number, (zh, en) in enumerate(SDS_TITLES, start=1)
            if number in bodies
        ],
        "transport": {
            "un_number": product.un_number,
            "proper_shipping_name": transport.get("proper_shipping_name"),
            "transport_class": transport.get("transport_class"),
            "packing_group": transport.get("packing_group"),
            "emergency_measures": transport.get("emergency_measures"),
        },
        "emergency": {
            "first_aid": sds.get("first_aid", {}),
            "fire_fighting": sds.get("fire_fighting"),
            "spill_response": sds.get("spill_response"),
            "protective_equipment": sds.get("protective_equipment"),
        },
        "supplier": sds.get("supplier"),
    }


def _label(revision: Revision) -> dict[str, Any]:
    """The label as filed, statements given by code alone taking the reference's words; or,
    when none was filed, the label the classification calls for."""
    if revision.label is None:
        return label_elements(derive_label(parse_classifications(revision.classification)))
    filed = revision.label
    return {
        "pictograms": filed.get("pictograms", []),
        "signal_word": filed.get("signal_word"),
        "hazard_statements": [_statement(s) for s in filed.get("hazard_statements", [])],
        "precautionary_statements": {
            group: [_statement(s) for s in filed.get("precautionary_statements", {}).get(group, [])]
            for group in PRECAUTION_GROUPS
        },
    }


def _statement(item: Any) -> dict[str, Any]:
    code = item if isinstance(item, str) else item["code"]
    text = None if isinstance(item, str) else item.get("text")
    if text is None:
        statement = reference().statement(code)
        text = {"zh": statement.zh, "en": statement.en}
    return {"code": code, "text": text}


def _text(zh: str, en: str | None) -> dict[str, str]:
    return {"zh": zh, **({"en": en} if en else {})}
