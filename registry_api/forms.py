"""Request bodies: JSON read into typed forms, with every bad field named (422).

Unknown fields are refused too, so a misspelt field is an error rather than silently
ignored. The models double as the OpenAPI schemas of the bodies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.requests import Request

from registry_api import validators
from registry_api.accounts import Level, Role
from registry_api.errors import RegistryError, ValidationFailed

_Form = TypeVar("_Form", bound=BaseModel)


def _checked(check: Callable[[str], str]) -> AfterValidator:
    def run(value: str) -> str:
        try:
            return check(value)
        except validators.InvalidValue as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(run)


Mobile = Annotated[str, Field(max_length=32), _checked(validators.mobile_number)]
Phone = Annotated[str, Field(max_length=32), _checked(validators.phone_number)]
ResidentId = Annotated[str, Field(max_length=32), _checked(validators.resident_id_number)]
Name = Annotated[str, Field(min_length=1, max_length=50)]
Password = Annotated[str, Field(min_length=1, max_length=256)]


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class LoginForm(Form):
    mobile: Mobile
    password: Password


class PasswordChangeForm(Form):
    current_password: Password
    new_password: Password


class RegulatorForm(Form):
    mobile: Mobile
    name: Name
    role: Role
    level: Level
    jurisdiction_id: Annotated[str, Field(pattern=r"^[0-9]{6}(P[0-9]{2,4})?$")]
    work_unit: Annotated[str, Field(min_length=4, max_length=100)]  # the full official name
    position: Annotated[str, Field(max_length=50)] | None = None
    office_phone: Phone | None = None
    resident_id: ResidentId | None = None
    remark: Annotated[str, Field(max_length=500)] | None = None


class ParkForm(Form):
    name: Annotated[str, Field(min_length=2, max_length=100)]


async def read_form(request: Request, form: type[_Form]) -> _Form:
    """The body as `form`; raises `ValidationFailed` naming every bad field."""
    body = await request.body()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be an object"})
    try:
        return form.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            path = field_path(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            fields.setdefault(path, message)
        raise ValidationFailed(f"{len(fields)} field(s) are not valid", fields) from None


def field_path(location: tuple[int | str, ...]) -> str:
    """A field's path as every error of the product writes it: `kinds[1]`, `a.b[0].c`."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "body"


class EnterpriseKind(StrEnum):
    PRODUCER = "producer"
    IMPORTER = "importer"
    CHEMICAL = "chemical"
    PHARMACEUTICAL = "pharmaceutical"


Uscc = Annotated[str, Field(max_length=32), _checked(validators.unified_social_credit_code)]
IndustryCode = Annotated[str, Field(pattern=r"^[0-9]{4}$")]
Kinds = Annotated[list[EnterpriseKind], Field(min_length=1, max_length=4)]


class EnterpriseApplicationForm(Form):
    uscc: Uscc
    name: Annotated[str, Field(min_length=4, max_length=100)]
    county_id: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    address: Annotated[str, Field(min_length=4, max_length=200)]
    kinds: Kinds
    industry_code: IndustryCode
    contact_name: Name
    contact_mobile: Mobile


class DecisionForm(Form):
    reason: Annotated[str, Field(min_length=2, max_length=500)]


class AgingInstallation(Form):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    year_commissioned: Annotated[int, Field(ge=1949, le=2100)]
    status: Annotated[str, Field(min_length=1, max_length=50)]  # in use, idle, being replaced


class EnterpriseUpdateForm(Form):
    """Annex 3 fields and the extra items; every field optional, only those given change."""

    name: Annotated[str, Field(min_length=4, max_length=100)] | None = None
    address: Annotated[str, Field(min_length=4, max_length=200)] | None = None
    industry_code: IndustryCode | None = None
    park_id: Annotated[str, Field(pattern=r"^[0-9]{6}P[0-9]{2,4}$")] | None = None
    responsible_person: Name | None = None
    safety_head: Name | None = None
    safety_head_phone: Phone | None = None
    emergency_phone: Phone | None = None
    aging_installations: Annotated[list[AgingInstallation], Field(max_length=100)] | None = None


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


Cas = Annotated[str, Field(max_length=16), _checked(validators.cas_number)]
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


# A row id: what PostgreSQL's bigint holds.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class RegistrationForm(Form):
    kind: Literal["new", "change", "renewal"]
    revision_ids: Annotated[list[RowId], Field(max_length=200)] = []
    resubmission_of: RowId | None = None


class InfoUpdateForm(Form):
    changes: EnterpriseUpdateForm
    resubmission_of: RowId | None = None


class DeregistrationForm(Form):
    reason: Annotated[str, Field(min_length=2, max_length=500)]
    resubmission_of: RowId | None = None


class CodeStatusForm(Form):
    reason: Annotated[str, Field(min_length=2, max_length=500)]
