"""A ladder of resting GTC limit orders around a fixed price: working orders that fill over time.

The restart test needs orders that rest at the venue and fill while the node is down. The strategy
places ``levels`` buys below and ``levels`` sells above ``center`` (``step`` apart) once per run: a
restarted session that got its working orders back (``macrofund.engine.restore``) places nothing new.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class RestingLadderConfig(StrategyConfig, frozen=True, forbid_unknown_fields=True):
    """Where the ladder sits: ``center`` and ``step`` in Nautilus prices, ``levels`` per side."""

    instrument_id: str
    center: str
    step: str
    levels: int = 8
    trade_size: str = "1"


class RestingLadder(Strategy):
    """Places the ladder at start unless the cache already holds orders of this strategy."""

    def __init__(self, config: RestingLadderConfig) -> None:
        super().__init__(config)
        self._instrument_id = InstrumentId.from_str(config.instrument_id)
        self._center = Decimal(config.center)
        self._step = Decimal(config.step)
        self._levels = config.levels
        self._size = Decimal(config.trade_size)

    def on_start(self) -> None:
        restored = self.cache.orders_open(strategy_id=self.id) + self.cache.orders_inflight(
            strategy_id=self.id
        )
        if restored:
            self.log.info(f"{len(restored)} working order(s) carried over: no new ladder")
            return
        instrument = self.cache.instrument(self._instrument_id)
        if instrument is None:
            self.log.error(f"{self._instrument_id} is not in the cache")
            return
        for level in range(1, self._levels + 1):
            for side, sign in ((OrderSide.BUY, -1), (OrderSide.SELL, 1)):
                order = self.order_factory.limit(
                    instrument_id=self._instrument_id,
                    order_side=side,
                    quantity=instrument.make_qty(self._size),
                    price=instrument.make_price(self._center + sign * level * self._step),
                    time_in_force=TimeInForce.GTC,
                )
                self.submit_order(order)
