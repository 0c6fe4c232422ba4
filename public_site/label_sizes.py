"""GHS label sizes by package capacity: GB 15258-2009 table 1, the smallest label each
package may carry (标签最低尺寸)."""

from __future__ import annotations

import math
from dataclasses import dataclass


class LabelError(ValueError):
    """A label that cannot be made: a bad capacity or size name, or content too big for it."""


@dataclass(frozen=True, slots=True)
class LabelSize:
    """A label size of GB 15258 table 1, width x height (portrait), in millimetres."""

    name: str
    width_mm: float
    height_mm: float
    max_capacity_ml: float  # the largest package this size is for
    min_text_pt: float  # body text never gets smaller than this on this size
    max_text_pt: float  # body text starts here and shrinks until everything fits
    simplified: bool = False


LABEL_SIZES: tuple[LabelSize, ...] = (
    # GB 15258 4.3 lets packages of 100 mL or less carry a simplified label and gives it no
    # size: it takes the table's smallest, on which pictograms a reader can make out and a
    # QR a phone can read still fit.
    LabelSize("simplified", 50, 75, 100, 5, 8, simplified=True),
    LabelSize("50x75", 50, 75, 3_000, 5, 8),
    LabelSize("75x100", 75, 100, 50_000, 6, 10),
    LabelSize("100x150", 100, 150, 500_000, 7, 12),
    LabelSize("150x200", 150, 200, 1_000_000, 8, 14),
    LabelSize("200x300", 200, 300, math.inf, 9, 16),
)


def label_size_for(capacity_ml: float) -> LabelSize:
    """The smallest GB 15258 size for a package of `capacity_ml` millilitres; LabelError
    unless it is a number above 0."""
    if (
        isinstance(capacity_ml, bool)
        or not isinstance(capacity_ml, int | float)
        or not math.isfinite(capacity_ml)
        or capacity_ml <= 0
    ):
        raise LabelError(
            f"a package capacity must be a finite number of mL above 0, not {capacity_ml!r}"
        )
    return next(size for size in LABEL_SIZES if capacity_ml <= size.max_capacity_ml)


def label_size_named(name: str) -> LabelSize:
    """The size called `name` ("50x75", "simplified", ...); LabelError naming the valid ones."""
    wanted = str(name).strip().lower().replace("×", "x").replace(" ", "")
    for size in LABEL_SIZES:
        if size.name == wanted:
            return size
    names = ", ".join(size.name for size in LABEL_SIZES)
    raise LabelError(f"there is no label size {name!r}; the sizes are {names}")


def sizes_from(minimum: LabelSize) -> tuple[LabelSize, ...]:
    """`minimum` and the larger sizes after it: GB 15258's table gives each package the
    smallest label it may carry, and a label with more to say may be larger. The simplified
    label stands alone: its content is what makes it simplified."""
    if minimum.simplified:
        return (minimum,)
    full = [size for size in LABEL_SIZES if not size.simplified]
    return tuple(full[full.index(minimum) :])
