"""A buy-2/sell-2 round trip through Nautilus's BacktestEngine gives the P&L computed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import BRL, USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

from macrofund.venues.contracts import futures_contract, parse_contract_code, spec_for
from macrofund.venues.fees import ContractFeeModel


class RoundTripConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    quantity: int = 2


class RoundTrip(Strategy):
    """Buys on the first bar and sells the same quantity on the third: one closed round trip."""

    def __init__(self, config: RoundTripConfig) -> None:
        super().__init__(config)
        self.bars_seen = 0
        self.fills: list[tuple[OrderSide, Price, Money]] = []

    def on_start(self) -> None:
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        self.bars_seen += 1
        side = {1: OrderSide.BUY, 3: OrderSide.SELL}.get(self.bars_seen)
        if side is not None:
            qty = Quantity.from_int(self.config.quantity)
            self.submit_order(self.order_factory.market(self.config.instrument_id, side, qty))

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills.append((event.order_side, event.last_px, event.commission))


@dataclass(frozen=True)
class Case:
    instrument_id: str
    reference: date
    currency: Currency
    closes: tuple[str, ...]  # bar closes; fills happen at bars 1 and 3
    fees: dict[str, str] | None


CASES = {
    "CME ES": Case("ESZ6.CME", date(2026, 1, 1), USD, ("5000.25", "5003.00", "5010.75", "5011.00"), None),
    "B3 WIN": Case("WINZ26.B3", date(2026, 1, 1), BRL, ("128000", "128100", "128455", "128500"),
                   {"WIN": "0.37"}),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_round_trip_pnl_and_commissions_match_hand_computation(case: Case) -> None:
    instrument = futures_contract(case.instrument_id, reference=case.reference)
    spec = spec_for(parse_contract_code(instrument.raw_symbol.value, case.reference).root)
    venue = Venue(spec.venue)
    start = Money(1_000_000, case.currency)

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    try:
        engine.add_venue(
            venue=venue,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            starting_balances=[start],
            base_currency=case.currency,
            fee_model=ContractFeeModel(case.fees),
        )
        engine.add_instrument(instrument)
        bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
        t0 = int(datetime(2026, 6, 2, 14, 0, tzinfo=UTC).timestamp()) * 1_000_000_000
        bars = [
            Bar(
                bar_type,
                Price.from_str(close),
                Price.from_str(close),
                Price.from_str(close),
                Price.from_str(close),
                Quantity.from_int(100),
                t0 + i * 60_000_000_000,
                t0 + i * 60_000_000_000,
            )
            for i, close in enumerate(case.closes)
        ]
        engine.add_data(bars)
        strategy = RoundTrip(RoundTripConfig(instrument_id=instrument.id, bar_type=bar_type))
        engine.add_strategy(strategy)
        engine.run()

        # By hand: 2 x (exit - entry) x multiplier - 2 fills x 2 contracts x fee.
        fee = Decimal((case.fees or {}).get(spec.root, spec.fee_per_contract))
        qty = Decimal(2)
        per_fill = Money(qty * fee, case.currency)
        assert strategy.fills == [
            (OrderSide.BUY, Price.from_str(case.closes[0]), per_fill),
            (OrderSide.SELL, Price.from_str(case.closes[2]), per_fill),
        ]
        gross = qty * (Decimal(case.closes[2]) - Decimal(case.closes[0])) * spec.multiplier
        commissions = 2 * qty * fee
        expected = gross - commissions

        positions = engine.cache.positions(instrument_id=instrument.id)
        assert len(positions) == 1
        position = positions[0]
        assert position.is_closed
        assert position.commissions() == [Money(commissions, case.currency)]
        assert position.realized_pnl == Money(expected, case.currency)

        account = engine.portfolio.account(venue)
        assert account.balance_total(case.currency) == Money(start.as_decimal() + expected, case.currency)
    finally:
        engine.dispose()
