"""Venue-side messages agree with the client-side translation: what one side builds the other reads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity

from macrofund.adapters.b3.di1 import DI1PriceConvention, di1_maturity
from macrofund.adapters.b3.profile import B3EntryPointProfile
from macrofund.adapters.cme.profile import CmeGatewayProfile
from macrofund.adapters.exchange_sim.messages import (
    execution_report,
    parse_cancel,
    parse_new_order,
    parse_replace,
)
from macrofund.adapters.exchange_sim.orders import VenueOrder
from macrofund.adapters.fix.codec import decode, encode
from macrofund.adapters.fix.message import FixFieldError, FixMessage
from macrofund.adapters.fix.translate import (
    FillAccumulator,
    new_order_single,
    order_cancel_replace_request,
    order_cancel_request,
    parse_execution_report,
)

TS = 1_900_000_000_000_000_000
FACTORY = OrderFactory(TraderId("T-001"), StrategyId("S-001"), TestClock())


def _wire(message: FixMessage) -> FixMessage:
    return decode(encode(message, "MF01", "CME", 2, "20300317-00:00:00.000"))


def test_client_orders_parse_into_the_same_terms_on_the_venue_side() -> None:
    profile = CmeGatewayProfile(operator_id="OPS", location="US,IL", account="FUND01")
    order = FACTORY.limit(
        InstrumentId.from_str("ESZ9.CME"), OrderSide.SELL, Quantity.from_int(3), Price.from_str("6012.25")
    )
    request = parse_new_order(_wire(new_order_single(order, profile, TS)))
    assert (request.cl_ord_id, request.instrument.symbol, request.side, request.qty) == (
        order.client_order_id.value,
        "ESZ9",
        "2",
        Decimal(3),
    )
    assert (request.ord_type, request.price, request.tif, request.account) == (
        "2",
        Decimal("6012.25"),
        "1",  # the factory's default time in force: GTC
        "FUND01",
    )
    cancel = parse_cancel(_wire(order_cancel_request(order, profile, "C-2", TS)))
    assert (cancel.cl_ord_id, cancel.orig_cl_ord_id) == ("C-2", order.client_order_id.value)
    replace = parse_replace(
        _wire(order_cancel_replace_request(order, profile, "C-3", TS, price=Price.from_str("6013.00")))
    )
    assert (replace.orig_cl_ord_id, replace.order.cl_ord_id, replace.order.price) == (
        order.client_order_id.value,
        "C-3",
        Decimal("6013.00"),
    )


def test_di1_pu_order_arrives_as_a_rate_order_with_the_side_flipped() -> None:
    order = FACTORY.limit(
        InstrumentId.from_str("DI1F33.B3"), OrderSide.BUY, Quantity.from_int(10), Price.from_str("60000.00")
    )
    request = parse_new_order(_wire(new_order_single(order, B3EntryPointProfile(), TS)))
    assert request.side == "2"  # buying PU is selling the rate
    assert request.price is not None
    convention = DI1PriceConvention(di1_maturity(2033, 1))
    assert convention.price_from_wire(request.price, TS) <= Decimal("60000.00")  # a rate, never a worse PU


def test_fill_reports_read_back_exactly_by_the_client_parser() -> None:
    order = VenueOrder("CME-1", "MF01", "A1", "ESZ9.CME", "ESZ9", "1", "1", "0", Decimal(3), None, None)
    accumulator = FillAccumulator(Decimal(3))
    for n, (qty, px) in enumerate([(Decimal(1), Decimal("6000.25")), (Decimal(2), Decimal("6000.50"))]):
        order.book_fill(qty, px)
        view = parse_execution_report(
            _wire(execution_report(order, f"E{n}", "F", TS, last_qty=qty, last_px=px))
        )
        assert accumulator.apply(view)
        assert view.avg_px == accumulator.avg_px
    assert (view.order_state.value, view.leaves_qty, view.cum_qty) == ("2", 0, 3)
    assert accumulator.avg_px == Decimal("6000.416666666667")


@pytest.mark.parametrize(
    ("fields", "tag"),
    [
        ([(11, "A"), (55, "ESZ9"), (54, "1"), (40, "1")], "tag 38"),
        ([(11, "A"), (54, "1"), (38, "1"), (40, "1")], "tag 55"),
        ([(11, "A"), (55, "ESZ9"), (54, "5"), (38, "1"), (40, "1")], "tag 54"),
        ([(11, "A"), (55, "ESZ9"), (54, "1"), (38, "x"), (40, "1")], "tag 38='x' is not a number"),
        ([(55, "ESZ9"), (54, "1"), (38, "1"), (40, "1")], "tag 11"),
    ],
)
def test_malformed_new_order_names_the_tag(fields: list[tuple[int, str]], tag: str) -> None:
    with pytest.raises(FixFieldError, match=tag):
        parse_new_order(FixMessage("D", fields))
