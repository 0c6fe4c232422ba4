"""Request bodies, the part every domain shares: JSON read into typed forms with every bad
field named (422), and the field types more than one domain's forms use.

Unknown fields are refused too, so a misspelt field is an error rather than silently
ignored. The models double as the OpenAPI schemas of the bodies. Each domain's own forms
are in its `forms.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

from registry_api import validators
from registry_api.errors import RegistryError, ValidationFailed

_Form = TypeVar("_Form", bound=BaseModel)


def checked(check: Callable[[str], str]) -> AfterValidator:
    """A pydantic validator running one of `validators`' checks (its message kept)."""

    def run(value: str) -> str:
        try:
            return check(value)
        except validators.InvalidValue as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(run)


Mobile = Annotated[str, Field(max_length=32), checked(validators.mobile_number)]
Phone = Annotated[str, Field(max_length=32), checked(validators.phone_number)]
ResidentId = Annotated[str, Field(max_length=32), checked(validators.resident_id_number)]
Name = Annotated[str, Field(min_length=1, max_length=50)]
Reason = Annotated[str, Field(min_length=2, max_length=500)]
# A row id: what PostgreSQL's bigint holds.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


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
