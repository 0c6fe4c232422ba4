"""The states of an item (a package, case or pallet with its own serial) and the events
that move it, EMVS-like: pure rules, no I/O.

An event names a business step (EPCIS 2.0 / CBV `bizStep`) and may carry a disposition
(CBV short name). `transition(current, step, disposition)` answers the state after it:

| step          | from                  | to                                                 |
| ------------- | --------------------- | -------------------------------------------------- |
| commissioning | issued                | commissioned                                       |
|               | any other             | impossible: "already commissioned"                 |
| packing       | live, recalled        | unchanged (aggregation only)                       |
|               | end                   | impossible                                         |
| shipping      | live but shipped      | shipped                                            |
|               | shipped               | impossible: "already shipped, not received since"  |
|               | recalled              | shipped with disposition recalled, else impossible |
|               | end                   | impossible                                         |
| receiving     | live but quarantined  | received; quarantined with disposition damaged     |
|               | quarantined, recalled | unchanged (a receipt clears neither)               |
|               | end                   | unchanged, after_end                               |
| consuming     | live                  | in_use with partially_dispensed, else consumed     |
|               | recalled              | impossible                                         |
|               | end                   | unchanged, after_end                               |
| destroying    | any but destroyed     | destroyed                                          |
|               | destroyed             | impossible: "already destroyed"                    |
| recalling     | live, recalled        | recalled                                           |
|               | end                   | unchanged, after_end                               |

live: issued, commissioned, shipped, received, in_use, quarantined; end: consumed,
destroyed (`END_STATES`).

`after_end` is not an error: the event is recorded, the state stays, and the caller raises
an alert (a package met again after it was used up or destroyed is likely a copy). An
impossible event is refused with `ImpossibleTransition`, whose message a clerk can act on.
Only destroying leaves an end state (a consumed package's empty drum is destroyed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ItemState(StrEnum):
    ISSUED = "issued"  # the serial is generated, not yet on a package
    COMMISSIONED = "commissioned"
    SHIPPED = "shipped"
    RECEIVED = "received"
    IN_USE = "in_use"
    CONSUMED = "consumed"
    DESTROYED = "destroyed"
    RECALLED = "recalled"
    QUARANTINED = "quarantined"


class BizStep(StrEnum):
    """The business steps SafeCode records, by their short names: five are CBV 2.0's;
    consuming and recalling are SafeCode's own (CBV has no step for using a chemical up or
    for a recall), which EPCIS output writes as `safecode:consuming` and `safecode:recalling`."""

    COMMISSIONING = "commissioning"
    PACKING = "packing"
    SHIPPING = "shipping"
    RECEIVING = "receiving"
    CONSUMING = "consuming"
    DESTROYING = "destroying"
    RECALLING = "recalling"


END_STATES = frozenset({ItemState.CONSUMED, ItemState.DESTROYED})

STATE_NAMES: dict[ItemState, dict[str, str]] = {
    ItemState.ISSUED: {"zh": "已生成", "en": "issued"},
    ItemState.COMMISSIONED: {"zh": "已赋码", "en": "commissioned"},
    ItemState.SHIPPED: {"zh": "已发货", "en": "shipped"},
    ItemState.RECEIVED: {"zh": "已收货", "en": "received"},
    ItemState.IN_USE: {"zh": "使用中", "en": "in use"},
    ItemState.CONSUMED: {"zh": "已用完", "en": "consumed"},
    ItemState.DESTROYED: {"zh": "已销毁", "en": "destroyed"},
    ItemState.RECALLED: {"zh": "已召回", "en": "recalled"},
    ItemState.QUARANTINED: {"zh": "已隔离", "en": "quarantined"},
}

STEP_NAMES: dict[BizStep, dict[str, str]] = {
    BizStep.COMMISSIONING: {"zh": "赋码", "en": "commissioning"},
    BizStep.PACKING: {"zh": "装箱", "en": "packing"},
    BizStep.SHIPPING: {"zh": "发货", "en": "shipping"},
    BizStep.RECEIVING: {"zh": "收货", "en": "receiving"},
    BizStep.CONSUMING: {"zh": "使用", "en": "consuming"},
    BizStep.DESTROYING: {"zh": "销毁", "en": "destroying"},
    BizStep.RECALLING: {"zh": "召回", "en": "recalling"},
}

# CBV dispositions the rules read (short names).
DAMAGED = "damaged"
PARTIALLY_DISPENSED = "partially_dispensed"
RECALLED = "recalled"

# What a step does to a package, in the words of the messages below.
_DONE = {
    BizStep.COMMISSIONING: "commissioned",
    BizStep.PACKING: "packed",
    BizStep.SHIPPING: "shipped",
    BizStep.RECEIVING: "received",
    BizStep.CONSUMING: "used",
    BizStep.DESTROYING: "destroyed",
    BizStep.RECALLING: "recalled",
}


class ImpossibleTransition(ValueError):
    """An event that cannot happen to an item in its state; the message says why."""

    def __init__(self, current: ItemState, step: BizStep, message: str) -> None:
        super().__init__(message)
        self.current = current
        self.step = step
        self.message = message


@dataclass(frozen=True, slots=True)
class Transition:
    state: ItemState
    # The item was consumed or destroyed and is met again: the event is recorded, the
    # state is unchanged, and the caller raises an alert.
    after_end: bool = False


def transition(current: ItemState, step: BizStep, disposition: str | None) -> Transition:
    """The item's state after an event of `step` with `disposition` (a CBV short name or
    None); `ImpossibleTransition` when the event cannot happen to an item in `current`."""
    match step:
        case BizStep.COMMISSIONING:
            if current is ItemState.ISSUED:
                return Transition(ItemState.COMMISSIONED)
            if current in END_STATES:
                raise _ended(current, step)
            if current is ItemState.COMMISSIONED:
                raise _impossible(current, step, "already commissioned")
            raise _impossible(
                current, step, f"already commissioned: a {_name(current)} package is not new"
            )
        case BizStep.PACKING:
            if current in END_STATES:
                raise _ended(current, step)
            return Transition(current)
        case BizStep.SHIPPING:
            if current in END_STATES:
                raise _ended(current, step)
            if current is ItemState.SHIPPED:
                raise _impossible(
                    current,
                    step,
                    "already shipped, not received since: record its receipt before "
                    "shipping it again",
                )
            if current is ItemState.RECALLED and disposition != RECALLED:
                raise _impossible(
                    current,
                    step,
                    "recalled: a recalled package is only shipped back under the recall "
                    "(disposition recalled)",
                )
            return Transition(ItemState.SHIPPED)
        case BizStep.RECEIVING:
            if current in END_STATES:
                return Transition(current, after_end=True)
            if current in (ItemState.RECALLED, ItemState.QUARANTINED):
                # A receipt neither ends a recall nor clears a damaged package.
                return Transition(current)
            if disposition == DAMAGED:
                return Transition(ItemState.QUARANTINED)
            return Transition(ItemState.RECEIVED)
        case BizStep.CONSUMING:
            if current in END_STATES:
                return Transition(current, after_end=True)
            if current is ItemState.RECALLED:
                raise _impossible(
                    current,
                    step,
                    "recalled: a recalled package must not be used; return or destroy it",
                )
            if disposition == PARTIALLY_DISPENSED:
                return Transition(ItemState.IN_USE)
            return Transition(ItemState.CONSUMED)
        case BizStep.DESTROYING:
            if current is ItemState.DESTROYED:
                raise _impossible(current, step, "already destroyed")
            return Transition(ItemState.DESTROYED)
        case BizStep.RECALLING:
            if current in END_STATES:
                return Transition(current, after_end=True)
            return Transition(ItemState.RECALLED)
    raise AssertionError(f"no rule for {step!r}")  # pragma: no cover: the match is total


def _name(state: ItemState) -> str:
    return STATE_NAMES[state]["en"]


def _ended(current: ItemState, step: BizStep) -> ImpossibleTransition:
    name = _name(current)
    return _impossible(current, step, f"already {name}: a {name} package cannot be {_DONE[step]}")


def _impossible(current: ItemState, step: BizStep, message: str) -> ImpossibleTransition:
    return ImpossibleTransition(current, step, message)
