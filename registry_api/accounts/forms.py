"""Request bodies of accounts: sign-in, password change, a new regulator account."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from registry_api.accounts.rules import Level, Role
from registry_api.forms import NOT_BLANK, TRIMMED, Form, Mobile, Name, Phone, ResidentId
from registry_api.validators import END

Password = Annotated[str, Field(min_length=1, max_length=256, pattern=NOT_BLANK), TRIMMED]


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
    jurisdiction_id: Annotated[str, Field(pattern=r"^[0-9]{6}(P[0-9]{2,4})?" + END)]
    work_unit: Annotated[
        str, Field(min_length=4, max_length=100, pattern=NOT_BLANK), TRIMMED
    ]  # the full official name
    position: Annotated[str, Field(max_length=50), TRIMMED] | None = None
    office_phone: Phone | None = None
    resident_id: ResidentId | None = None
    remark: Annotated[str, Field(max_length=500), TRIMMED] | None = None
