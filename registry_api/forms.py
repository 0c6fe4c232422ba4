"""Request bodies, the part every domain shares: JSON read into typed forms with every bad
field named (422), and the field types more than one domain's forms use.

Unknown fields are refused too, so a misspelt field is an error rather than silently
ignored. The models double as the OpenAPI schemas of the bodies. Each domain's own forms
are in its `forms.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo
from starlette.requests import Request

from registry_api import validators
from registry_api.errors import RegistryError, UnsupportedMediaType, ValidationFailed

_Form = TypeVar("_Form", bound=BaseModel)


def identifier(
    check: Callable[[str], str],
    expression: str,
    description: str,
    *,
    example: str,
    format_name: str | None = None,
) -> tuple[FieldInfo, AfterValidator]:
    """The metadata of an identifier field: the document shows `expression` (a `validators`
    pattern) and `format_name` with `description`; the server runs `check`, whose message
    says what is wrong better than "does not match the pattern" would. `example` is a valid
    value: what clients (and schemathesis) take where the format needs more than a pattern.
    The pattern bounds the length (at most 41 characters), so no maxLength is given."""
    extra: dict[str, JsonValue] = {"pattern": validators.document_pattern(expression)}
    if format_name is not None:
        extra["format"] = format_name

    def run(value: str) -> str:
        try:
            return check(value)
        except validators.InvalidValue as exc:
            raise ValueError(str(exc)) from None

    field = Field(description=description, examples=[example], json_schema_extra=extra)
    return field, AfterValidator(run)


_MOBILE = identifier(
    validators.mobile_number,
    validators.MOBILE,
    "a mainland mobile number, 11 digits from 13 to 19; +86, spaces and dashes allowed",
    example="13800000000",
)
_PHONE = identifier(
    validators.phone_number,
    validators.PHONE,
    "a landline with its area code (0351-1234567, an extension after a dash), a mobile, "
    "or a 400/800 number; spaces allowed",
    example="0351-1234567",
)
_RESIDENT_ID = identifier(
    validators.resident_id_number,
    validators.RESIDENT_ID,
    "a resident ID number of GB 11643: a province's region code, a birth date from 1900, "
    "a sequence and the check character (0-9 or X)",
    example="11010519491231002X",
    format_name="gb11643-resident-id",
)
# Free text holds something besides white space; once the value is valid, NUL characters
# (which PostgreSQL stores in no text or JSON) are taken out and the white space around it
# trimmed, so the limits apply to what was sent, as the OpenAPI document says (the `Field`
# goes before `TRIMMED`: pydantic checks what comes after a validator on its output).
NOT_BLANK = rf"[^{validators.WHITE_SPACE}\x00]"


def _trimmed(value: str) -> str:
    return value.replace("\x00", "").strip()


TRIMMED = AfterValidator(_trimmed)

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> date:
    if not isinstance(value, str) or _ISO_DAY.fullmatch(value) is None:
        raise ValueError("must be a date written YYYY-MM-DD, such as 2026-11-05")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a day of the calendar") from None


# A day as ISO text only (pydantic would also take a number of seconds since 1970).
IsoDay = Annotated[
    date, BeforeValidator(_iso_day), WithJsonSchema({"type": "string", "format": "date"})
]
Mobile = Annotated[str, *_MOBILE]
Phone = Annotated[str, *_PHONE]
ResidentId = Annotated[str, *_RESIDENT_ID]
Name = Annotated[str, Field(min_length=1, max_length=50, pattern=NOT_BLANK), TRIMMED]
Reason = Annotated[str, Field(min_length=2, max_length=500, pattern=NOT_BLANK), TRIMMED]
# A row id: what PostgreSQL's bigint holds.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Form(BaseModel):
    # Patterns are matched by Python's `re`: the lookahead that ends a pattern
    # (`validators.END`) is beyond pydantic's default engine, and schemathesis reads the
    # document's patterns with `re` too.
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


async def read_form(request: Request, form: type[_Form]) -> _Form:
    """The body as `form`: 415 when it is declared as anything but JSON, 400 when it is not
    JSON, 422 naming every bad field."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type and not (media_type == "application/json" or media_type.endswith("+json")):
        raise UnsupportedMediaType(
            f"the body must be JSON (Content-Type: application/json), not {media_type[:60]}"
        )
    body = await request.body()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise RegistryError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be an object"})
    return validate_form(form, data)


def validate_form(form: type[_Form], data: dict[str, object]) -> _Form:
    """`data` as `form`, or `ValidationFailed` naming every bad field by its path
    (`field_path`): what a JSON body and the console's forms both go through."""
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
