"""The review pipelines as data, and the certificate dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_api.accounts.rules import Level, Role
from registry_api.reviews.pipelines import (
    PIPELINES,
    Pipeline,
    add_months,
    certificate_expiry,
    is_final,
    may_decide,
    renewal_opens_on,
    steps_for_level,
)


@pytest.mark.parametrize(
    ("pipeline", "levels"),
    [
        # 市县初审、省级复审、国家入库
        (Pipeline.INFO_UPDATE, [{Level.COUNTY, Level.CITY}, {Level.PROVINCE}, {Level.NATIONAL}]),
        # 企业申请、省级审核、国家审批
        (Pipeline.REGISTRATION, [{Level.PROVINCE}, {Level.NATIONAL}]),
        (Pipeline.DEREGISTRATION, [{Level.COUNTY, Level.CITY}, {Level.PROVINCE}]),
    ],
)
def test_each_pipeline_goes_up_the_levels_the_source_document_names(
    pipeline: Pipeline, levels: list[set[Level]]
) -> None:
    assert [set(step.levels) for step in PIPELINES[pipeline]] == levels
    assert is_final(pipeline, len(levels) - 1)
    assert not is_final(pipeline, 0)


def test_admins_and_reviewers_decide_viewers_and_parks_do_not() -> None:
    assert may_decide(Pipeline.REGISTRATION, 0, Role.REVIEWER, Level.PROVINCE)
    assert may_decide(Pipeline.REGISTRATION, 0, Role.ADMIN, Level.PROVINCE)
    assert not may_decide(Pipeline.REGISTRATION, 0, Role.VIEWER, Level.PROVINCE)
    assert not may_decide(Pipeline.REGISTRATION, 1, Role.REVIEWER, Level.PROVINCE)
    assert not may_decide(Pipeline.REGISTRATION, 2, Role.REVIEWER, Level.NATIONAL)
    assert not may_decide(Pipeline.INFO_UPDATE, 0, Role.REVIEWER, Level.PARK)
    assert steps_for_level(Level.PARK) == []
    assert set(steps_for_level(Level.PROVINCE)) == {
        (Pipeline.INFO_UPDATE, 1),
        (Pipeline.REGISTRATION, 0),
        (Pipeline.DEREGISTRATION, 1),
    }


@pytest.mark.parametrize(
    ("issued", "expires", "renewal_opens"),
    [
        (date(2026, 11, 28), date(2029, 11, 28), date(2029, 8, 28)),
        (date(2024, 2, 29), date(2027, 2, 28), date(2026, 11, 28)),  # no 29 February in 2027
        (date(2026, 5, 31), date(2029, 5, 31), date(2029, 2, 28)),  # no 31 February
    ],
)
def test_a_certificate_lasts_three_years_and_renews_from_three_months_before(
    issued: date, expires: date, renewal_opens: date
) -> None:
    assert certificate_expiry(issued) == expires
    assert renewal_opens_on(expires) == renewal_opens


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2200, 12, 31)), st.integers(-60, 60))
def test_adding_months_lands_in_the_right_month_never_past_its_end(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved + timedelta(days=1)).day == 1  # clipped to month end
