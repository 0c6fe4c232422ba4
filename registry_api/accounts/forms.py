"""Request bodies of accounts: sign-in, password change, a new regulator account."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from registry_api.accounts.rules import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Level, Role
from registry_api.forms import NOT_BLANK, TRIMMED, Form, Mobile, Name, Phone, ResidentId
from registry_api.validators import END

Password = Annotated[str, Field(min_length=1, max_length=256, pattern=NOT_BLANK), TRIMMED]


class LoginForm(Form):
    mobile: Mobile
    password: Password


class PasswordChangeForm(Form):
    current_password: Password
    # The document gives the rule's lengths; the operation checks them with the rest of the
    # rule, so one answer names everything wrong with the new password.
    new_password: Annotated[
        Password,
        Field(
            description="three of: lower case, upper case, digits, symbols; not the mobile "
            "number, not the current password",
            json_schema_extra={"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH},
        ),
    ]


class RegulatorForm(Form):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"mobile": "13900000000", "name": "张三", "role": "viewer", "level": "county",
                 "jurisdiction_id": "140105", "work_unit": "太原市小店区应急管理局"}
            ]
        }
    )  # fmt: skip

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
