"""Suggest Almgren-Chriss fill-model parameters for one contract from a bar file.

The estimates (daily sigma and volume, ``macrofund.venues.impact.estimate``) are turned into model
coefficients by ``scaled_2005_parameters``: the ATHL 2005 equity estimates in normalised form, the only
defensible default when a desk has no fills of its own to fit. The result is an ``ImpactParams`` and a
TOML (or JSON) snippet ready to paste under ``[venues.fill_model.impact.<ROOT>]``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.model.data import BarType
from numpy.typing import NDArray

from macrofund.adapters.files import read_bars
from macrofund.errors import DataError
from macrofund.venues.contracts import ContractSpec, futures_contract, spec_for_symbol
from macrofund.venues.impact import ImpactModelError, scaled_2005_parameters
from macrofund.venues.impact.estimate import MarketEstimates, estimate_market
from macrofund.venues.sim.config import ImpactParams


@dataclass(frozen=True)
class Calibration:
    """What ``macrofund calibrate`` found and suggests for one contract."""

    instrument_id: str
    root: str
    source: Path
    estimates: MarketEstimates
    tick: float
    params: ImpactParams


def trading_day_hours(spec: ContractSpec) -> float:
    """Length of the contract's regular session (its first weekly window): 23 h on CME Globex."""
    window = spec.session.windows[0]
    opened = datetime.combine(datetime(2000, 1, 3).date(), window.open_time)
    closed = datetime.combine(datetime(2000, 1, 3).date(), window.close_time)
    closed += timedelta(days=window.days_to_close())
    return (closed - opened).total_seconds() / 3600.0


def session_day_ids(ts_ns: NDArray[np.int64], spec: ContractSpec) -> NDArray[np.int64]:
    """Trading-day id of each timestamp: the local date on which its session opened.

    Shifting local time back by the session's open time makes one session one date even when it crosses
    midnight (CME's 17:00-16:00 Chicago session), so a day's bars are never split.
    """
    window = spec.session.windows[0]
    open_offset = pd.Timedelta(hours=window.open_time.hour, minutes=window.open_time.minute)
    local = pd.to_datetime(ts_ns, utc=True).tz_convert(spec.session.timezone).tz_localize(None)
    shifted = (local - open_offset).normalize()
    return np.asarray(shifted.to_numpy(dtype="datetime64[ns]").astype(np.int64) // 86_400_000_000_000)


def calibrate(path: Path, instrument_id: str, spread_ticks: float = 1.0) -> Calibration:
    """Estimate sigma and daily volume from the bars in ``path`` and scale the 2005 parameters to them.

    ``spread_ticks`` is the typical bid/ask spread in ticks (bars carry no spread): epsilon is half of
    it. Fees are NOT folded into epsilon: the venue's fee model (``[venues.fees]``) charges them.
    Raises ``DataError``/``UnknownInstrumentError``/``ImpactModelError`` with a one-line reason.
    """
    if not math.isfinite(spread_ticks) or spread_ticks < 0:
        raise ImpactModelError(f"--spread-ticks must be a non-negative number, got {spread_ticks!r}")
    instrument = futures_contract(instrument_id)
    spec = spec_for_symbol(instrument.id.symbol.value)
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    columns = read_bars(path, instrument, bar_type)
    if len(columns) == 0:
        raise DataError(f"{path}: no bars")
    tick = float(instrument.price_increment.as_decimal())
    closes = columns.closes.astype(np.float64) * tick
    volumes = columns.volumes.astype(np.float64) / 10**columns.size_precision
    try:
        estimates = estimate_market(columns.ts, closes, volumes, session_day_ids(columns.ts, spec))
    except ImpactModelError as exc:
        raise DataError(f"{path}: {exc}") from None
    coefficients = scaled_2005_parameters(
        daily_volume=estimates.daily_volume,
        daily_sigma_price=estimates.daily_sigma,
        spread=spread_ticks * tick,
        fee_per_unit=0.0,
    )
    params = ImpactParams(
        **coefficients,
        trading_day_hours=round(trading_day_hours(spec), 6),
        daily_volume=estimates.daily_volume,
    )
    return Calibration(instrument_id, spec.root, path, estimates, tick, params)


def _number(value: float) -> str:
    """A TOML/JSON float literal with 6 significant digits (always with a '.' or an exponent)."""
    text = f"{value:.6g}"
    return text if any(c in text for c in ".e") else f"{text}.0"


_COMMENTS = {
    "sigma": "price units per sqrt(trading day)",
    "eta": "temporary impact: price per contract per (contracts/day)^beta",
    "gamma": "permanent impact: price per contract per contract traded",
    "epsilon": "half the spread, price units (fees come from [venues.fees])",
    "beta": "temporary impact exponent (ATHL 2005)",
    "alpha": "permanent impact exponent (ATHL 2005)",
    "trading_day_hours": "length of the trading day the time unit refers to",
    "daily_volume": "average contracts per day seen in the data (informational)",
}


def render_toml(result: Calibration) -> str:
    """The ``[venues.fill_model.impact.<ROOT>]`` table, with units, ready to paste under a venue."""
    est = result.estimates
    kind = "daily bars" if est.daily_bars else f"{est.bars_per_day:.0f} bars/day"
    lines = [
        f"# macrofund calibrate: {result.instrument_id} from {result.source.name}",
        f"# {est.days} trading days, {est.bars} bars ({kind}); eta and gamma are the ATHL 2005",
        "# estimates scaled to this contract's daily sigma and volume (docs/fill-model.md).",
        f"[venues.fill_model.impact.{result.root}]",
    ]
    fields = result.params.model_dump(exclude_none=True)
    width = max(len(f"{k} = {_number(v)}") for k, v in fields.items())
    for key, value in fields.items():
        assignment = f"{key} = {_number(value)}"
        lines.append(f"{assignment:<{width}}  # {_COMMENTS[key]}")
    return "\n".join(lines) + "\n"


def render_json(result: Calibration) -> str:
    """The same parameters as a JSON object keyed by root (for scripts)."""
    fields = {k: float(_number(v)) for k, v in result.params.model_dump(exclude_none=True).items()}
    return json.dumps({result.root: fields}, indent=2) + "\n"
