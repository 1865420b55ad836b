"""Estimate the daily price volatility and average daily volume of a contract from its bars.

These are the two market figures ``scaled_2005_parameters`` needs. Pure numpy (no Nautilus), so a
notebook can call it on any arrays; ``macrofund calibrate`` feeds it a validated bar file.

Intraday bars: a trading day's realised variance is the sum of the squared close-to-close changes of
consecutive bars of that day (the change across the break between two days is left out: it is not
trading-time variance and, on venues with a long overnight break such as B3, would dominate), and
``sigma_d`` is the square root of the mean realised variance over full days. Daily bars (one bar per
day): ``sigma_d`` is the standard deviation of the close-to-close changes. Either way ``sigma_d`` is in
price units per sqrt(trading day). The daily volume is the mean volume of full days.

A "full" day has at least half the median number of bars per day: the Sunday-evening stub of a CME week
or a half holiday session would otherwise drag both figures down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from macrofund.venues.impact.errors import ImpactModelError

_NS_PER_DAY = 86_400_000_000_000
# Fewer bars than this fraction of the median day: a partial day, left out of both estimates.
_FULL_DAY_FRACTION = 0.5
# Days needed for an estimate worth printing (a standard deviation needs two changes).
_MIN_DAYS = 2


@dataclass(frozen=True)
class MarketEstimates:
    """What the bars say: ``daily_sigma`` (price / sqrt(day)) and ``daily_volume`` (contracts / day)."""

    daily_sigma: float
    daily_volume: float
    days: int  # full days used
    bars: int  # bars used
    bars_per_day: float  # median bars per day (1 for daily bars)
    daily_bars: bool


def estimate_market(
    ts_ns: NDArray[np.int64],
    closes: NDArray[np.float64],
    volumes: NDArray[np.float64],
    day_ids: NDArray[np.int64] | None = None,
) -> MarketEstimates:
    """Estimate ``sigma_d`` and the average daily volume from bars sorted by time.

    ``day_ids`` names each bar's trading day (any integers, non-decreasing); by default the UTC date.
    A venue whose session crosses midnight UTC should pass session-based ids (``macrofund calibrate``
    does). Raises ``ImpactModelError`` with a one-line reason when the bars cannot support an estimate.
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    price = np.asarray(closes, dtype=np.float64)
    volume = np.asarray(volumes, dtype=np.float64)
    if not (ts.ndim == price.ndim == volume.ndim == 1) or not (ts.size == price.size == volume.size):
        raise ImpactModelError("timestamps, closes and volumes must be 1-D arrays of the same length")
    if not (np.all(np.isfinite(price)) and np.all(np.isfinite(volume))):
        raise ImpactModelError("closes and volumes must be finite numbers")
    if np.any(volume < 0):
        raise ImpactModelError("volumes must not be negative")
    if ts.size and np.any(np.diff(ts) < 0):
        raise ImpactModelError("bars must be sorted by time")
    days = ts // _NS_PER_DAY if day_ids is None else np.asarray(day_ids, dtype=np.int64)
    if days.shape != ts.shape:
        raise ImpactModelError("day_ids must have one entry per bar")

    unique, starts, counts = np.unique(days, return_index=True, return_counts=True)
    if unique.size < _MIN_DAYS:
        raise ImpactModelError(f"need bars from at least {_MIN_DAYS} trading days, got {unique.size}")
    median = float(np.median(counts))
    daily_bars = median <= 1.0
    full = counts >= _FULL_DAY_FRACTION * median
    day_volume = np.add.reduceat(volume, starts)[full]
    daily_volume = float(day_volume.mean())
    if not daily_volume > 0:
        raise ImpactModelError("the bars carry no volume: calibration needs a volume column")

    if daily_bars:
        last_of_day = price[starts + counts - 1][full]
        changes = np.diff(last_of_day)
        if changes.size < 2:
            raise ImpactModelError("need at least 3 daily bars to estimate a daily volatility")
        sigma = float(np.std(changes, ddof=1))
        used_bars = int(full.sum())
    else:
        same_day = days[1:] == days[:-1]
        squared = np.where(same_day, np.diff(price) ** 2, 0.0)
        per_day = np.add.reduceat(np.concatenate(([0.0], squared)), starts)
        sigma = math.sqrt(float(per_day[full].mean()))
        used_bars = int(counts[full].sum())
    if not sigma > 0:
        raise ImpactModelError("prices never change in these bars: cannot estimate a volatility")
    return MarketEstimates(
        daily_sigma=sigma,
        daily_volume=daily_volume,
        days=int(full.sum()),
        bars=used_bars,
        bars_per_day=median,
        daily_bars=daily_bars,
    )
