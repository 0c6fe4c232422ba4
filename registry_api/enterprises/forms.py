"""Request bodies of enterprises: the public application, a decision on it, record updates."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from registry_api import validators
from registry_api.forms import Form, Mobile, Name, Phone, Reason, checked


class EnterpriseKind(StrEnum):
    PRODUCER = "producer"
    IMPORTER = "importer"
    CHEMICAL = "chemical"
    PHARMACEUTICAL = "pharmaceutical"


Uscc = Annotated[str, Field(max_length=32), checked(validators.unified_social_credit_code)]
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
    reason: Reason


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
