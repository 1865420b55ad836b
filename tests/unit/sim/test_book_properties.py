"""Property tests of the Nautilus book the hook returns: matched as the engine does, priced as the model."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import ClientOrderId, StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import MarketOrder

from macrofund.venues.contracts import futures_contract
from macrofund.venues.impact import AlmgrenChriss
from macrofund.venues.sim.fill_model import AlmgrenChrissFillModel, AlmgrenChrissFillModelConfig

INSTRUMENTS = {"ES.CME": futures_contract("ES.CME"), "6E.CME": futures_contract("6E.CME")}
HORIZON_NS = 60_000_000_000


@settings(max_examples=150, deadline=None)
@given(
    instrument_id=st.sampled_from(sorted(INSTRUMENTS)),
    lots=st.integers(min_value=1, max_value=5_000),
    buy=st.booleans(),
    max_levels=st.sampled_from([1, 2]),
    mid_ticks=st.integers(min_value=1_000, max_value=100_000),
    half_spread_ticks=st.integers(min_value=0, max_value=3),
    eta_ticks=st.floats(min_value=0.0, max_value=0.5),
    beta=st.floats(min_value=0.3, max_value=1.5),
    epsilon_ticks=st.floats(min_value=0.0, max_value=2.0),
)
def test_book_vwap_is_within_one_tick_of_the_model_and_sizes_sum_to_the_order(
    instrument_id: str,
    lots: int,
    buy: bool,
    max_levels: int,
    mid_ticks: int,
    half_spread_ticks: int,
    eta_ticks: float,
    beta: float,
    epsilon_ticks: float,
) -> None:
    instrument = INSTRUMENTS[instrument_id]
    tick = instrument.price_increment.as_decimal()
    params = {
        "sigma": 1.0,
        "eta": eta_ticks * float(tick),
        "gamma": 0.0,
        "epsilon": epsilon_ticks * float(tick),
        "beta": beta,
    }
    model = AlmgrenChrissFillModel(
        AlmgrenChrissFillModelConfig(
            instruments={instrument_id: params}, max_levels=max_levels, market_order_horizon_ns=HORIZON_NS
        )
    )
    side = OrderSide.BUY if buy else OrderSide.SELL
    order = MarketOrder(
        TraderId("T-1"),
        StrategyId("S-1"),
        instrument.id,
        ClientOrderId("O-1"),
        side,
        Quantity.from_int(lots),
        UUID4(),
        0,
        TimeInForce.GTC,
    )
    precision = instrument.price_precision
    bid = Price((mid_ticks - half_spread_ticks) * tick, precision)
    ask = Price((mid_ticks + half_spread_ticks) * tick, precision)
    book = model.get_orderbook_for_fill_simulation(instrument, order, bid, ask)
    assert book is not None
    fills = book.simulate_fills(order, precision, instrument.size_precision, True)

    assert sum(q.as_decimal() for _, q in fills) == lots  # the full size, exactly
    assert len(fills) <= max_levels
    assert all(p.as_decimal() % tick == 0 for p, _ in fills)
    vwap = sum(p.as_decimal() * q.as_decimal() for p, q in fills) / lots
    tau = model.impact_for(instrument).tau_days
    cost = AlmgrenChriss(**params).temporary_impact_per_unit(lots, tau)
    expected = mid_ticks * tick + Decimal(repr(cost)) * (1 if buy else -1)
    adverse = (vwap - expected) * (1 if buy else -1)
    assert -tick * Decimal("1e-6") <= adverse < tick
