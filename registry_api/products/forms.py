"""Request bodies of products: products, their SDS and label revisions, GHS derivations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from ghs.reference import reference
from registry_api import validators
from registry_api.forms import NOT_BLANK, TRIMMED, Form, Phone, identifier
from registry_api.products.storage import PhysicalForm


def _number_as_text(value: object) -> object:
    """Categories are text ("1A"), but a bare 2 means category "2"."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _hazard_choices(class_id: str, category: str) -> list[str]:
    """The hazard statements a category lets the enterprise choose between (H350, H350i)."""
    options = reference().categories[class_id, category].hazards
    return sorted({code for choices in options for code in choices})


def _classification_schema(schema: dict[str, Any]) -> None:
    """Each class with its own categories, and each category with its own statements to
    choose from, drawn from the GHS tables: what the validators below enforce."""
    ref = reference()
    schema["properties"]["class"] = {"type": "string", "enum": list(ref.classes)}
    schema["properties"]["category"] = {
        "type": ["string", "integer"],
        "description": "a category of the class (GET /api/v1/ghs/hazard-classes); "
        "a whole number stands for its text",
    }
    schema["properties"]["hazard"] = {
        "type": ["string", "null"],
        "description": "where the category offers a choice of statement, the one chosen",
    }
    branches = []
    for class_id, category in ref.categories:
        categories: list[str | int] = [category]
        if category.isdigit():
            categories.append(int(category))
        branches.append(
            {
                "properties": {
                    "class": {"const": class_id},
                    "category": {"enum": categories},
                    "hazard": {"enum": [*_hazard_choices(class_id, category), None]},
                }
            }
        )
    schema["anyOf"] = branches


class ClassificationForm(Form):
    """A hazard class and category of the GHS tables (GET /api/v1/ghs/hazard-classes)."""

    model_config = ConfigDict(json_schema_extra=_classification_schema)

    hazard_class: Annotated[str, Field(alias="class")]
    category: Annotated[str, BeforeValidator(_number_as_text)]
    hazard: str | None = None  # a choice, such as H350i

    @field_validator("hazard_class")
    @classmethod
    def _known_class(cls, class_id: str) -> str:
        if class_id not in reference().classes:
            raise ValueError(
                f"{class_id[:64]!r} is not a GHS hazard class; see GET /api/v1/ghs/hazard-classes"
            )
        return class_id

    @field_validator("category")
    @classmethod
    def _category_of_the_class(cls, category: str, info: ValidationInfo) -> str:
        class_id = info.data.get("hazard_class")
        if class_id is not None and (class_id, category) not in reference().categories:
            known = ", ".join(reference().categories_of(class_id))
            raise ValueError(f"{category[:32]!r} is not a category of {class_id}; it has {known}")
        return category

    @field_validator("hazard")
    @classmethod
    def _choice_of_the_category(cls, hazard: str | None, info: ValidationInfo) -> str | None:
        key = (info.data.get("hazard_class"), info.data.get("category"))
        if hazard is None or key not in reference().categories:
            return hazard
        choices = _hazard_choices(*key)
        if hazard not in choices:
            offered = ", ".join(choices) or "none"
            raise ValueError(f"must be one of the statements of the category: {offered}")
        return hazard


LongText = Annotated[str, Field(max_length=2000), TRIMMED]


class BilingualText(Form):
    zh: Annotated[str, Field(min_length=1, max_length=2000, pattern=NOT_BLANK), TRIMMED]
    en: LongText | None = None


_CAS = identifier(
    validators.cas_number,
    validators.CAS,
    "a CAS registry number, 7732-18-5, its last digit the check digit",
    example="67-64-1",
    format_name="cas-registry-number",
)
Cas = Annotated[str, *_CAS]
ShortText = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK), TRIMMED]


class ComponentForm(Form):
    """A hazardous component of a mixture, as its label names it."""

    name: BilingualText
    cas: Cas | None = None
    concentration: Annotated[
        str, Field(min_length=1, max_length=30, pattern=NOT_BLANK), TRIMMED
    ]  # "30%", "10-25%"


StatementCode = Annotated[str, Field(min_length=1, max_length=40, pattern=NOT_BLANK), TRIMMED]


class StatementForm(Form):
    code: StatementCode
    text: BilingualText | LongText | None = None


Statements = Annotated[list[StatementForm | StatementCode], Field(max_length=60)]


class SubmittedLabelForm(Form):
    """A label as an enterprise submits it (a published record's label shape)."""

    pictograms: Annotated[
        list[Annotated[str, Field(max_length=8), TRIMMED]], Field(max_length=9)
    ] = []
    signal_word: Literal["danger", "warning"] | None = None
    hazard_statements: Statements = []
    precautionary_statements: dict[
        Literal["prevention", "response", "storage", "disposal"], Statements
    ] = {}
    # As a published record's label has them; the product's own components are published.
    components: Annotated[list[ComponentForm], Field(max_length=50)] | None = None


class DeriveForm(Form):
    classifications: Annotated[list[ClassificationForm], Field(min_length=1, max_length=60)]
    label: SubmittedLabelForm | None = None


class ProductForm(Form):
    """A product names what it is: CAS numbers, or the components of a mixture."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name_zh": "丙酮",
                    "name_en": "Acetone",
                    "cas_numbers": ["67-64-1"],
                    "un_number": "UN1090",
                    "physical_form": "liquid",
                }
            ],
            "anyOf": [
                {"required": ["cas_numbers"], "properties": {"cas_numbers": {"minItems": 1}}},
                {"required": ["components"], "properties": {"components": {"minItems": 1}}},
            ],
        }
    )

    name_zh: ShortText
    name_en: ShortText | None = None
    cas_numbers: Annotated[list[Cas], Field(max_length=20)] = []
    components: Annotated[list[ComponentForm], Field(max_length=50)] = []
    un_number: Annotated[str, Field(pattern=r"^UN[0-9]{4}" + validators.END)] | None = None
    catalogue_number: Annotated[int, Field(ge=1, le=2828)] | None = None  # 危险化学品目录 (2015)
    highly_toxic: bool = False  # 剧毒
    physical_form: PhysicalForm


class SdsSectionForm(Form):
    number: Annotated[int, Field(ge=1, le=16)]
    body: BilingualText


class SupplierForm(Form):
    name: BilingualText
    address: BilingualText
    phone: Phone
    emergency_phone: Phone  # 24 hours


class TransportForm(Form):
    proper_shipping_name: BilingualText | None = None
    transport_class: Annotated[str, Field(max_length=20), TRIMMED] | None = None
    packing_group: Literal["I", "II", "III"] | None = None
    emergency_measures: BilingualText | None = None


class SdsForm(Form):
    """The SDS of GB/T 16483: the 16 sections' text, and the structured parts the label,
    transport and emergency views are made of."""

    sections: Annotated[list[SdsSectionForm], Field(max_length=16)] = []
    supplier: SupplierForm | None = None
    first_aid: dict[Literal["inhalation", "skin", "eyes", "ingestion"], BilingualText] = {}
    fire_fighting: BilingualText | None = None
    spill_response: BilingualText | None = None
    protective_equipment: BilingualText | None = None
    transport: TransportForm | None = None


class RevisionForm(Form):
    """A draft revision: saved as it is, checked whole when submitted."""

    classification: Annotated[list[ClassificationForm], Field(max_length=60)] = []
    label: SubmittedLabelForm | None = None  # None: the label derived from the classification
    sds: SdsForm = SdsForm()
