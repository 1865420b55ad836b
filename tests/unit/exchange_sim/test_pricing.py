"""The sim prices aggressive orders exactly as the backtest's Almgren-Chriss fill model does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import ClientOrderId, StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import MarketOrder

from macrofund.adapters.exchange_sim.pricing import AlmgrenChrissPricing, TouchPricing
from macrofund.venues.contracts import futures_contract
from macrofund.venues.sim.config import FillModelSettings, ImpactParams
from macrofund.venues.sim.fill_model import AlmgrenChrissFillModel, AlmgrenChrissFillModelConfig

INSTRUMENT = futures_contract("ESZ9.CME")
TICK = INSTRUMENT.price_increment.as_decimal()
HORIZON = timedelta(minutes=1)
HALF_LIFE = timedelta(minutes=30)


def _order(lots: int, buy: bool, ts_ns: int, n: int) -> MarketOrder:
    side = OrderSide.BUY if buy else OrderSide.SELL
    return MarketOrder(
        TraderId("T-1"),
        StrategyId("S-1"),
        INSTRUMENT.id,
        ClientOrderId(f"O-{n}"),
        side,
        Quantity.from_int(lots),
        UUID4(),
        ts_ns,
        TimeInForce.GTC,
    )


@settings(max_examples=100, deadline=None)
@given(
    orders=st.lists(
        st.tuples(st.integers(1, 2_000), st.booleans(), st.integers(0, 3_600)), min_size=1, max_size=4
    ),
    max_levels=st.sampled_from([1, 2]),
    mid_ticks=st.integers(10_000, 40_000),
    eta_ticks=st.floats(0.0, 0.5),
    gamma_ticks=st.floats(0.0, 0.05),
    epsilon_ticks=st.floats(0.0, 2.0),
)
def test_levels_equal_the_backtest_fill_models_book_including_permanent_impact(
    orders: list[tuple[int, bool, int]],
    max_levels: int,
    mid_ticks: int,
    eta_ticks: float,
    gamma_ticks: float,
    epsilon_ticks: float,
) -> None:
    tick = float(TICK)
    params = {
        "sigma": 1.0,
        "eta": eta_ticks * tick,
        "gamma": gamma_ticks * tick,
        "epsilon": epsilon_ticks * tick,
    }
    backtest = AlmgrenChrissFillModel(
        AlmgrenChrissFillModelConfig(
            instruments={"ESZ9.CME": params},
            max_levels=max_levels,
            market_order_horizon_ns=int(HORIZON.total_seconds() * 1e9),
            permanent_impact_half_life_ns=int(HALF_LIFE.total_seconds() * 1e9),
        )
    )
    settings_ = FillModelSettings(
        kind="almgren_chriss",
        impact={"ES": ImpactParams(**params)},
        market_order_horizon=HORIZON,
        permanent_impact_half_life=HALF_LIFE,
        max_levels=max_levels,
    )
    sim = AlmgrenChrissPricing(settings_.params_for("ESZ9.CME"), settings_)
    bid, ask = TICK * mid_ticks, TICK * (mid_ticks + 1)
    ts = 0
    for n, (lots, buy, gap_secs) in enumerate(orders):
        ts += gap_secs * 1_000_000_000
        order = _order(lots, buy, ts, n)
        book = backtest.get_orderbook_for_fill_simulation(
            INSTRUMENT, order, Price(bid, INSTRUMENT.price_precision), Price(ask, INSTRUMENT.price_precision)
        )
        assert book is not None
        fills = book.simulate_fills(order, INSTRUMENT.price_precision, INSTRUMENT.size_precision, True)
        expected = [(p.as_decimal(), int(q.as_decimal())) for p, q in fills]
        assert sim.levels(bid, ask, TICK, lots, buy, None, ts) == expected


def test_touch_pricing_fills_at_the_far_touch_and_respects_a_limit() -> None:
    pricing = TouchPricing()
    bid, ask = Decimal("6000.00"), Decimal("6000.25")
    assert pricing.levels(bid, ask, TICK, 5, True, None, 0) == [(ask, 5)]
    assert pricing.levels(bid, ask, TICK, 5, False, None, 0) == [(bid, 5)]
    assert pricing.levels(bid, ask, TICK, 5, True, Decimal("6000.00"), 0) is None
