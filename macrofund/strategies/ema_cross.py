"""Always-in-the-market EMA crossover: the reference single-instrument strategy.

It is deliberately small and cheap per bar (it runs over a million bars in ``bench/``), and it follows
every parity rule in ``docs/strategies.md`` so the same class behaves the same in backtest, paper and
live: it sizes from its own net position (not the instrument's across strategies), never from fill
counts or ``OrderAccepted``, and it treats any open or in-flight order as exposure it must wait for.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.indicators.averages import ExponentialMovingAverage
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from macrofund.errors import ConfigError
from macrofund.positions import netting_unless_set, own_net_position
from macrofund.risk.events import TOPIC_KILL_SWITCH, KillSwitchStep

_ZERO = Decimal(0)
# Denial reasons that mean "trading is halted": macrofund's kill switch and Nautilus's own HALTED state.
_HALT_REASONS = ("KILL_SWITCH", "TradingState.HALTED")
_MARKET_TIFS = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "DAY": TimeInForce.DAY,
}


class EmaCrossConfig(StrategyConfig, frozen=True, forbid_unknown_fields=True):
    """Configuration of :class:`EmaCross`.

    ``instrument_id`` and ``bar_type`` may be given as strings in a TOML/JSON run config
    (``"ESZ3.CME"``, ``"ESZ3.CME-1-MINUTE-LAST-EXTERNAL"``); Nautilus parses them on load.
    Invalid values raise :class:`macrofund.errors.ConfigError` at construction, so a bad run config
    fails before any data is read.
    """

    instrument_id: InstrumentId
    bar_type: BarType
    fast_period: int = 10
    slow_period: int = 30
    trade_size: Decimal = Decimal(1)
    close_positions_on_stop: bool = False
    # Market orders' time in force. Venues that refuse a resting TIF on a market order (B3 over FIX)
    # need "IOC"; keep the same value in backtest and paper so every mode sends the same intents.
    time_in_force: str = "GTC"

    def __post_init__(self) -> None:
        """Refuse configurations that cannot produce a crossover or a tradeable size."""
        name = type(self).__name__
        if self.fast_period < 1:
            raise ConfigError(f"{name}: fast_period must be >= 1, was {self.fast_period}")
        if self.fast_period >= self.slow_period:
            raise ConfigError(
                f"{name}: fast_period ({self.fast_period}) must be less than slow_period "
                f"({self.slow_period})",
            )
        if not self.trade_size > 0:
            raise ConfigError(f"{name}: trade_size must be positive, was {self.trade_size}")
        if self.time_in_force not in _MARKET_TIFS:
            raise ConfigError(
                f"{name}: time_in_force must be one of {', '.join(_MARKET_TIFS)}, was {self.time_in_force!r}"
            )
        if self.bar_type.instrument_id != self.instrument_id:
            raise ConfigError(
                f"{name}: bar_type {self.bar_type} is not for instrument_id {self.instrument_id}",
            )


class EmaCross(Strategy):
    """Hold +trade_size while the fast EMA is above the slow EMA and -trade_size while below.

    Once both EMAs are initialised the strategy is always in the market: on every bar it computes the
    target net position (unchanged when the EMAs are exactly equal) and, if its own net position
    differs, submits ONE market order for the difference. Using the difference rather than a
    fixed "flip" size means a partial fill or a rejection is repaired on the next bar instead of
    compounding. Positions of other strategies (and of the order ticket or trades made outside
    macrofund) are theirs: this strategy neither counts nor undoes them.

    While the strategy has any open or in-flight order on the instrument it submits nothing: in paper
    and live the fill arrives asynchronously, and the portfolio would otherwise still show the old
    position and cause a second, duplicate order.
    """

    def __init__(self, config: EmaCrossConfig) -> None:
        super().__init__(netting_unless_set(config))
        self._instrument_id = config.instrument_id
        self._bar_type = config.bar_type
        self._trade_size = config.trade_size
        self._close_on_stop = config.close_positions_on_stop
        self._tif = _MARKET_TIFS[config.time_in_force]
        self.fast_ema = ExponentialMovingAverage(config.fast_period)
        self.slow_ema = ExponentialMovingAverage(config.slow_period)
        self._instrument: Instrument | None = None
        self._target: Decimal = _ZERO
        # The last order this strategy submitted. Between ``submit_order`` and the venue's
        # ``OrderSubmitted`` the order is INITIALIZED, which the cache's open/in-flight indexes do not
        # cover; in live the risk and execution engines are queues, so that window is real.
        self._last_order: Order | None = None
        # Set when the kill switch (or a halted trading state) denies our order: re-submitting on every
        # bar would only fill the audit trail with denials. Cleared when trading is re-enabled.
        self._halted = False

    def on_start(self) -> None:
        """Look up the instrument, wire the EMAs to the bars and subscribe."""
        instrument = self.cache.instrument(self._instrument_id)
        if instrument is None:
            self.log.error(f"Instrument {self._instrument_id} not in the cache; stopping")
            self.stop()
            return
        # A size off the instrument's size grid (1.5 futures) could never be reached exactly, and the
        # strategy would chase the fractional remainder with zero-quantity orders.
        if instrument.make_qty(self._trade_size).as_decimal() != self._trade_size:
            self.log.error(
                f"trade_size {self._trade_size} is not a multiple of {instrument.id}'s size increment "
                f"{instrument.size_increment}; stopping",
            )
            self.stop()
            return
        self._instrument = instrument
        self.msgbus.subscribe(TOPIC_KILL_SWITCH, self._on_kill_switch_step)
        self.register_indicator_for_bars(self._bar_type, self.fast_ema)
        self.register_indicator_for_bars(self._bar_type, self.slow_ema)
        self.subscribe_bars(self._bar_type)

    def on_bar(self, bar: Bar) -> None:
        """Move the net position to the EMA target; indicators are updated before this runs."""
        # The slow EMA initialises last (fast_period < slow_period is validated).
        if not self.slow_ema.initialized or self._instrument is None or self._halted:
            return
        fast = self.fast_ema.value
        slow = self.slow_ema.value
        if fast > slow:
            self._target = self._trade_size
        elif fast < slow:
            self._target = -self._trade_size
        if self._target == _ZERO:  # Equal EMAs before any direction was ever set.
            return
        delta = self._target - own_net_position(self, self._instrument_id)
        if delta == _ZERO or self._has_working_order():
            return
        order = self.order_factory.market(
            instrument_id=self._instrument_id,
            order_side=OrderSide.BUY if delta > _ZERO else OrderSide.SELL,
            quantity=self._instrument.make_qty(abs(delta)),
            time_in_force=self._tif,
        )
        self._last_order = order
        self.submit_order(order)

    def on_order_denied(self, event: OrderDenied) -> None:
        """Stop trying while trading is halted; other denials are retried on the next bar."""
        if event.reason.startswith(_HALT_REASONS):
            self._halted = True

    def _on_kill_switch_step(self, step: KillSwitchStep) -> None:
        if step.step == "reenabled":
            self._halted = False

    def _has_working_order(self) -> bool:
        """Return whether an order of ours on the instrument may still change the position.

        Queries by instrument only: the cache intersects its small open/in-flight index with that
        set, whereas adding ``strategy_id`` would first intersect two ever-growing sets on every bar.
        """
        last = self._last_order
        if last is not None and not last.is_closed:
            return True
        cache = self.cache
        for order in cache.orders_inflight(instrument_id=self._instrument_id):
            if order.strategy_id == self.id:
                return True
        for order in cache.orders_open(instrument_id=self._instrument_id):
            if order.strategy_id == self.id:
                return True
        return False

    @property
    def target_position(self) -> Decimal:
        """The signed net position the strategy is steering towards (0 before warm-up)."""
        return self._target

    def on_stop(self) -> None:
        """Cancel our working orders; flatten only if configured, since flattening costs spread."""
        self.cancel_all_orders(self._instrument_id)
        if self._close_on_stop:
            self.close_all_positions(self._instrument_id)

    def on_reset(self) -> None:
        """Forget indicator state and the target so a reset strategy warms up again."""
        self.fast_ema.reset()
        self.slow_ema.reset()
        self._target = _ZERO
        self._last_order = None
        self._halted = False
