"""The GHS endpoints, and their rows of the endpoint table: the hazard classes an enterprise
can classify under, and the label elements its classification calls for, checked against
the label it has (一书一签). Public: no sign-in."""

from __future__ import annotations

from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic reads only these on 3.11
    cast,
)

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict

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
from registry_api.requests import Endpoint, answer


@answer
class Texts(TypedDict):
    zh: str
    en: str


@answer
class CategoryView(TypedDict):
    category: str
    name: Texts
    hazard_statements: list[list[str]]  # per statement, the codes to choose from
    pictograms: list[str]
    signal_word: Literal["danger", "warning"] | None
    source: str


# "class" is a keyword: hence the functional form (which takes no config: extra fields
# are not refused in the document, a small loss).
HazardClassItem = TypedDict(
    "HazardClassItem", {"class": str, "name": Texts, "categories": list[CategoryView]}
)


@answer
class HazardClassList(TypedDict):
    classes: list[HazardClassItem]


@answer
class ExplainedElement(TypedDict):
    code: str
    text: NotRequired[Texts]  # statements only, not pictograms
    because: list[str]  # the classifications that call for it
    rule: str


@answer
class SignalWordView(TypedDict):
    value: Literal["danger", "warning"] | None
    rule: str


@answer
class Omission(TypedDict):
    code: str
    rule: str


ClassifiedAs = TypedDict("ClassifiedAs", {"class": str, "category": str, "name": Texts})  # as above


@answer
class Conformity(TypedDict):
    conforms: bool
    problems: dict[str, str]  # by the label's field path


@answer
class DerivationView(TypedDict):
    classifications: list[ClassifiedAs]
    pictograms: list[ExplainedElement]
    signal_word: SignalWordView
    hazard_statements: list[ExplainedElement]
    precautionary_statements: dict[str, list[ExplainedElement]]
    omitted: list[Omission]
    label: dict[str, Any]  # the same, in the shape of a published record's label
    conformity: NotRequired[Conformity]  # when a label was sent


async def hazard_classes(request: Request) -> Response:
    """Every hazard class with its categories and their label elements."""
    ref = reference()
    classes: dict[str, HazardClassItem] = {}
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
                "signal_word": cast(Literal["danger", "warning"] | None, category.signal_word),
                "source": category.source,
            }
        )
    body: HazardClassList = {"classes": list(classes.values())}
    return JSONResponse(body)


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


def derivation_json(derived: DerivedLabel, ref: Reference) -> DerivationView:
    def explained(element: Element, with_text: bool = True) -> ExplainedElement:
        view: ExplainedElement = {
            "code": element.code,
            "because": list(element.because),
            "rule": element.rule,
        }
        if with_text:
            statement = ref.statement(element.code)
            view["text"] = {"zh": statement.zh, "en": statement.en}
        return view

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
        "signal_word": {
            "value": cast(Literal["danger", "warning"] | None, derived.signal_word),
            "rule": derived.signal_rule,
        },
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
             response=HazardClassList, public=True, database=False),
    Endpoint("POST", "/ghs/derive", derive,
             "Label elements of a GHS classification, each with its rule; with `label`, "
             "whether that label conforms (public)", DeriveForm, (200, 422), DerivationView,
             public=True,
             database=False),
)  # fmt: skip
