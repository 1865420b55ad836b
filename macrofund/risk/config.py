"""Risk limits and kill-switch settings (``[risk]`` in the run config).

Every limit is optional: a control whose limits are all unset is not even put into the chain, so an
empty ``[risk]`` costs nothing per order. Limits are validated here, at load, so a typo or a negative
cap is a one-line config error before anything starts; cross-references to venues and instruments are
checked when the gate is installed (``macrofund.risk.component``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from macrofund.config.base import FrozenModel

CollarReference = Literal["auto", "last_trade", "mid", "bar_close"]

_ROOT_KEY = re.compile(r"^[A-Z0-9]+$")
_ID_KEY = re.compile(r"^[A-Za-z0-9$!_-]+\.[A-Z0-9_]+$")
_PATTERN_CHARS = set("*?[")
_RATE_KEY = re.compile(r"^[A-Z]{3}/[A-Z]{3}$")
_SCOPE = re.compile(r"^(all|account:[A-Za-z0-9_-]+|strategy:[A-Za-z0-9_.-]+|instrument:[A-Za-z0-9$!_.-]+)$")

SCOPE_HELP = "'all', 'account:<venue>', 'strategy:<strategy id>' or 'instrument:<instrument id>'"

# NautilusTrader's own throttle format: "<count>/<HH:MM:SS>" (its RiskEngineConfig default "100/00:00:01").
_ENGINE_RATE = re.compile(r"^([0-9]+)/([0-9]{2}):([0-5][0-9]):([0-5][0-9])$")
NAUTILUS_DEFAULT_RATE = "100/00:00:01"


def check_engine_rate(value: str) -> str:
    """Return ``value`` if Nautilus's RiskEngine can use it as a rate ('N/HH:MM:SS', N > 0, interval > 0).

    Checked here because Nautilus parses it only when the node is built, with a bare ``ValueError``
    (or, for '100/1s', a silently different interval) instead of a config error naming the key.
    """
    match = _ENGINE_RATE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not 'N/HH:MM:SS' (orders per interval, e.g. '100/00:00:01')")
    count, hours, minutes, seconds = (int(g) for g in match.groups())
    if count <= 0 or hours * 3600 + minutes * 60 + seconds <= 0:
        raise ValueError(f"{value!r}: the count and the interval must both be positive")
    return value


def _duration(value: object) -> timedelta:
    # Imported here: the run config imports this module.
    from macrofund.config.run_config import parse_duration

    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError("must be a positive duration")
    return duration


def _positive(name: str, value: Decimal | int | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


#: Position limits may be 0: ``max_short = 0`` is long-only, ``max_net = 0`` close-only (an order is
#: only denied for a breach it makes worse, so orders that reduce a position still pass).
POSITION_LIMITS = ("max_long", "max_short", "max_net", "max_gross")


def _not_negative(name: str, value: Decimal | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} must be 0 or more, got {value}")


def instrument_key_kind(key: str) -> Literal["instrument", "pattern", "root"]:
    """How an ``[risk.instruments]`` key matches: an instrument id, a glob pattern, or a contract root."""
    if _PATTERN_CHARS & set(key):
        return "pattern"
    if _ID_KEY.match(key):
        return "instrument"
    if _ROOT_KEY.match(key):
        return "root"
    raise ValueError(
        f"{key!r} is not a contract root (ES), an instrument id (ESZ6.CME) or a pattern (DI1F2*.B3)"
    )


def check_scope(scope: str) -> str:
    """Return ``scope`` if it is a valid kill-switch scope, else raise ``ValueError``."""
    if not _SCOPE.match(scope):
        raise ValueError(f"scope {scope!r} is not {SCOPE_HELP}")
    return scope


class InstrumentLimits(FrozenModel):
    """Per-instrument limits. Keys left out inherit from the less specific layer (see ``limits.py``)."""

    max_order_qty: Decimal | None = None  # contracts per order
    max_order_notional: Decimal | None = None  # per order, in the account's currency
    collar_ticks: int | None = None  # a limit/stop price farther than this many ticks from the reference
    collar_bps: Decimal | None = None  # ... or farther than this many basis points
    collar_reference: CollarReference = "auto"  # auto = last trade, else mid, else last bar close
    max_long: Decimal | None = None  # contracts, counting working orders as if filled
    max_short: Decimal | None = None
    max_net: Decimal | None = None
    max_gross: Decimal | None = None

    @model_validator(mode="after")
    def _positive_limits(self) -> InstrumentLimits:
        for name in ("max_order_qty", "max_order_notional", "collar_ticks", "collar_bps"):
            _positive(name, getattr(self, name))
        for name in POSITION_LIMITS:
            _not_negative(name, getattr(self, name))
        return self


class AccountLimits(FrozenModel):
    """Per-account limits; an account is a venue's account (``[risk.accounts.CME]``)."""

    max_long: Decimal | None = (
        None  # contracts summed over the account's instruments, working orders included
    )
    max_short: Decimal | None = None
    max_net: Decimal | None = None
    max_gross: Decimal | None = None
    daily_loss_limit: Decimal | None = None  # realised + unrealised loss since the UTC day began
    kill_on_loss_limit: bool = False  # also trigger the kill switch (scope account:<venue>)

    @model_validator(mode="after")
    def _positive_limits(self) -> AccountLimits:
        for name in POSITION_LIMITS:
            _not_negative(name, getattr(self, name))
        _positive("daily_loss_limit", self.daily_loss_limit)
        if self.kill_on_loss_limit and self.daily_loss_limit is None:
            raise ValueError("kill_on_loss_limit needs a daily_loss_limit")
        return self


