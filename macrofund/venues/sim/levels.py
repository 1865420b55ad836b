"""Turn a model average price into at most two tick-priced levels whose VWAP matches it.

Pure integer/float arithmetic in ticks and lots, no Nautilus: the fill model converts the result into
``Price``/``Quantity`` objects. Why two levels and not a walk along the marginal-cost curve: any set of
levels with the right VWAP prices the order exactly as the model says, and every extra level is an extra
``OrderFilled`` the engine pays ~0.8 ms for. Two adjacent ticks around the model price can hit any VWAP
to within ``tick / lots``; one level (the model price rounded adversely) is within one tick.
"""

from __future__ import annotations

import math

# Float noise tolerance in ticks / lots: a model price 1e-12 ticks above a tick is that tick, not the
# next one (rounding "adversely" must not charge a whole tick for a binary-float artefact).
_SNAP = 1e-9


def adverse_levels(target_ticks: float, lots: int, buy: bool, max_levels: int) -> list[tuple[int, int]]:
    """Levels ``[(price_in_ticks, lots), ...]`` for an order of ``lots`` whose model VWAP is ``target_ticks``.

    Prices are whole ticks, never better for the order than the model: a buy's VWAP is in
    ``[target, target + 1/lots)`` ticks with two levels (``[target, target + 1)`` with one), a sell's the
    mirror image. Sizes are positive and sum exactly to ``lots``; levels are distinct and ordered from
    the best price for the order to the worst (the order in which a book is walked).
    """
    if lots <= 0:
        raise ValueError(f"lots must be positive, got {lots}")
    if not math.isfinite(target_ticks):
        raise ValueError(f"target price must be finite, got {target_ticks!r} ticks")
    # Work on the "adverse axis" y = +price for a buy, -price for a sell: worse is always larger y.
    y = target_ticks if buy else -target_ticks
    nearest = round(y)
    if abs(y - nearest) <= _SNAP:
        y_low, fraction = int(nearest), 0.0
    else:
        y_low = math.floor(y)
        fraction = y - y_low
    sign = 1 if buy else -1
    if fraction == 0.0:
        return [(sign * y_low, lots)]
    if max_levels < 2:
        return [(sign * (y_low + 1), lots)]
    worse = math.ceil(lots * fraction - _SNAP)
    if worse >= lots:
        return [(sign * (y_low + 1), lots)]
    if worse <= 0:
        return [(sign * y_low, lots)]
    return [(sign * y_low, lots - worse), (sign * (y_low + 1), worse)]
