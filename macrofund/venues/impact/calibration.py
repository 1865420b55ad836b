"""Scale the Almgren-Thum-Hauptmann-Li (2005) impact estimates into per-unit model coefficients.

ATHL fit impact on US equities in normalised units: costs as a fraction of daily volatility, trade
rate as a fraction of daily volume. A futures desk has neither their universe nor their data, but the
normalised form transfers: we only need the contract's daily volume and daily price volatility to turn
their dimensionless coefficients into ``eta`` and ``gamma`` in price units per unit traded.
"""

from __future__ import annotations

import math

from macrofund.venues.impact.errors import ImpactModelError

#: ATHL 2005 temporary-impact coefficient (dimensionless) and exponent: J/sigma = eta * (v/V)^beta.
ATHL_ETA = 0.142
ATHL_BETA = 0.6
#: ATHL 2005 permanent-impact coefficient (dimensionless) and exponent: I/sigma = gamma * (X/V)^alpha.
ATHL_GAMMA = 0.314
ATHL_ALPHA = 1.0


def scaled_2005_parameters(
    daily_volume: float, daily_sigma_price: float, spread: float, fee_per_unit: float
) -> dict[str, float]:
    """Return ``AlmgrenChriss`` keyword arguments from the 2005 estimates, with the day as time unit.

    ATHL write the temporary cost per unit as ``sigma_daily * 0.142 * (v / V)^0.6`` and the permanent
    price shift of a program of X units as ``sigma_daily * 0.314 * (X / V)`` (both as fractions of the
    price, v in units/day, V the average daily volume). Multiplying through by the price turns the
    fractional volatility into ``daily_sigma_price`` and gives this class's per-unit coefficients::

        eta     = 0.142 * daily_sigma_price / daily_volume**0.6     (price per unit per (units/day)^0.6)
        gamma   = 0.314 * daily_sigma_price / daily_volume          (price per unit traded)
        epsilon = spread / 2 + fee_per_unit                         (price per unit)
        sigma   = daily_sigma_price                                 (price per sqrt(day))

    ATHL's permanent term also carries a ``(shares outstanding / V)^(1/4)`` factor; futures have no
    shares outstanding, so it is taken as 1. Trading times ``T`` and slices ``tau`` passed to the model
    must then be in days (a 6.5-hour session is one day; a 30-minute slice is 1/13 of it).
    The result unpacks straight into the model: ``AlmgrenChriss(**scaled_2005_parameters(...))``.
    """
    for name, value in (
        ("daily_volume", daily_volume),
        ("daily_sigma_price", daily_sigma_price),
        ("spread", spread),
        ("fee_per_unit", fee_per_unit),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ImpactModelError(f"{name} must be a finite number, got {value!r}")
    if daily_volume <= 0:
        raise ImpactModelError(f"daily_volume must be positive, got {daily_volume!r}")
    if daily_sigma_price < 0 or spread < 0 or fee_per_unit < 0:
        raise ImpactModelError("daily_sigma_price, spread and fee_per_unit must not be negative")
    return {
        "sigma": float(daily_sigma_price),
        "eta": ATHL_ETA * daily_sigma_price / daily_volume**ATHL_BETA,
        "gamma": ATHL_GAMMA * daily_sigma_price / daily_volume**ATHL_ALPHA,
        "epsilon": spread / 2.0 + fee_per_unit,
        "beta": ATHL_BETA,
        "alpha": ATHL_ALPHA,
    }
