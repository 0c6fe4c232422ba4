"""The item state machine: every state meets every step, and what a clerk reads when an
event cannot happen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesvc.item_states import (
    END_STATES,
    STATE_NAMES,
    STEP_NAMES,
    BizStep,
    ImpossibleTransition,
    ItemState,
    Transition,
    transition,
)

S = ItemState
B = BizStep
IMPOSSIBLE = "impossible"
AFTER_END = "after_end"

# What each step does to each state with no disposition: a state, IMPOSSIBLE or AFTER_END.
# Columns in the order of ItemState: issued, commissioned, shipped, received, in_use,
# consumed, destroyed, recalled, quarantined.
_NO_DISPOSITION: dict[BizStep, tuple[ItemState | str, ...]] = {
    B.COMMISSIONING: (
        S.COMMISSIONED, IMPOSSIBLE, IMPOSSIBLE, IMPOSSIBLE, IMPOSSIBLE,
        IMPOSSIBLE, IMPOSSIBLE, IMPOSSIBLE, IMPOSSIBLE,
    ),
    B.PACKING: (
        S.ISSUED, S.COMMISSIONED, S.SHIPPED, S.RECEIVED, S.IN_USE,
        IMPOSSIBLE, IMPOSSIBLE, S.RECALLED, S.QUARANTINED,
    ),
    B.SHIPPING: (
        S.SHIPPED, S.SHIPPED, IMPOSSIBLE, S.SHIPPED, S.SHIPPED,
        IMPOSSIBLE, IMPOSSIBLE, IMPOSSIBLE, S.SHIPPED,
    ),
    B.RECEIVING: (
        S.RECEIVED, S.RECEIVED, S.RECEIVED, S.RECEIVED, S.RECEIVED,
        AFTER_END, AFTER_END, S.RECALLED, S.QUARANTINED,
    ),
    B.CONSUMING: (
        S.CONSUMED, S.CONSUMED, S.CONSUMED, S.CONSUMED, S.CONSUMED,
        AFTER_END, AFTER_END, IMPOSSIBLE, S.CONSUMED,
    ),
    B.DESTROYING: (
        S.DESTROYED, S.DESTROYED, S.DESTROYED, S.DESTROYED, S.DESTROYED,
        S.DESTROYED, IMPOSSIBLE, S.DESTROYED, S.DESTROYED,
    ),
    B.RECALLING: (
        S.RECALLED, S.RECALLED, S.RECALLED, S.RECALLED, S.RECALLED,
        AFTER_END, AFTER_END, S.RECALLED, S.RECALLED,
    ),
}  # fmt: skip
_CASES = [
    (state, step, expected)
    for step, row in _NO_DISPOSITION.items()
    for state, expected in zip(ItemState, row, strict=True)
]


@pytest.mark.parametrize(("current", "step", "expected"), _CASES)
def test_every_state_meets_every_step(
    current: ItemState, step: BizStep, expected: ItemState | str
) -> None:
    if expected == IMPOSSIBLE:
        with pytest.raises(ImpossibleTransition):
            transition(current, step, None)
    elif expected == AFTER_END:
        assert transition(current, step, None) == Transition(current, after_end=True)
    else:
        assert transition(current, step, None) == Transition(ItemState(expected))


@pytest.mark.parametrize(
    ("current", "step", "disposition", "expected"),
    [
        # A damaged or leaking package on receipt is set apart.
        (S.SHIPPED, B.RECEIVING, "damaged", S.QUARANTINED),
        (S.COMMISSIONED, B.RECEIVING, "damaged", S.QUARANTINED),
        (S.RECEIVED, B.RECEIVING, "damaged", S.QUARANTINED),
        (S.QUARANTINED, B.RECEIVING, "damaged", S.QUARANTINED),
        (S.RECALLED, B.RECEIVING, "damaged", S.RECALLED),
        (S.SHIPPED, B.RECEIVING, "in_progress", S.RECEIVED),
        # Part of a drum dispensed: in use; all of it: consumed.
        (S.RECEIVED, B.CONSUMING, "partially_dispensed", S.IN_USE),
        (S.IN_USE, B.CONSUMING, "partially_dispensed", S.IN_USE),
        (S.IN_USE, B.CONSUMING, "dispensed", S.CONSUMED),
        (S.QUARANTINED, B.CONSUMING, "partially_dispensed", S.IN_USE),
        # A recalled package goes back only under the recall.
        (S.RECALLED, B.SHIPPING, "recalled", S.SHIPPED),
        (S.RECEIVED, B.SHIPPING, "recalled", S.SHIPPED),
        (S.SHIPPED, B.RECEIVING, "recalled", S.RECEIVED),
    ],
)
def test_dispositions_that_change_the_outcome(
    current: ItemState, step: BizStep, disposition: str, expected: ItemState
) -> None:
    assert transition(current, step, disposition) == Transition(expected)


@pytest.mark.parametrize(
    ("current", "step", "disposition", "message"),
    [
        (S.DESTROYED, B.SHIPPING, None, "already destroyed: a destroyed package cannot be shipped"),
        (S.CONSUMED, B.SHIPPING, None, "already consumed: a consumed package cannot be shipped"),
        (S.CONSUMED, B.PACKING, None, "already consumed: a consumed package cannot be packed"),
        (S.DESTROYED, B.COMMISSIONING, None, "already destroyed"),
        (S.COMMISSIONED, B.COMMISSIONING, None, "already commissioned"),
        (S.RECEIVED, B.COMMISSIONING, None, "already commissioned: a received package"),
        (S.SHIPPED, B.SHIPPING, None, "already shipped, not received since"),
        (S.RECALLED, B.SHIPPING, None, "only shipped back under the recall"),
        (S.RECALLED, B.SHIPPING, "in_transit", "only shipped back under the recall"),
        (S.RECALLED, B.CONSUMING, None, "a recalled package must not be used"),
        (S.RECALLED, B.CONSUMING, "partially_dispensed", "must not be used"),
        (S.DESTROYED, B.DESTROYING, None, "already destroyed"),
    ],
)
def test_an_impossible_event_says_why(
    current: ItemState, step: BizStep, disposition: str | None, message: str
) -> None:
    with pytest.raises(ImpossibleTransition) as raised:
        transition(current, step, disposition)
    assert message in str(raised.value)
    assert (raised.value.current, raised.value.step) == (current, step)


def test_a_consumed_package_can_still_be_destroyed() -> None:
    assert transition(S.CONSUMED, B.DESTROYING, None) == Transition(S.DESTROYED)


def test_every_state_and_step_has_a_name_in_both_languages() -> None:
    assert set(STATE_NAMES) == set(ItemState)
    assert set(STEP_NAMES) == set(BizStep)
    for names in [*STATE_NAMES.values(), *STEP_NAMES.values()]:
        assert set(names) == {"zh", "en"}
        assert all(names.values())
    assert STATE_NAMES[S.DESTROYED]["zh"] == "已销毁"
    assert len({names["zh"] for names in STATE_NAMES.values()}) == len(ItemState)


dispositions = st.sampled_from(
    [None, "damaged", "partially_dispensed", "dispensed", "recalled", "in_transit", "active"]
)


@given(st.sampled_from(ItemState), st.sampled_from(BizStep), dispositions)
def test_end_states_are_left_only_by_destroying_a_consumed_package(
    current: ItemState, step: BizStep, disposition: str | None
) -> None:
    try:
        after = transition(current, step, disposition)
    except ImpossibleTransition:
        return
    if current in END_STATES:
        assert after.state in END_STATES
        if after.state != current:
            assert (current, step, after.state) == (S.CONSUMED, B.DESTROYING, S.DESTROYED)


@given(st.sampled_from(ItemState), st.sampled_from(BizStep), dispositions)
def test_after_end_comes_only_from_an_end_state_and_changes_nothing(
    current: ItemState, step: BizStep, disposition: str | None
) -> None:
    try:
        after = transition(current, step, disposition)
    except ImpossibleTransition:
        return
    if after.after_end:
        assert current in END_STATES
        assert after.state == current


@given(st.lists(st.tuples(st.sampled_from(BizStep), dispositions), max_size=12))
def test_any_sequence_of_events_ends_in_a_state_with_a_name(
    events: list[tuple[BizStep, str | None]],
) -> None:
    """Events applied one after another, the refused ones skipped, as the caller does:
    the item is always in some named state, and once destroyed it stays destroyed."""
    state = S.ISSUED
    destroyed = False
    for step, disposition in events:
        try:
            state = transition(state, step, disposition).state
        except ImpossibleTransition:
            continue
        destroyed = destroyed or state == S.DESTROYED
        assert state in STATE_NAMES
    assert not destroyed or state == S.DESTROYED
