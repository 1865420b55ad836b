"""The ``exec_algorithm_params`` a strategy attaches to a parent order for the Almgren-Chriss algorithm.

A strategy passes a plain dict (it travels with the order through caches and, in live, databases), so
every value may be a number or a string. Parsing happens once, when the parent reaches the algorithm;
any problem becomes one line that the strategy receives as the parent's ``OrderDenied`` reason.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from pydantic import Field, ValidationError, field_validator

from macrofund.config.base import FrozenModel
from macrofund.config.run_config import parse_duration, validation_message
from macrofund.venues.sim.config import ImpactParams

# Impact-model keys a strategy may override per order (same names and units as [venues.fill_model.impact]).
IMPACT_OVERRIDE_KEYS = ("sigma", "eta", "gamma", "epsilon", "beta", "alpha", "trading_day_hours")
# The four coefficients without defaults: an instrument with no configured parameters needs all of them.
REQUIRED_IMPACT_KEYS = ("sigma", "eta", "gamma", "epsilon")
# A schedule beyond this many slices is a typo, not an execution plan (one timer per slice).
MAX_SLICES = 10_000


class ParamsError(ValueError):
    """The parent's parameters cannot be executed; the message is the denial reason, one line."""


class AlmgrenChrissOrderParams(FrozenModel):
    """What one parent order asks for: horizon, number of slices, risk aversion, optional overrides."""

    horizon: timedelta
    slices: int = Field(ge=1, le=MAX_SLICES)
    risk_aversion: float = Field(ge=0, allow_inf_nan=False)
    sigma: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    eta: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    gamma: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    epsilon: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    beta: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    alpha: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    trading_day_hours: float | None = Field(default=None, gt=0, le=24, allow_inf_nan=False)

    @field_validator("horizon", mode="before")
    @classmethod
    def _horizon(cls, value: object) -> timedelta:
        # A bare number (or numeric string) is seconds; otherwise a duration such as "30m" or "2h".
        if isinstance(value, str) and _is_number(value):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite number of seconds, got {value!r}")
        duration = parse_duration(value)
        if duration <= timedelta(0):
            raise ValueError("must be positive")
        return duration

    @field_validator("slices", mode="before")
    @classmethod
    def _whole_slices(cls, value: object) -> object:
        # True is an int to Python and 2.5 would be truncated; neither is a number of slices.
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"expected a whole number of slices, got {value!r}")
        return value

    @field_validator("risk_aversion", *IMPACT_OVERRIDE_KEYS, mode="before")
    @classmethod
    def _no_bools(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        return value

    @property
    def horizon_ns(self) -> int:
        """The horizon in nanoseconds (the kernel clock's unit)."""
        return (
            self.horizon.days * 86_400_000_000_000
            + self.horizon.seconds * 1_000_000_000
            + self.horizon.microseconds * 1_000
        )

    def overrides(self) -> dict[str, float]:
        """The impact-model values this order overrides."""
        return {k: v for k in IMPACT_OVERRIDE_KEYS if (v := getattr(self, k)) is not None}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_order_params(raw: dict[str, Any] | None) -> AlmgrenChrissOrderParams:
    """Validate a parent's ``exec_algorithm_params``; ``ParamsError`` names the key and the problem."""
    if not raw:
        raise ParamsError(
            "exec_algorithm_params missing: pass horizon (seconds or '30m'), slices and risk_aversion"
        )
    try:
        return AlmgrenChrissOrderParams.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(validation_message("exec_algorithm_params", exc)) from None


def resolve_impact(
    instrument_id: str, configured: ImpactParams | None, params: AlmgrenChrissOrderParams
) -> ImpactParams:
    """The instrument's configured impact parameters with this order's overrides applied."""
    base: dict[str, Any] = configured.model_dump() if configured is not None else {}
    merged = {**base, **params.overrides()}
    missing = [k for k in REQUIRED_IMPACT_KEYS if k not in merged]
    if missing:
        raise ParamsError(
            f"no Almgren-Chriss parameters for {instrument_id}: add [venues.fill_model.impact.<ROOT>] to "
            f"the run config, or pass {', '.join(missing)} in exec_algorithm_params"
        )
    try:
        return ImpactParams.model_validate(merged)
    except ValidationError as exc:
        raise ParamsError(validation_message(f"impact parameters for {instrument_id}", exc)) from None