class ThrottleConfig(FrozenModel):
    """Message-rate limits per venue, set below the venue's own (CME: 1,500 cancels in 3 s logs you out)."""

    orders_per_second: int | None = None
    cancels_modifies_per_window: int | None = None
    window: timedelta = timedelta(seconds=3)

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> timedelta:
        return _duration(value)

    @model_validator(mode="after")
    def _positive_limits(self) -> ThrottleConfig:
        _positive("orders_per_second", self.orders_per_second)
        _positive("cancels_modifies_per_window", self.cancels_modifies_per_window)
        return self


class DuplicateConfig(FrozenModel):
    """Same instrument, side, quantity and price within ``window`` is denied unless tagged as intended."""

    window: timedelta | None = None  # off unless set
    intended_tag: str = Field(default="INTENDED_DUPLICATE", min_length=1)
    # "account": another strategy's identical order counts too (a strategy deployed twice by mistake);
    # "strategy": only the strategy's own, so independent strategies may send the same order.
    scope: Literal["strategy", "account"] = "account"

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> timedelta | None:
        return None if value is None else _duration(value)


class SelfTradeConfig(FrozenModel):
    """An order that would cross our own resting opposite order: deny it, or cancel the resting one."""

    scope: Literal["off", "strategy", "account"] = "off"
    action: Literal["deny", "cancel_resting"] = "deny"


class KillSwitchConfig(FrozenModel):
    """Kill-switch behaviour: operator polling, the scheduled drill, and how positions are flattened."""

    drill_at: datetime | None = None  # a scheduled kill (backtest drill), UTC
    drill_scope: str = "all"
    flatten: bool = False  # also close every position in scope (drill and loss-limit kills)
    flatten_with: Literal["market", "AC"] = "market"  # "AC" falls back to market when not registered
    ac_params: dict[str, Any] = Field(
        default_factory=lambda: {"horizon": "5m", "slices": 5, "risk_aversion": 0.0}
    )
    control: bool = True  # poll <run-dir>/control/ for operator requests (`macrofund kill`)
    poll_interval: timedelta = timedelta(seconds=1)  # wall-clock time between polls, in every mode

    @field_validator("drill_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("poll_interval", mode="before")
    @classmethod
    def _poll(cls, value: object) -> timedelta:
        return _duration(value)

    @field_validator("drill_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return check_scope(value)


class RiskConfig(FrozenModel):
    """Pre-trade limits per account and instrument, and kill-switch triggers."""

    enabled: bool = True
    # "BRL/USD" = 0.19 means 1 BRL = 0.19 USD; the inverse pair is derived.
    fx_rates: dict[str, Decimal] = Field(default_factory=dict)
    defaults: InstrumentLimits = Field(default_factory=InstrumentLimits)
    # Keyed by contract root ("ES"), glob pattern ("DI1F2*.B3") or instrument id ("ESZ6.CME").
    instruments: dict[str, InstrumentLimits] = Field(default_factory=dict)
    accounts: dict[str, AccountLimits] = Field(default_factory=dict)
    throttle: ThrottleConfig = Field(default_factory=ThrottleConfig)
    duplicates: DuplicateConfig = Field(default_factory=DuplicateConfig)
    self_trade: SelfTradeConfig = Field(default_factory=SelfTradeConfig)
    kill_switch: KillSwitchConfig = Field(default_factory=KillSwitchConfig)
    # Sim-time interval of the loss re-check that pulls the kill switch between orders and fills
    # (only for accounts with kill_on_loss_limit; denials are decided at order time regardless).
    loss_check_interval: timedelta = timedelta(minutes=5)
    # NautilusTrader's RiskEngine throttle, applied after our chain in every mode (also with
    # enabled = false): orders past it are denied "Exceeded MAX_ORDER_SUBMIT_RATE". Its default suits
    # one strategy; a burst-heavy node (or the live benchmark) raises it. 'N/HH:MM:SS'.
    engine_max_order_submit_rate: str = NAUTILUS_DEFAULT_RATE
    engine_max_order_modify_rate: str = NAUTILUS_DEFAULT_RATE

    @field_validator("engine_max_order_submit_rate", "engine_max_order_modify_rate")
    @classmethod
    def _engine_rate(cls, value: str) -> str:
        return check_engine_rate(value)

    @field_validator("loss_check_interval", mode="before")
    @classmethod
    def _loss_interval(cls, value: object) -> timedelta:
        return _duration(value)

    @field_validator("fx_rates")
    @classmethod
    def _rates(cls, values: dict[str, Decimal]) -> dict[str, Decimal]:
        for key, rate in values.items():
            if not _RATE_KEY.match(key):
                raise ValueError(f"fx_rates key {key!r} is not 'FROM/TO', e.g. 'BRL/USD'")
            if rate <= 0:
                raise ValueError(f"fx_rates.{key} must be positive, got {rate}")
        return values

    @field_validator("instruments")
    @classmethod
    def _instrument_keys(cls, values: dict[str, InstrumentLimits]) -> dict[str, InstrumentLimits]:
        for key in values:
            instrument_key_kind(key)
        return values
