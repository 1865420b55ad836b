"""Exact conversion of file prices and sizes to whole increments (ticks, lots).

Files hold decimal text; pandas reads it as float64. Rounding ``float * scale / tick`` is exact for every
value that is not within float noise of a half-increment, so those rows take the fast vectorised path;
the few rows that sit on a half-increment (where float noise could flip the rounding) are redone in
``Decimal`` from the shortest repr of the float, which equals the file's text for numbers of up to 15
significant digits. Rounding is half-to-even (banker's) in both paths, so the result does not depend
on which path a row took.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import numpy.typing as npt

# Beyond 2**62 increments the int64 arithmetic below (and Nautilus's own limits) would overflow.
_MAX_UNITS = float(2**62)


def to_units(
    values: npt.NDArray[np.float64],
    originals: npt.NDArray[np.object_] | None,
    scale: Decimal,
    increment: Decimal,
) -> npt.NDArray[np.int64]:
    """Return ``round_half_even(value * scale / increment)`` for each finite value, exactly.

    ``originals`` (optional) are the cells as read, used for the exact path when they are text or
    ``Decimal``; otherwise the float's shortest repr is used. Raises ``OverflowError`` if a value
    needs more than 2**62 increments.
    """
    ratio = scale / increment
    x = values * float(ratio)
    if x.size and float(np.max(np.abs(x))) >= _MAX_UNITS:
        raise OverflowError("value too large for the instrument's increment")
    units = np.rint(x)
    # Distance from the half-increment, against a bound on the float error (a few ulps of x).
    frac = x - np.floor(x)
    tolerance = np.abs(x) * 1e-14 + 1e-9
    near_half = np.flatnonzero(np.abs(frac - 0.5) < tolerance)
    out = units.astype(np.int64)
    for i in near_half:
        source = originals[i] if originals is not None else None
        text = str(source) if isinstance(source, str | Decimal) else repr(float(values[i]))
        exact = (Decimal(text.strip()) * ratio).to_integral_value(rounding=ROUND_HALF_EVEN)
        out[i] = int(exact)
    return out


def format_units(units: int, increment: Decimal, precision: int) -> str:
    """Render a whole number of increments as the decimal a user would see, at ``precision``."""
    return str((Decimal(int(units)) * increment).quantize(Decimal(1).scaleb(-precision)))
