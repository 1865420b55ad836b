"""Multi-instrument macro trend following on daily bars with volatility-targeted sizing.

Signal: an EMA crossover per instrument (fast EMA of the daily close above the slow EMA = long, below =
short, exactly equal = keep the previous direction). It was chosen over time-series momentum (the sign
of the ``slow_lookback``-day return) because it reacts smoothly, needs no price history buffer beyond
the volatility window and reuses Nautilus's EMA, whose values a test can reproduce with pandas
``ewm(span=n, adjust=False)``.

Sizing: the portfolio volatility target is split EQUALLY across the instruments, each gets
``target_annual_vol / n_instruments``. This ignores correlations: with uncorrelated instruments the
realised portfolio volatility is about ``target_annual_vol / sqrt(n)``, with perfectly correlated ones
it is ``target_annual_vol``; the equal split therefore never overshoots the target. Per instrument::

    contracts = floor(vol_budget * equity / (std(daily price change) * multiplier * sqrt(252)))

capped at ``max_contracts``, where ``equity`` is the total balance of the account at the instrument's
venue, in the instrument's settlement currency (so a B3 contract is sized from the BRL account and a
CME contract from the USD account, with no FX conversion), and the standard deviation is the sample
standard deviation (ddof=1) of the last ``vol_lookback`` close-to-close changes in price points.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from nautilus_trader.config import StrategyConfig
from nautilus_trader.indicators.averages import ExponentialMovingAverage
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import BarAggregation, OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from macrofund.errors import ConfigError
from macrofund.positions import netting_unless_set, own_net_position

TRADING_DAYS_PER_YEAR = 252


class MacroTrendConfig(StrategyConfig, frozen=True, forbid_unknown_fields=True):
    """Configuration of :class:`MacroTrend`.

    ``bar_types`` holds one DAILY bar type per instrument, e.g. ``"ESZ3.CME-1-DAY-LAST-EXTERNAL"``;
    instruments may sit on different venues and currencies. ``max_contracts`` has no default on
    purpose: it is the one hard size limit, so the author must choose it. Invalid values raise
    :class:`macrofund.errors.ConfigError` at construction.
    """

    bar_types: list[BarType]
    max_contracts: int
    fast_lookback: int = 20
    slow_lookback: int = 100
    vol_lookback: int = 60
    target_annual_vol: float = 0.10
    rebalance_threshold: float = 0.25

    def __post_init__(self) -> None:
        """Refuse configurations that cannot size or signal sensibly."""
        name = type(self).__name__
        if not self.bar_types:
            raise ConfigError(f"{name}: bar_types must name at least one daily bar type")
        ids = [bt.instrument_id for bt in self.bar_types]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{name}: bar_types must have one bar type per instrument, got {ids}")
        for bt in self.bar_types:
            spec = bt.spec
            if spec.aggregation != BarAggregation.DAY or spec.step != 1:
                raise ConfigError(f"{name}: bar_types must be 1-DAY bars, got {bt}")
        if self.fast_lookback < 1:
            raise ConfigError(f"{name}: fast_lookback must be >= 1, was {self.fast_lookback}")
        if self.fast_lookback >= self.slow_lookback:
            raise ConfigError(
                f"{name}: fast_lookback ({self.fast_lookback}) must be less than slow_lookback "
                f"({self.slow_lookback})",
            )
        if self.vol_lookback < 2:
            raise ConfigError(f"{name}: vol_lookback must be >= 2, was {self.vol_lookback}")
        if not self.target_annual_vol > 0:
            raise ConfigError(f"{name}: target_annual_vol must be positive, was {self.target_annual_vol}")
        if self.max_contracts < 1:
            raise ConfigError(f"{name}: max_contracts must be >= 1, was {self.max_contracts}")
        if not self.rebalance_threshold >= 0:
            raise ConfigError(
                f"{name}: rebalance_threshold must be >= 0, was {self.rebalance_threshold}",
            )


@dataclass
class _Leg:
    """Per-instrument state: indicators, the volatility window and the last order we sent."""

    bar_type: BarType
    fast: ExponentialMovingAverage
    slow: ExponentialMovingAverage
    changes: deque[float]
    instrument: Instrument | None = None
    last_close: float | None = None
    direction: int = 0
    last_order: Order | None = None
    unsized_warned: bool = field(default=False)


def vol_target_contracts(
    vol_budget: float,
    equity: float,
    daily_change_std: float,
    multiplier: float,
    max_contracts: int,
) -> int:
    """Return the unsigned whole-contract size that targets ``vol_budget`` annualised volatility.

    Exposed as a function so tests and notebooks use exactly the strategy's formula.
    """
    risk_per_contract = daily_change_std * multiplier * math.sqrt(TRADING_DAYS_PER_YEAR)
    if risk_per_contract <= 0.0 or equity <= 0.0:
        return 0
    contracts = vol_budget * equity / risk_per_contract
    if not math.isfinite(contracts):  # a near-zero volatility estimate: the cap is the size
        return max_contracts
    return min(max_contracts, math.floor(contracts))


def needs_rebalance(target: int, current: int, threshold: float) -> bool:
    """Return whether moving from ``current`` to ``target`` contracts is worth an order.

    Trades only when the gap is at least one contract AND larger than ``threshold * |target|``, so
    small volatility wiggles do not churn the position. Closing (target 0) and flips always qualify.
    """
    gap = abs(target - current)
    return gap >= 1 and gap > threshold * abs(target)


class MacroTrend(Strategy):
    """Trend-following across several futures, each sized to an equal share of a volatility target.

    On every daily bar of an instrument: update its EMAs and volatility window, compute the signed
    target in whole contracts, and if the rebalance rule says so submit ONE market order for the
    difference from its own net position. Nothing is submitted for an instrument while one of
    our orders on it is open or in flight, for the same parity reason as :class:`EmaCross`.
    """

    def __init__(self, config: MacroTrendConfig) -> None:
        super().__init__(netting_unless_set(config))
        self._max_contracts = config.max_contracts
        self._threshold = config.rebalance_threshold
        self._vol_budget = config.target_annual_vol / len(config.bar_types)
        self._legs: dict[InstrumentId, _Leg] = {
            bt.instrument_id: _Leg(
                bar_type=bt,
                fast=ExponentialMovingAverage(config.fast_lookback),
                slow=ExponentialMovingAverage(config.slow_lookback),
                changes=deque(maxlen=config.vol_lookback),
            )
            for bt in config.bar_types
        }

    @property
    def vol_budget_per_instrument(self) -> float:
        """Annualised volatility budget of each instrument (the equal split of the target)."""
        return self._vol_budget

    def on_start(self) -> None:
        """Resolve every instrument, wire its EMAs and subscribe to its daily bars."""
        for instrument_id, leg in self._legs.items():
            instrument = self.cache.instrument(instrument_id)
            if instrument is None:
                self.log.error(f"Instrument {instrument_id} not in the cache; stopping")
                self.stop()
                return
            leg.instrument = instrument
        for leg in self._legs.values():
            self.register_indicator_for_bars(leg.bar_type, leg.fast)
            self.register_indicator_for_bars(leg.bar_type, leg.slow)
            self.subscribe_bars(leg.bar_type)

    def on_bar(self, bar: Bar) -> None:
        """Update the instrument's signal and volatility, then rebalance it if needed."""
        leg = self._legs.get(bar.bar_type.instrument_id)
        if leg is None or leg.instrument is None:
            return
        close = bar.close.as_double()
        if leg.last_close is not None:
            leg.changes.append(close - leg.last_close)
        leg.last_close = close
        if not leg.slow.initialized:
            return
        if leg.fast.value > leg.slow.value:
            leg.direction = 1
        elif leg.fast.value < leg.slow.value:
            leg.direction = -1
        if len(leg.changes) < (leg.changes.maxlen or 0) or leg.direction == 0:
            return
        self._rebalance(leg)

    def target_contracts(self, instrument_id: InstrumentId) -> int | None:
        """Return the signed whole-contract target for an instrument, or None while warming up."""
        leg = self._legs[instrument_id]
        if leg.instrument is None or not leg.slow.initialized or leg.direction == 0:
            return None
        if len(leg.changes) < (leg.changes.maxlen or 0):
            return None
        instrument = leg.instrument
        account = self.portfolio.account(instrument.id.venue)
        balance = None if account is None else account.balance_total(instrument.quote_currency)
        if balance is None:
            if not leg.unsized_warned:
                self.log.warning(
                    f"No {instrument.quote_currency} balance at {instrument.id.venue} to size "
                    f"{instrument.id}; it will not trade",
                )
                leg.unsized_warned = True
            return None
        contracts = vol_target_contracts(
            self._vol_budget,
            balance.as_double(),
            _sample_std(leg.changes),
            float(instrument.multiplier),
            self._max_contracts,
        )
        return leg.direction * contracts

    def _rebalance(self, leg: _Leg) -> None:
        instrument = leg.instrument
        assert instrument is not None  # Checked by the caller; narrows the type for mypy.
        target = self.target_contracts(instrument.id)
        if target is None or self._has_working_order(leg):
            return
        current = int(own_net_position(self, instrument.id))
        if not needs_rebalance(target, current, self._threshold):
            return
        delta = target - current
        order = self.order_factory.market(
            instrument_id=instrument.id,
            order_side=OrderSide.BUY if delta > 0 else OrderSide.SELL,
            quantity=instrument.make_qty(abs(delta)),
        )
        leg.last_order = order
        self.submit_order(order)

    def _has_working_order(self, leg: _Leg) -> bool:
        """Return whether one of our orders on the leg's instrument may still change its position.

        The last submitted order is checked directly because it is INITIALIZED (in neither cache
        index) until the execution client reports it submitted.
        """
        if leg.last_order is not None and not leg.last_order.is_closed:
            return True
        instrument_id = leg.bar_type.instrument_id
        for order in self.cache.orders_inflight(instrument_id=instrument_id):
            if order.strategy_id == self.id:
                return True
        return any(o.strategy_id == self.id for o in self.cache.orders_open(instrument_id=instrument_id))

    def on_stop(self) -> None:
        """Cancel working orders; positions are kept, a macro book is not flattened on a restart."""
        for instrument_id in self._legs:
            self.cancel_all_orders(instrument_id)

    def on_reset(self) -> None:
        """Forget all signal and volatility state so the strategy warms up again."""
        for leg in self._legs.values():
            leg.fast.reset()
            leg.slow.reset()
            leg.changes.clear()
            leg.last_close = None
            leg.direction = 0
            leg.last_order = None


def _sample_std(values: deque[float]) -> float:
    """Sample standard deviation (ddof=1), matching pandas ``Series.std()``."""
    n = len(values)
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
