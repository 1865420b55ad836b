"""A slow backtest strategy: buys one lot every ``every`` bars and spends ``sleep_s`` on each bar.

After ``marker_after`` bars it creates ``marker`` (a file), so a test knows the engine is running
before it signals the process.
"""

from __future__ import annotations

import time
from pathlib import Path

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class SlowBarsConfig(StrategyConfig, frozen=True, forbid_unknown_fields=True):
    instrument_id: str
    bar_type: str
    marker: str
    marker_after: int = 100
    every: int = 50
    sleep_s: float = 0.002


class SlowBars(Strategy):
    """Trades a little and slowly; says when it got going."""

    def __init__(self, config: SlowBarsConfig) -> None:
        super().__init__(config)
        self._instrument_id = InstrumentId.from_str(config.instrument_id)
        self._seen = 0

    def on_start(self) -> None:
        self.subscribe_bars(BarType.from_str(self.config.bar_type))

    def on_bar(self, bar: Bar) -> None:
        self._seen += 1
        if self._seen % self.config.every == 0:
            instrument = self.cache.instrument(self._instrument_id)
            order = self.order_factory.market(self._instrument_id, OrderSide.BUY, instrument.make_qty(1))
            self.submit_order(order)
        if self._seen == self.config.marker_after:
            Path(self.config.marker).touch()
        time.sleep(self.config.sleep_s)
