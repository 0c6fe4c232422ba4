"""The safety permits an enterprise holds, part of its record: 安全生产许可证 (production
safety, for producers), 危险化学品安全使用许可证 (safe use) and 危险化学品经营许可证 (trading).
The source document ties their issuance and renewal to the registration, so regulators
read them beside the registration certificate.

Pure: the kinds, a held permit with its standing on a day, and the checks of a list of
permits that the request body's types cannot make (one of each kind). The record keeps the
list in its `permits` column (JSON, `[{"kind", "number", "issuer", "valid_from",
"valid_until"}]`), as it keeps its aging installations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import WithJsonSchema
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

# Within this many days of its last day a permit is flagged: renewal takes months (the
# production safety permit is applied for three months before it expires).
EXPIRY_WARNING_DAYS = 90

PermitStanding = Literal["not_yet_valid", "valid", "expiring", "expired"]
_DayText = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


class PermitKind(StrEnum):
    PRODUCTION_SAFETY = "production_safety"  # 安全生产许可证: producers of hazardous chemicals
    SAFE_USE = "safe_use"  # 危险化学品安全使用许可证: chemical plants using them above set amounts
    TRADING = "trading"  # 危险化学品经营许可证: those who sell, store or distribute them


# (Chinese, English) names, as the console and reviewers read them.
PERMIT_NAMES: dict[PermitKind, tuple[str, str]] = {
    PermitKind.PRODUCTION_SAFETY: ("安全生产许可证", "Production safety permit"),
    PermitKind.SAFE_USE: ("危险化学品安全使用许可证", "Hazardous chemicals safe use permit"),
    PermitKind.TRADING: ("危险化学品经营许可证", "Hazardous chemicals trading permit"),
}


@dataclass(frozen=True, slots=True)
class HeldPermit:
    kind: PermitKind
    number: str
    issuer: str
    valid_from: date
    valid_until: date  # its last valid day
    warning_days: ClassVar[int] = EXPIRY_WARNING_DAYS  # for the pages that mark it

    def days_left(self, today: date) -> int:
        """Days from `today` to the last valid day (0: it ends today; negative: expired)."""
        return (self.valid_until - today).days

    def standing(self, today: date) -> PermitStanding:
        if self.valid_until < today:
            return "expired"
        if self.valid_from > today:
            return "not_yet_valid"
        return "expiring" if self.days_left(today) < self.warning_days else "valid"


class PermitView(TypedDict):
    kind: PermitKind
    number: str
    issuer: str
    valid_from: _DayText
    valid_until: _DayText


def held_permits(stored: list[dict[str, Any]]) -> list[HeldPermit]:
    """The record's permits as stored (JSON, days as ISO text), typed."""
    return [
        HeldPermit(
            kind=PermitKind(item["kind"]),
            number=item["number"],
            issuer=item["issuer"],
            valid_from=date.fromisoformat(item["valid_from"]),
            valid_until=date.fromisoformat(item["valid_until"]),
        )
        for item in stored
    ]


def permit_view(permit: HeldPermit) -> PermitView:
    return {
        "kind": permit.kind,
        "number": permit.number,
        "issuer": permit.issuer,
        "valid_from": permit.valid_from.isoformat(),
        "valid_until": permit.valid_until.isoformat(),
    }


def duplicate_kinds(permits: list[dict[str, Any]]) -> dict[str, str]:
    """Problems of a list of permits (as sent, already valid one by one) by path: a kind
    listed twice is named at its second place. Any kind may be held by any enterprise; a
    producer without a production safety permit is not refused here (oversight lists it)."""
    first_at: dict[str, int] = {}
    problems: dict[str, str] = {}
    for index, permit in enumerate(permits):
        kind = str(permit["kind"])
        if kind in first_at:
            problems[f"permits[{index}].kind"] = (
                f"a {kind} permit is listed already, as permits[{first_at[kind]}]: "
                "an enterprise holds one permit of each kind"
            )
        else:
            first_at[kind] = index
    return problems
