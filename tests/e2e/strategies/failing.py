"""A strategy with a bug: it raises in one chosen handler, after it has left work behind.

On its first bar or quote it rests a limit buy far below the market and buys one lot at market. Then
``fail_in`` raises: ``on_order_filled`` on that fill, ``on_quote_tick`` / ``on_bar`` on the
``fail_after``-th one. The tests check that the run stops in order when a user's handler raises.
``fail_in = "shutdown"`` instead asks for the end deliberately (``shutdown_system``) at that point;
``fail_in = "on_start"`` / ``"on_stop"`` raise when the run starts / stops it.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType, QuoteTick
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class FailingStrategyConfig(StrategyConfig, frozen=True, forbid_unknown_fields=True):
    """``bar_type`` set: trade on bars (a backtest), else on quotes."""

    instrument_id: str
    fail_in: str  # on_order_filled | on_quote_tick | on_bar | shutdown | on_start | on_stop
    fail_after: int = 3
    bar_type: str | None = None


class FailingStrategy(Strategy):
    """Rests one order, fills one, then raises in ``fail_in``."""

    def __init__(self, config: FailingStrategyConfig) -> None:
        super().__init__(config)
        self._instrument_id = InstrumentId.from_str(config.instrument_id)
        self._seen = 0

    def on_start(self) -> None:
        if self.config.fail_in == "on_start":
            raise RuntimeError("strategy bug in on_start")
        if self.config.bar_type is not None:
            self.subscribe_bars(BarType.from_str(self.config.bar_type))
        else:
            self.subscribe_quote_ticks(self._instrument_id)

    def _on_market(self, reference: Decimal, handler: str) -> None:
        self._seen += 1
        if self._seen == 1:
            instrument = self.cache.instrument(self._instrument_id)
            tick = instrument.price_increment.as_decimal()
            far_below = instrument.make_price((reference * Decimal("0.95") / tick).to_integral_value() * tick)
            resting = self.order_factory.limit(
                self._instrument_id, OrderSide.BUY, instrument.make_qty(1), far_below, TimeInForce.GTC
            )
            self.submit_order(resting)
            # IOC: B3 refuses a resting time in force on a market order.
            market = self.order_factory.market(
                self._instrument_id, OrderSide.BUY, instrument.make_qty(1), TimeInForce.IOC
            )
            self.submit_order(market)
        if self._seen == self.config.fail_after:
            if self.config.fail_in == handler:
                raise ValueError(f"strategy bug in {handler} #{self._seen}")
            if self.config.fail_in == "shutdown":
                self.shutdown_system("done for the day")

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self._on_market(tick.bid_price.as_decimal(), "on_quote_tick")

    def on_bar(self, bar: Bar) -> None:
        self._on_market(bar.close.as_decimal(), "on_bar")

    def on_order_filled(self, event: OrderFilled) -> None:
        if self.config.fail_in == "on_order_filled":
            raise RuntimeError(f"strategy bug in on_order_filled ({event.client_order_id})")

    def on_stop(self) -> None:
        if self.config.fail_in == "on_stop":
            raise RuntimeError("strategy bug in on_stop")
