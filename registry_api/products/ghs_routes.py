"""The GHS endpoints, and their rows of the endpoint table: the hazard classes an enterprise
can classify under, and the label elements its classification calls for, checked against
the label it has (一书一签). Public: no sign-in."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ghs.conformity import check_label
from ghs.derivation import (
    ClassificationError,
    DerivedLabel,
    Element,
    derive_label,
    label_elements,
    parse_classifications,
)
from ghs.reference import Reference, reference
from registry_api.errors import ValidationFailed
from registry_api.forms import read_form
from registry_api.products.forms import DeriveForm
from registry_api.requests import Endpoint


async def hazard_classes(request: Request) -> Response:
    """Every hazard class with its categories and their label elements."""
    ref = reference()
    classes: dict[str, dict[str, Any]] = {}
    for category in ref.categories.values():
        cls = category.hazard_class
        entry = classes.setdefault(
            cls.id, {"class": cls.id, "name": {"zh": cls.zh, "en": cls.en}, "categories": []}
        )
        entry["categories"].append(
            {
                "category": category.category,
                "name": {"zh": category.category_zh, "en": f"Category {category.category}"},
                "hazard_statements": [list(choices) for choices in category.hazards],
                "pictograms": list(category.pictograms),
                "signal_word": category.signal_word,
                "source": category.source,
            }
        )
    return JSONResponse({"classes": list(classes.values())})


async def derive(request: Request) -> Response:
    """The label elements of a classification, each with its rule; with `label` given, also
    whether that label conforms, every difference named."""
    form = await read_form(request, DeriveForm)
    items = [c.model_dump(by_alias=True, exclude_none=True) for c in form.classifications]
    try:
        classifications = parse_classifications(items)
    except ClassificationError as exc:
        raise ValidationFailed(str(exc), exc.fields) from None
    ref = reference()
    derived = derive_label(classifications, ref)
    body = derivation_json(derived, ref)
    if form.label is not None:
        problems = check_label(derived, form.label.model_dump(exclude_none=True), ref)
        body["conformity"] = {"conforms": not problems, "problems": problems}
    return JSONResponse(body)


def derivation_json(derived: DerivedLabel, ref: Reference) -> dict[str, Any]:
    def explained(element: Element, with_text: bool = True) -> dict[str, Any]:
        text: dict[str, Any] = {}
        if with_text:
            statement = ref.statement(element.code)
            text = {"text": {"zh": statement.zh, "en": statement.en}}
        return {
            "code": element.code,
            **text,
            "because": list(element.because),
            "rule": element.rule,
        }

    return {
        "classifications": [
            {
                "class": c.hazard_class.id,
                "category": c.category,
                "name": {"zh": c.label_zh, "en": c.label_en},
            }
            for c in derived.categories
        ],
        "pictograms": [explained(e, with_text=False) for e in derived.pictograms],
        "signal_word": {"value": derived.signal_word, "rule": derived.signal_rule},
        "hazard_statements": [explained(e) for e in derived.hazard_statements],
        "precautionary_statements": {
            group: [explained(e) for e in elements]
            for group, elements in derived.precautionary_statements.items()
        },
        "omitted": [{"code": o.code, "rule": o.rule} for o in derived.omitted],
        "label": label_elements(derived, ref),
    }


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/ghs/hazard-classes", hazard_classes,
             "GHS hazard classes and categories with their label elements (public)",
             public=True, database=False),
    Endpoint("POST", "/ghs/derive", derive,
             "Label elements of a GHS classification, each with its rule; with `label`, "
             "whether that label conforms (public)", DeriveForm, (200, 422), public=True,
             database=False),
)  # fmt: skip
