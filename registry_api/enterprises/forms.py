"""Request bodies of enterprises: the public application, a decision on it, record updates."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from registry_api import validators
from registry_api.enterprises.permits import PermitKind
from registry_api.enterprises.reference import (
    CHEMICAL_AND_PHARMA_CLASSES,
    county_codes,
    industry_classes,
)
from registry_api.forms import (
    NOT_BLANK,
    TRIMMED,
    Form,
    IsoDay,
    Mobile,
    Name,
    Phone,
    Reason,
    RowId,
    identifier,
)
from registry_api.validators import END


class EnterpriseKind(StrEnum):
    PRODUCER = "producer"
    IMPORTER = "importer"
    CHEMICAL = "chemical"
    PHARMACEUTICAL = "pharmaceutical"
    # They file no products: they record the lifecycle events of others' packages.
    LOGISTICS = "logistics"  # 道路运输企业
    USER = "user"  # 使用单位


_USCC = identifier(
    validators.unified_social_credit_code,
    validators.USCC,
    "a unified social credit code of GB 32100: 18 characters (no I, O, S, V or Z), the "
    "organisation code's check character in 17th place and the code's in 18th; spaces allowed",
    example="91350100M000100Y43",
    format_name="gb32100-uscc",
)
Uscc = Annotated[str, *_USCC]
# The schema lists the classes (and the counties below); the operations check against the
# database's tables, which hold the same codes (`reference`).
IndustryCode = Annotated[
    str,
    Field(
        min_length=4,
        max_length=4,
        description="a GB/T 4754-2017 industry class (4 digits)",
        json_schema_extra={"enum": list(industry_classes())},
    ),
]
CountyId = Annotated[
    str,
    Field(
        min_length=6,
        max_length=6,
        description="the GB/T 2260 code of a county",
        json_schema_extra={"enum": list(county_codes())},
    ),
]
Kinds = Annotated[list[EnterpriseKind], Field(min_length=1, max_length=6)]
EnterpriseName = Annotated[str, Field(min_length=4, max_length=100, pattern=NOT_BLANK), TRIMMED]
Address = Annotated[str, Field(min_length=4, max_length=200, pattern=NOT_BLANK), TRIMMED]


def _annex_1_classes(schema: dict[str, Any]) -> None:
    """A chemical or pharmaceutical enterprise names an industry class of annex 1."""
    schema["examples"] = [
        {"uscc": "91350100M000100Y43", "name": "太原示范化工有限公司", "county_id": "140105",
         "address": "山西省太原市小店区示范路1号", "kinds": ["producer", "chemical"],
         "industry_code": "2614", "contact_name": "赵六", "contact_mobile": "13700000009"}
    ]  # fmt: skip
    schema["anyOf"] = [
        {
            "properties": {
                "kinds": {"items": {"enum": ["producer", "importer", "logistics", "user"]}}
            }
        },
        {"properties": {"industry_code": {"enum": sorted(CHEMICAL_AND_PHARMA_CLASSES)}}},
    ]


class EnterpriseApplicationForm(Form):
    model_config = ConfigDict(json_schema_extra=_annex_1_classes)

    uscc: Uscc
    name: EnterpriseName
    county_id: CountyId
    address: Address
    kinds: Kinds
    industry_code: IndustryCode
    contact_name: Name
    contact_mobile: Mobile


class ApplicationStatusForm(Form):
    """A look-up of one's own application: its number and the contact mobile it gave (in the
    body: a mobile number does not belong in a URL, nor in the logs that keep URLs)."""

    application_id: RowId
    mobile: Mobile


class DecisionForm(Form):
    reason: Reason


class AgingInstallation(Form):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK), TRIMMED]
    year_commissioned: Annotated[int, Field(ge=1949, le=2100)]
    status: Annotated[
        str, Field(min_length=1, max_length=50, pattern=NOT_BLANK), TRIMMED
    ]  # in use, idle, being replaced


class Permit(Form):
    """A safety permit as the licensing authority issued it; `valid_until` is its last day."""

    kind: Annotated[
        PermitKind,
        Field(
            description="production_safety: 安全生产许可证; safe_use: 危险化学品安全使用许可证; "
            "trading: 危险化学品经营许可证"
        ),
    ]
    number: Annotated[str, Field(min_length=1, max_length=60, pattern=NOT_BLANK), TRIMMED]
    issuer: Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK), TRIMMED]
    valid_from: IsoDay
    valid_until: IsoDay

    @field_validator("valid_until")
    @classmethod
    def _not_before_valid_from(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("valid_from")  # absent when it was not valid itself
        if isinstance(start, date) and value < start:
            raise ValueError(f"must be on or after valid_from ({start.isoformat()})")
        return value


def _no_null_shown(schema: dict[str, Any]) -> None:
    """The list as the document shows it: null is refused (422), so it is not offered."""
    (listed,) = [member for member in schema.pop("anyOf") if member.get("type") != "null"]
    schema.update(listed)


def _one_change_at_least(schema: dict[str, Any]) -> None:
    """At least one field; the fields that cannot be emptied show no null default."""
    schema["minProperties"] = 1
    for field in schema["properties"].values():
        if field.get("default", "") is None and "type" in field:
            del field["default"]


class EnterpriseUpdateForm(Form):
    """Annex 3 fields and the extra items; every field optional, only those given change.
    The record's name, address, industry class, aging installations and permits cannot be
    emptied: null is refused for them (`[]` says there are none)."""

    model_config = ConfigDict(json_schema_extra=_one_change_at_least)

    name: EnterpriseName | SkipJsonSchema[None] = None
    address: Address | SkipJsonSchema[None] = None
    industry_code: IndustryCode | SkipJsonSchema[None] = None
    park_id: Annotated[str, Field(pattern=r"^[0-9]{6}P[0-9]{2,4}" + END)] | None = None
    responsible_person: Name | None = None
    safety_head: Name | None = None
    safety_head_phone: Phone | None = None
    emergency_phone: Phone | None = None
    aging_installations: (
        Annotated[list[AgingInstallation], Field(max_length=100)] | SkipJsonSchema[None]
    ) = None
    # Nullable rather than a union with a hidden None (as above): pydantic then names a bad
    # permit's field by its plain path, `permits[1].valid_until`; null is refused by the
    # operation ("cannot be emptied"), as is a kind listed twice.
    permits: Annotated[
        list[Permit] | None,
        Field(max_length=len(PermitKind), json_schema_extra=_no_null_shown),
    ] = None
