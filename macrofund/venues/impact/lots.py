"""Whole-lot rounding of a fractional trade schedule.

An optimal schedule is real-valued, an exchange only takes whole contracts. Rounding each slice on its
own can lose or add a contract to the parent order; the largest-remainder (Hamilton) method rounds every
slice down and hands the missing lots to the slices with the largest remainders, so the total is exact
and every slice is within one lot of its target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from macrofund.venues.impact.errors import ImpactModelError

# How far (in lots) the float sum of a schedule may sit from a whole number of lots and still be read
# as that whole number: float schedules carry rounding noise of a few ulps per slice.
_WHOLE_LOT_TOLERANCE = 1e-6


def round_to_lots(trades: Sequence[float] | NDArray[np.float64], lot: int) -> NDArray[np.int64]:
    """Round a trade schedule to whole lots so the rounded trades sum exactly to the parent quantity.

    ``trades`` are signed quantities in units (e.g. ``AlmgrenChriss.optimal_trajectory(...).trades``);
    ``lot`` is the number of units per lot (1 for most futures). The parent quantity is the sum of
    ``trades``, which must be a whole number of lots (within float noise). Returns integer quantities in
    units, each a multiple of ``lot``, summing exactly to the parent, each within one lot of its target
    and never of the opposite sign (a slice may round to zero).
    """
    if isinstance(lot, bool) or not isinstance(lot, int | np.integer) or lot <= 0:
        raise ImpactModelError(f"lot must be a positive integer number of units, got {lot!r}")
    values = np.asarray(trades, dtype=np.float64)
    if values.ndim != 1:
        raise ImpactModelError(f"trades must be a 1-D sequence, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ImpactModelError("trades must all be finite numbers")
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    in_lots = values / lot
    total = math.fsum(in_lots.tolist())
    parent_lots = round(total)
    if abs(total - parent_lots) > _WHOLE_LOT_TOLERANCE * max(1.0, abs(total)):
        raise ImpactModelError(
            f"trades sum to {total * lot!r} units, which is not a whole number of lots of {lot}"
        )
    floors = np.floor(in_lots)
    remainders = in_lots - floors
    missing = parent_lots - int(floors.sum())
    # missing equals the sum of the remainders, each in [0, 1), so 0 <= missing < count of non-zero
    # remainders: the lots we add all go to slices with a positive remainder, which keeps the sign (a
    # negative slice rounded down then up again is at most zero). Float noise can push it just outside.
    missing = min(max(missing, 0), values.size)
    order = np.argsort(-remainders, kind="stable")
    rounded = floors.astype(np.int64)
    rounded[order[:missing]] += 1
    # Absorb float noise (a remainder of 0.9999999 read as a whole lot) so the sum is exact.
    drift = parent_lots - int(rounded.sum())
    if drift != 0:
        idx = int(np.argmax(np.abs(values)))
        rounded[idx] += drift
    return rounded * np.int64(lot)
