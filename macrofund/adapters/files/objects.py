"""Turning whole increments into Nautilus fixed-point raw integers.

On this HIGH_PRECISION build a raw value is an int128 (value * 10**16), which overflows int64 above
about 922 in price, so raws are Python ints. ``Bar.from_raw`` / ``QuoteTick.from_raw`` with Python
ints were measured as fast as ``from_raw_arrays_to_list`` (which takes doubles and rounds them), and
they are exact by construction. Note: ``from_raw`` does not check that a raw lies on the precision's
grid, which is why callers only pass ``units * increment_raw``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from nautilus_trader.model.objects import Quantity

_INT64_MAX = 2**63 - 1


def raw_values(units: npt.NDArray[np.int64], raw_per_unit: int) -> list[int]:
    """Return ``units * raw_per_unit`` as Python ints (int64 arithmetic when it cannot overflow)."""
    if units.size == 0:
        return []
    biggest = int(np.max(np.abs(units)))
    if biggest * raw_per_unit <= _INT64_MAX:
        return (units * np.int64(raw_per_unit)).tolist()  # type: ignore[no-any-return]
    return (units.astype(object) * raw_per_unit).tolist()  # type: ignore[no-any-return]


def size_raw_per_unit(size_precision: int) -> int:
    """Raw value of one unit of ``10**-size_precision`` (build-independent: read from Nautilus)."""
    return int(Quantity.from_int(1).raw) // 10**size_precision
