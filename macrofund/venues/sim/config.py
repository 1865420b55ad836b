"""Fill-model settings per venue (``[venues.fill_model]`` in the run config).

Almgren-Chriss parameters are per instrument, keyed by contract root (``ES``) or instrument id
(``ESZ6.CME``; the id wins). Units follow ``macrofund.venues.impact``: prices in the instrument's
quote units per contract, time in trading days of ``trading_day_hours`` hours.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from macrofund.config.base import FrozenModel
from macrofund.errors import ConfigError

if TYPE_CHECKING:
    from macrofund.venues.impact import AlmgrenChriss


class ImpactParams(FrozenModel):
    """Almgren-Chriss parameters of one instrument (see docs/impact-model.md)."""

    sigma: float = Field(ge=0)  # price units per sqrt(trading day)
    eta: float = Field(ge=0)  # temporary impact coefficient
    gamma: float = Field(ge=0)  # permanent impact coefficient
    epsilon: float = Field(ge=0)  # fixed cost per contract: half spread + fees, price units
    beta: float = Field(default=1.0, gt=0)  # temporary impact exponent
    alpha: float = Field(default=1.0, gt=0)  # permanent impact exponent
    trading_day_hours: float = Field(default=23.0, gt=0, le=24)
    daily_volume: float | None = Field(default=None, gt=0)  # informational: what the calibration saw

    def model(self) -> AlmgrenChriss:
        """The impact model these parameters describe (one place builds it: fill model, venue, algorithm)."""
        from macrofund.venues.impact import AlmgrenChriss

        return AlmgrenChriss(
            sigma=self.sigma,
            eta=self.eta,
            gamma=self.gamma,
            epsilon=self.epsilon,
            beta=self.beta,
            alpha=self.alpha,
        )

    def in_trading_days(self, duration_ns: float) -> float:
        """A duration in the model's time unit: trading days of ``trading_day_hours`` hours."""
        return duration_ns / (self.trading_day_hours * 3_600_000_000_000)


class FillModelSettings(FrozenModel):
    """Which fill model the simulated exchange uses, and its per-instrument parameters.

    ``market_order_horizon`` is the execution interval tau of ONE market order: a q-lot order trades at
    the rate q / tau, with tau converted to trading days of the instrument's ``trading_day_hours``.
    ``permanent_impact_half_life`` is how fast the permanent price offset left by our own fills decays.
    ``max_levels`` 1 (default) fills the whole order at the model price rounded adversely to the tick
    (VWAP within one tick of the model, one fill per order: the engine pays ~0.8 ms per fill); 2 splits
    it over two adjacent ticks so the VWAP is within tick/q, at the cost of a second fill for most
    orders. See docs/fill-model.md.
    """

    kind: Literal["default", "almgren_chriss"] = "default"
    impact: dict[str, ImpactParams] = Field(default_factory=dict)
    market_order_horizon: timedelta = timedelta(minutes=1)
    permanent_impact_half_life: timedelta = timedelta(minutes=30)
    max_levels: Literal[1, 2] = 1
    random_seed: int = Field(default=42, ge=0)

    @field_validator("market_order_horizon", "permanent_impact_half_life", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        from macrofund.config.run_config import parse_duration  # run_config imports this module

        duration = parse_duration(value)
        if duration <= timedelta(0):
            raise ValueError("must be a positive duration")
        return duration

    @model_validator(mode="after")
    def _needs_params(self) -> FillModelSettings:
        if self.kind == "almgren_chriss" and not self.impact:
            raise ValueError("kind = 'almgren_chriss' needs [venues.fill_model.impact.<ROOT>] parameters")
        return self

    def params_for(self, instrument_id: str) -> ImpactParams:
        """Parameters for ``ESZ6.CME`` (by id, else by its root); ``ConfigError`` naming what is missing."""
        if instrument_id in self.impact:
            return self.impact[instrument_id]
        from macrofund.venues.contracts import spec_for_symbol

        root = spec_for_symbol(instrument_id.rsplit(".", 1)[0]).root
        if root in self.impact:
            return self.impact[root]
        raise ConfigError(
            f"fill_model.impact: no Almgren-Chriss parameters for {instrument_id} "
            f"(add [venues.fill_model.impact.{root}] or run `macrofund calibrate`)"
        )
