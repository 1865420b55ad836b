"""Run scripted orders through a real Nautilus ``BacktestEngine`` with the venue's fill model.

The engine is built the way ``macrofund.engine.backtest`` builds a venue (``build_fill_model`` on a
``VenueConfig``), but with hand-made flat bars so the arrival price of every order is known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide, TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

from macrofund.config.run_config import VenueConfig
from macrofund.venues.contracts import futures_contract
from macrofund.venues.sim import build_fill_model

INSTRUMENT_ID = "ES.CME"
MINUTE_NS = 60_000_000_000
T0 = 1_704_204_000_000_000_000  # 2024-01-02T14:00:00Z


@dataclass(frozen=True)
class Step:
    """An order the script submits when bar number ``bar`` closes (0-based)."""

    bar: int
    side: str  # "BUY" | "SELL"
    quantity: int
    limit: str | None = None  # a limit price makes it a LIMIT GTC order, else MARKET


class ScriptedOrdersConfig(StrategyConfig, frozen=True):
    instrument_id: str
    bar_type: str
    steps: list[dict[str, Any]]


class ScriptedOrders(Strategy):
    """Submit the configured orders at the configured bars; record every fill."""

    def __init__(self, config: ScriptedOrdersConfig) -> None:
        super().__init__(config)
        self._steps = [Step(**s) for s in config.steps]
        self._count = -1
        self.fills: list[OrderFilled] = []

    def on_start(self) -> None:
        self.subscribe_bars(BarType.from_str(self.config.bar_type))

    def on_bar(self, bar: Bar) -> None:
        self._count += 1
        instrument = self.cache.instrument(InstrumentId.from_str(self.config.instrument_id))
        for step in self._steps:
            if step.bar != self._count:
                continue
            side = OrderSide[step.side]
            qty = Quantity.from_int(step.quantity)
            if step.limit is None:
                order = self.order_factory.market(instrument.id, side, qty)
            else:
                order = self.order_factory.limit(
                    instrument.id, side, qty, Price.from_str(step.limit), time_in_force=TimeInForce.GTC
                )
            self.submit_order(order)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills.append(event)


def flat_bars(instrument: Instrument, closes: list[str], volume: int = 1000) -> tuple[BarType, list[Bar]]:
    """One-minute bars with open = high = low = close, so bid = ask = that close when an order arrives."""
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    bars = []
    for n, close in enumerate(closes):
        price = Price.from_str(close)
        ts = T0 + (n + 1) * MINUTE_NS
        bars.append(Bar(bar_type, price, price, price, price, Quantity.from_int(volume), ts, ts))
    return bar_type, bars


def venue_config(fill_model: dict[str, Any] | None) -> VenueConfig:
    raw: dict[str, Any] = {"name": "CME", "base_currency": "USD", "starting_balances": ["10_000_000 USD"]}
    if fill_model is not None:
        raw["fill_model"] = fill_model
    return VenueConfig.model_validate(raw)


@dataclass(frozen=True)
class Fill:
    ts: int
    side: str
    quantity: Decimal
    price: Decimal


def run_script(fill_model: dict[str, Any] | None, closes: list[str], steps: list[Step]) -> list[Fill]:
    """Run ``steps`` over flat bars at ``closes`` on one CME venue; return the fills in order."""
    instrument = futures_contract(INSTRUMENT_ID)
    bar_type, bars = flat_bars(instrument, closes)
    venue = venue_config(fill_model)
    engine = BacktestEngine(
        BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR", bypass_logging=True))
    )
    try:
        engine.add_venue(
            Venue("CME"),
            OmsType.NETTING,
            AccountType.MARGIN,
            [Money(10_000_000, instrument.quote_currency)],
            base_currency=instrument.quote_currency,
            fill_model=build_fill_model(venue, {INSTRUMENT_ID: instrument}),
        )
        engine.add_instrument(instrument)
        engine.add_data(bars)
        strategy = ScriptedOrders(
            ScriptedOrdersConfig(
                instrument_id=INSTRUMENT_ID,
                bar_type=str(bar_type),
                steps=[s.__dict__ for s in steps],
            )
        )
        engine.add_strategy(strategy)
        engine.run()
        return [
            Fill(
                ts=f.ts_event,
                side=f.order_side.name,
                quantity=f.last_qty.as_decimal(),
                price=f.last_px.as_decimal(),
            )
            for f in strategy.fills
        ]
    finally:
        engine.dispose()


def vwap(fills: list[Fill]) -> Decimal:
    total = sum((f.quantity for f in fills), Decimal(0))
    return sum((f.quantity * f.price for f in fills), Decimal(0)) / total
