"""The review pipelines, as data: who decides each step of each kind of submission.

From the source document: updates of registered enterprises go county/city → province →
national (市县初审、省级复审、国家入库); registrations (new, change, renewal) go
province → national (省级审核、国家审批); the deregistration of a closed enterprise goes
county/city → province. Admins and reviewers decide (viewers only read), at the step's
level, for enterprises inside their jurisdiction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from registry_api.accounts.rules import Level, Role

CERTIFICATE_YEARS = 3
RENEWAL_WINDOW_MONTHS = 3  # a certificate may be renewed from this long before it expires
DECIDING_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})


class Pipeline(StrEnum):
    REGISTRATION = "registration"
    INFO_UPDATE = "info_update"
    DEREGISTRATION = "deregistration"


class RegistrationKind(StrEnum):
    NEW = "new"
    CHANGE = "change"
    RENEWAL = "renewal"


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # as the source document names it
    levels: frozenset[Level]


_COUNTY_OR_CITY = frozenset({Level.COUNTY, Level.CITY})
PIPELINES: dict[Pipeline, tuple[Step, ...]] = {
    Pipeline.INFO_UPDATE: (
        Step("市县初审 county/city review", _COUNTY_OR_CITY),
        Step("省级复审 provincial re-review", frozenset({Level.PROVINCE})),
        Step("国家入库 national entry", frozenset({Level.NATIONAL})),
    ),
    Pipeline.REGISTRATION: (
        Step("省级审核 provincial review", frozenset({Level.PROVINCE})),
        Step("国家审批 national approval", frozenset({Level.NATIONAL})),
    ),
    Pipeline.DEREGISTRATION: (
        Step("市县审核 county/city review", _COUNTY_OR_CITY),
        Step("省级审核 provincial review", frozenset({Level.PROVINCE})),
    ),
}


def step_of(pipeline: Pipeline, index: int) -> Step:
    return PIPELINES[pipeline][index]


def is_final(pipeline: Pipeline, index: int) -> bool:
    return index == len(PIPELINES[pipeline]) - 1


def may_decide(pipeline: Pipeline, index: int, role: Role | None, level: Level | None) -> bool:
    """Whether an account of `role` at `level` decides step `index` (scope aside)."""
    if role not in DECIDING_ROLES or level is None:
        return False
    return 0 <= index < len(PIPELINES[pipeline]) and level in PIPELINES[pipeline][index].levels


def steps_for_level(level: Level) -> list[tuple[Pipeline, int]]:
    """Every (pipeline, step) an account at `level` decides: what its queue shows."""
    return [
        (pipeline, index)
        for pipeline, steps in PIPELINES.items()
        for index, step in enumerate(steps)
        if level in step.levels
    ]


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clipped to the month's last day."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def certificate_expiry(issued_on: date) -> date:
    return add_years(issued_on, CERTIFICATE_YEARS)


def renewal_opens_on(expires_on: date) -> date:
    return add_months(expires_on, -RENEWAL_WINDOW_MONTHS)


def certificate_number(province: str, issued_on: date, sequence: int) -> str:
    """危险化学品登记证 number: province, year, a serial (14-2026-00042)."""
    return f"{province}-{issued_on.year}-{sequence:05d}"
