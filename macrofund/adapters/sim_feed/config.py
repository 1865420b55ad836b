"""Simulator settings (``[feed.sim]`` in the run config) and the Nautilus data-client config."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import LiveDataClientConfig
from pydantic import Field, field_validator

from macrofund.config.base import FrozenModel

#: Plausible starting mid prices per contract root, so a demo looks like the market it names.
DEFAULT_START_PRICES: dict[str, Decimal] = {
    "ES": Decimal("6000"),
    "NQ": Decimal("21000"),
    "ZN": Decimal("110"),
    "ZB": Decimal("115"),
    "6E": Decimal("1.08"),
    "6L": Decimal("0.18"),
    "WIN": Decimal("130000"),
    "IND": Decimal("130000"),
    "DOL": Decimal("5500"),
    "WDO": Decimal("5500"),
}


class SimInstrumentSettings(FrozenModel):
    """Per-instrument overrides (``[feed.sim.instruments."ES"]`` or ``["ESZ6.CME"]``); unset = default."""

    start_price: Decimal | None = Field(default=None, gt=0)
    volatility: float | None = Field(default=None, ge=0, le=5)
    spread_ticks: int | None = Field(default=None, ge=1, le=1000)


class SimFeedSettings(FrozenModel):
    """Seeded GBM price simulator.

    ``volatility`` is annualised (252 trading days) and accrues only in *trading time*: one trading day is
    the length of the instrument's session window (23 h for CME Globex, 9 h 25 min for B3 index futures),
    so an ES path moves about ``volatility / sqrt(252)`` per session whatever the tick rate. ``rate`` is the
    total number of quotes per second over all instruments (each gets an equal share while it trades).
    """

    seed: int = 42
    rate: float = Field(default=20.0, gt=0, le=1_000_000)
    volatility: float = Field(default=0.20, ge=0, le=5)
    drift: float = Field(default=0.0, ge=-5, le=5)  # annualised drift of the log price
    spread_ticks: int = Field(default=1, ge=1, le=1000)
    max_size: int = Field(default=50, ge=1, le=1_000_000)  # quote/trade sizes are uniform on 1..max_size
    # Merton jumps: Poisson arrivals per trading day, log-jump size ~ N(jump_mean, jump_std).
    jumps_per_day: float = Field(default=0.0, ge=0, le=1000)
    jump_mean: float = Field(default=0.0, ge=-1, le=1)
    jump_std: float = Field(default=0.01, ge=0, le=1)
    # Intraday U-shape of variance: 0 = flat; a in [0, 2) puts (1 + a) times the mean variance at the open
    # and close and (1 - a/2) times at mid-session; the day's total variance is unchanged.
    seasonality: float = Field(default=0.0, ge=0, lt=2)
    trade_probability: float = Field(default=0.0, ge=0, le=1)  # chance each quote is followed by a trade
    ignore_sessions: bool = False  # quote around the clock (demos at night, weekends)
    instruments: dict[str, SimInstrumentSettings] = Field(default_factory=dict)

    @field_validator("instruments")
    @classmethod
    def _keys(cls, values: dict[str, SimInstrumentSettings]) -> dict[str, SimInstrumentSettings]:
        for key in values:
            if not key or any(ch.isspace() for ch in key):
                raise ValueError(f"instrument key {key!r} must be a root (ES) or an instrument id (ESZ6.CME)")
        return values


class SimFeedDataClientConfig(LiveDataClientConfig, frozen=True):
    """Nautilus config of ``SimFeedDataClient``: the instruments to quote and the simulator settings as JSON.

    The settings travel as JSON because Nautilus configs are msgspec structs and cannot hold pydantic models.
    """

    instrument_ids: tuple[str, ...] = ()
    settings_json: str = "{}"
    status_interval_secs: float = 1.0
    max_events_per_wakeup: int = 20_000

    def settings(self) -> SimFeedSettings:
        """The validated simulator settings."""
        return SimFeedSettings.model_validate_json(self.settings_json)
