"""Request bodies and query parameters of batches (一企一批一码), their item serials
(一企一物一码) and recalls.

Numbers that must be exact (a batch's quantity, a package's capacity) are JSON numbers with
at most three decimals, read as they are written (`12.5` is 12.5, never 12.4999...); text
where a number belongs is refused, as the document says.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from codesvc.lifecycle import MAX_ITEMS_PER_ISSUE
from registry_api.forms import NOT_BLANK, TRIMMED, Form, IsoDay, Reason, RowId
from registry_api.validators import document_pattern

BATCH_NO = r"[0-9A-Z-]{1,20}"  # as codesvc's table and the scan path take it
MAX_QUANTITY = 10**12
MAX_CAPACITY = 10**6
DECIMAL_PLACES = 3
# One PDF: 17 A4 pages, about 5 s of drawing (each symbol is encoded with the best of its
# eight masks, as the QR standard asks); longer runs print from the CSV.
MAX_SHEET_ITEMS = 500
MAX_BATCH_PAGE = 100
DEFAULT_BATCH_PAGE = 20

Unit = Literal["kg", "t", "L", "m3", "pieces"]
PackageKind = Literal["drum", "bag", "bottle", "can", "cylinder", "IBC", "box", "other"]
UseByKind = Literal["expiry", "retest"]
ItemKind = Literal["item", "case", "pallet"]

_BATCH_SYMBOLS = re.compile(r"[0-9A-Za-z-]+")


def _batch_number(value: str) -> str:
    """The batch number as declared; its messages say what to change, not only that the
    pattern failed."""
    if not 1 <= len(value) <= 20:
        raise ValueError(f"must be 1 to 20 characters, got {len(value)}")
    if _BATCH_SYMBOLS.fullmatch(value) is None:
        raise ValueError("may hold digits, upper-case letters A-Z and '-' only")
    if value != value.upper():
        # Not upper-cased for the enterprise: the number printed on its labels must be the
        # one it declared, character for character.
        raise ValueError(
            f"must be in upper case ({value.upper()!r}, not {value!r}): the batch number is "
            "printed and scanned exactly as declared"
        )
    return value


BatchNumber = Annotated[
    str,
    Field(
        description="the batch number printed on the packages: digits, upper-case letters "
        "and '-', up to 20",
        examples=["LOT-2026-11"],
        json_schema_extra={"pattern": document_pattern(BATCH_NO)},
    ),
    AfterValidator(_batch_number),
]


def _exact_number(value: object) -> Decimal:
    """A JSON number as the decimal it was written as, at most `DECIMAL_PLACES` decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number, such as 200 or 12.5")
    # A float's shortest spelling is the text it was read from (for up to 15 digits).
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -DECIMAL_PLACES:
        raise ValueError(f"has at most {DECIMAL_PLACES} decimals")
    return amount


Quantity = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    Field(gt=0, le=MAX_QUANTITY),
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_QUANTITY,
            "multipleOf": 0.001,
            "description": "how much the batch holds, in `unit`: at most 3 decimals",
        }
    ),
]
Capacity = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    Field(gt=0, le=MAX_CAPACITY),
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_CAPACITY,
            "multipleOf": 0.001,
            "description": "how much one package holds, in `unit`: at most 3 decimals",
        }
    ),
]
Site = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK), TRIMMED]


class PackageForm(Form):
    """One level of packaging: a 25 kg drum, an IBC of 1 m3, a box of 12 bottles."""

    kind: PackageKind
    capacity: Capacity
    unit: Unit


class PackagingForm(Form):
    inner: PackageForm  # what holds the chemical
    outer: PackageForm | None = None  # what the inner packages are shipped in, if anything


class BatchForm(Form):
    """A batch of an approved product, declared by its enterprise."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_no": "LOT-2026-11",
                    "produced_on": "2026-01-05",
                    "use_by": "2028-01-04",
                    "use_by_kind": "expiry",
                    "quantity": 200,
                    "unit": "kg",
                    "packaging": {
                        "inner": {"kind": "drum", "capacity": 25, "unit": "kg"},
                        "outer": None,
                    },
                    "site": "清徐精细化工园区",
                }
            ]
        }
    )

    batch_no: BatchNumber
    produced_on: IsoDay  # not after today
    use_by: IsoDay  # on or after produced_on
    use_by_kind: UseByKind  # an expiry date, or the date to test the batch again by
    quantity: Quantity
    unit: Unit
    packaging: PackagingForm
    site: Site | None = None  # where it was made

    @field_validator("produced_on")
    @classmethod
    def _made_already(cls, produced_on: date) -> date:
        today = date.today()
        if produced_on > today:
            raise ValueError(
                f"is after today ({today.isoformat()}): a batch is declared once it is made"
            )
        return produced_on

    @field_validator("use_by")
    @classmethod
    def _not_before_production(cls, use_by: date, info: ValidationInfo) -> date:
        produced_on = info.data.get("produced_on")
        if isinstance(produced_on, date) and use_by < produced_on:
            raise ValueError(f"must be on or after produced_on ({produced_on.isoformat()})")
        return use_by


class ItemIssueForm(Form):
    """Serials for packages of a batch: its items, or the cases and pallets they are packed in."""

    count: Annotated[int, Field(ge=1, le=MAX_ITEMS_PER_ISSUE)]
    kind: ItemKind


Instructions = Annotated[str, Field(min_length=2, max_length=2000, pattern=NOT_BLANK), TRIMMED]
Note = Annotated[str, Field(min_length=1, max_length=500, pattern=NOT_BLANK), TRIMMED]


class RecallForm(Form):
    reason: Reason  # why the batch is recalled
    instructions: Instructions  # what holders must do: stop using it, return it, ...


class RecallEndForm(Form):
    note: Note | None = None  # why it ends: the batch retrieved, tests passed...


class _Query(BaseModel):
    """Query parameters: the ones named are checked, others ignored (a cache-buster)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class BatchListQuery(_Query):
    limit: Annotated[int, Field(ge=1, le=MAX_BATCH_PAGE)] = DEFAULT_BATCH_PAGE
    before: RowId | None = None  # the `next_before` of the page read: older batches


def _sheet_size(count: int) -> int:
    if count > MAX_SHEET_ITEMS:
        raise ValueError(
            f"a sheet holds at most {MAX_SHEET_ITEMS} items; ask for the rest with from="
        )
    return count


class SheetQuery(_Query):
    first: Annotated[int, Field(alias="from", ge=1, le=MAX_ITEMS_PER_ISSUE)] = 1
    count: (
        Annotated[
            int,
            Field(ge=1, json_schema_extra={"maximum": MAX_SHEET_ITEMS}),
            AfterValidator(_sheet_size),
        ]
        | None
    ) = None  # None: up to MAX_SHEET_ITEMS, to the issue's last serial
