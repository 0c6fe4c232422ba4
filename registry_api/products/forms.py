"""Request bodies of products: products, their SDS and label revisions, GHS derivations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from registry_api import validators
from registry_api.forms import Form, Phone, checked


def _number_as_text(value: object) -> object:
    """Categories are text ("1A"), but a bare 2 means category "2"."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ClassificationForm(Form):
    hazard_class: Annotated[str, Field(alias="class", min_length=1, max_length=64)]
    category: Annotated[str, BeforeValidator(_number_as_text), Field(min_length=1, max_length=32)]
    hazard: Annotated[str, Field(max_length=16)] | None = None  # a choice, such as H350i


class BilingualText(Form):
    zh: Annotated[str, Field(min_length=1, max_length=2000)]
    en: Annotated[str, Field(max_length=2000)] | None = None


StatementCode = Annotated[str, Field(min_length=1, max_length=40)]


class StatementForm(Form):
    code: StatementCode
    text: BilingualText | Annotated[str, Field(max_length=2000)] | None = None


Statements = Annotated[list[StatementForm | StatementCode], Field(max_length=60)]


class SubmittedLabelForm(Form):
    """A label as an enterprise submits it (a published record's label shape)."""

    pictograms: Annotated[list[Annotated[str, Field(max_length=8)]], Field(max_length=9)] = []
    signal_word: Literal["danger", "warning"] | None = None
    hazard_statements: Statements = []
    precautionary_statements: dict[
        Literal["prevention", "response", "storage", "disposal"], Statements
    ] = {}
    components: Annotated[list[dict[str, Any]], Field(max_length=50)] | None = None  # not checked


class DeriveForm(Form):
    classifications: Annotated[list[ClassificationForm], Field(min_length=1, max_length=60)]
    label: SubmittedLabelForm | None = None


Cas = Annotated[str, Field(max_length=16), checked(validators.cas_number)]
ShortText = Annotated[str, Field(min_length=1, max_length=100)]


class ComponentForm(Form):
    """A hazardous component of a mixture, as its label names it."""

    name: BilingualText
    cas: Cas | None = None
    concentration: Annotated[str, Field(min_length=1, max_length=30)]  # "30%", "10-25%"


class ProductForm(Form):
    name_zh: ShortText
    name_en: ShortText | None = None
    cas_numbers: Annotated[list[Cas], Field(max_length=20)] = []
    components: Annotated[list[ComponentForm], Field(max_length=50)] = []
    un_number: Annotated[str, Field(pattern=r"^UN[0-9]{4}$")] | None = None
    catalogue_number: Annotated[int, Field(ge=1, le=2828)] | None = None  # 危险化学品目录 (2015)
    highly_toxic: bool = False  # 剧毒
    physical_form: Literal["solid", "liquid", "gas", "aerosol", "paste"]


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
    transport_class: Annotated[str, Field(max_length=20)] | None = None
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
