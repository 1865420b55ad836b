"""The B3 EntryPoint profile on the wire: exact tags, in order, for every message and order kind."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId, StrategyId, TraderId, VenueOrderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from pydantic import ValidationError

from macrofund.adapters.b3.profile import B3EntryPointProfile, SelfTradePrevention
from macrofund.adapters.b3.symbology import B3Symbology
from macrofund.adapters.fix.translate import (
    FixTranslationError,
    new_order_single,
    order_cancel_replace_request,
    order_cancel_request,
    order_mass_cancel_request,
    order_status_request,
)

TS = 1_767_621_600_123_000_000  # 2026-01-05T14:00:00.123Z, 11:00 in Sao Paulo
STAMP = "20260105-14:00:00.123"
WIN = InstrumentId.from_str("WINZ26.B3")
DI1 = InstrumentId.from_str("DI1F27.B3")

PROFILE = B3EntryPointProfile(
    account="12345",
    entering_firm="308",
    entering_trader="TRDR01",
    sender_location="DMA1",
    memo="macro-book",
    self_trade_prevention=SelfTradePrevention.CANCEL_AGGRESSOR,
    symbology=B3Symbology(security_ids={"WINZ26.B3": "100000123"}),
)
PARTIES = [(453, "3"), (448, "308"), (447, "D"), (452, "7"), (448, "TRDR01"), (447, "D"), (452, "36"),
           (448, "DMA1"), (447, "D"), (452, "54")]  # fmt: skip
WIN_BLOCK = [(55, "WINZ26"), (48, "100000123"), (22, "8"), (207, "BVMF")]
TRAILING = [(5149, "macro-book"), (35004, "1")]


def _factory() -> OrderFactory:
    return OrderFactory(TraderId("T-001"), StrategyId("S-001"), TestClock())


def _order(
    kind: str, tif: TimeInForce = TimeInForce.DAY, instrument: InstrumentId = WIN, **kw: object
) -> Order:
    f = _factory()
    side = kw.pop("side", OrderSide.BUY)
    qty = Quantity.from_int(3)
    extra = {"time_in_force": tif}
    if tif == TimeInForce.GTD:
        extra["expire_time"] = pd.Timestamp("2026-01-20T21:00:00Z")  # 18:00 on the 20th in Sao Paulo
    price = Price.from_str(str(kw.pop("price", "128005")))
    trigger = Price.from_str(str(kw.pop("trigger", "128100")))
    if kind == "market":
        return f.market(instrument, side, qty, **extra)
    if kind == "limit":
        return f.limit(instrument, side, qty, price, **extra)
    if kind == "stop":
        return f.stop_market(instrument, side, qty, trigger, **extra)
    return f.stop_limit(instrument, side, qty, price, trigger, **extra)


_TERMS = {
    "market": [(40, "1")],
    "limit": [(40, "2"), (44, "128005")],
    "stop": [(40, "3"), (99, "128100")],
    "stop_limit": [(40, "4"), (44, "128005"), (99, "128100")],
}
_TIF = {
    TimeInForce.DAY: [(59, "0")],
    TimeInForce.GTC: [(59, "1")],
    TimeInForce.IOC: [(59, "3")],
    TimeInForce.FOK: [(59, "4")],
    TimeInForce.GTD: [(59, "6"), (432, "20260120")],
}
_CASES = [
    (kind, tif)
    for kind in _TERMS
    for tif in _TIF
    if not (kind == "market" and tif in (TimeInForce.GTC, TimeInForce.GTD))
]


@pytest.mark.parametrize(("kind", "tif"), _CASES)
def test_new_order_single_tags_on_the_wire(kind: str, tif: TimeInForce) -> None:
    order = _order(kind, tif)
    message = new_order_single(order, PROFILE, TS)
    assert message.msg_type == "D"
    assert message.fields == [
        (11, order.client_order_id.value), *PARTIES, (1, "12345"), *WIN_BLOCK,
        (54, "1"), (60, STAMP), (38, "3"), *_TERMS[kind], *_TIF[tif], *TRAILING,
    ]  # fmt: skip


def test_resting_market_orders_are_refused() -> None:
    # (Nautilus itself refuses to build a GTD market order.)
    with pytest.raises(FixTranslationError, match="MARKET order cannot be GTC"):
        new_order_single(_order("market", TimeInForce.GTC), PROFILE, TS)


def test_order_types_and_tifs_outside_the_profile_are_refused() -> None:
    narrow = PROFILE.model_copy(update={"order_types": ("limit",), "time_in_force": ("day",)})
    with pytest.raises(FixTranslationError, match="order type STOP_LIMIT is not accepted"):
        new_order_single(_order("stop_limit"), narrow, TS)
    with pytest.raises(FixTranslationError, match="time in force IOC is not accepted"):
        new_order_single(_order("limit", TimeInForce.IOC), narrow, TS)


def test_cancel_uses_the_request_cl_ord_id_and_the_venue_order_id() -> None:
    order = _order("limit")
    order.apply(TestEventStubs.order_submitted(order))
    order.apply(TestEventStubs.order_accepted(order, venue_order_id=VenueOrderId("8001")))
    message = order_cancel_request(order, PROFILE, "CERT-CXL-1", TS)
    assert message.msg_type == "F"
    assert message.fields == [
        (41, order.client_order_id.value), (37, "8001"), (11, "CERT-CXL-1"), *PARTIES, *WIN_BLOCK,
        (54, "1"), (60, STAMP), (38, "3"),
    ]  # fmt: skip


def test_cancel_after_a_replace_refers_to_the_last_cl_ord_id() -> None:
    message = order_cancel_request(_order("limit"), PROFILE, "C-2", TS, orig_cl_ord_id="R-1")
    assert message.get(41) == "R-1"
    assert 37 not in message  # unknown venue order id: not sent


def test_replace_carries_the_new_terms_and_repeats_the_rest() -> None:
    order = _order("stop_limit", TimeInForce.GTD)
    message = order_cancel_replace_request(
        order, PROFILE, "CERT-RPL-1", TS, quantity=Quantity.from_int(5), price=Price.from_str("127990")
    )
    assert message.msg_type == "G"
    assert message.fields == [
        (41, order.client_order_id.value), (11, "CERT-RPL-1"), *PARTIES, (1, "12345"), *WIN_BLOCK,
        (54, "1"), (60, STAMP), (38, "5"), (40, "4"), (44, "127990"), (99, "128100"), (59, "6"),
        (432, "20260120"), *TRAILING,
    ]  # fmt: skip


def test_status_request_names_the_order() -> None:
    order = _order("limit", side=OrderSide.SELL)
    message = order_status_request(order, PROFILE, status_request_id="ST-1")
    assert message.msg_type == "H"
    assert message.fields == [(11, order.client_order_id.value), (790, "ST-1"), *WIN_BLOCK, (54, "2")]


def test_mass_cancel_all_and_by_instrument() -> None:
    everything = order_mass_cancel_request(PROFILE, "KILL-1", TS)
    assert everything.msg_type == "q"
    assert everything.fields == [(11, "KILL-1"), (530, "7"), *PARTIES, (60, STAMP)]
    one = order_mass_cancel_request(PROFILE, "KILL-2", TS, instrument_id=WIN, side=OrderSide.SELL)
    assert one.fields == [(11, "KILL-2"), (530, "1"), *PARTIES, *WIN_BLOCK, (54, "2"), (60, STAMP)]


def test_minimal_profile_sends_no_optional_fields() -> None:
    order = _order("limit")
    message = new_order_single(order, B3EntryPointProfile(), TS)
    assert message.fields == [
        (11, order.client_order_id.value), (55, "WINZ26"), (207, "BVMF"), (54, "1"), (60, STAMP),
        (38, "3"), (40, "2"), (44, "128005"), (59, "0"),
    ]  # fmt: skip


def test_di1_pu_buy_goes_out_as_a_rate_sell_rounded_against_the_buyer() -> None:
    # 5 Jan 2026 to 4 Jan 2027: PU 88,000.00 implies 13.7..%; the 12-month maturity ticks 0.005.
    order = _order("limit", instrument=DI1, price="88000.00")
    message = new_order_single(order, PROFILE, TS)
    assert message.get(54) == "2"
    rate = Decimal(message.get(44) or "")
    assert rate % Decimal("0.005") == 0
    from macrofund.adapters.b3.di1 import business_days, pu_to_rate, rate_to_pu

    du = business_days(pd.Timestamp("2026-01-05").date(), pd.Timestamp("2027-01-04").date())
    assert (
        pu_to_rate(Decimal("88000"), du, places=None)
        <= rate
        < pu_to_rate(Decimal("88000"), du) + Decimal("0.005")
    )
    assert rate_to_pu(rate, du) <= Decimal("88000.00")


def test_di1_pu_sell_goes_out_as_a_rate_buy() -> None:
    order = _order("stop_limit", instrument=DI1, side=OrderSide.SELL, price="88000.00", trigger="88010.00")
    message = new_order_single(order, PROFILE, TS)
    assert message.get(54) == "1"
    assert Decimal(message.get(99) or "") <= Decimal(message.get(44) or "") + Decimal("0.005")


def test_di1_mass_cancel_of_pu_buys_cancels_rate_sells() -> None:
    message = order_mass_cancel_request(PROFILE, "K", TS, instrument_id=DI1, side=OrderSide.BUY)
    assert message.get(54) == "2"


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"memo": "x" * 51}, "at most 50 characters"),
        ({"account": ""}, "account"),
        ({"entering_trader": "a\x01b"}, "entering_trader"),
        ({"order_types": ()}, "at least one"),
        ({"order_types": ("iceberg",)}, "order_types"),
        ({"self_trade_prevention": "9"}, "self_trade_prevention"),
        ({"memo_tag": 0}, "memo_tag"),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_profile_validation_names_the_key(update: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        B3EntryPointProfile(**update)  # type: ignore[arg-type]


def test_symbology_config_refuses_non_b3_ids_and_maps_back() -> None:
    with pytest.raises(ValidationError, match="only B3 instruments"):
        B3Symbology(security_ids={"ESZ6.CME": "1"})
    with pytest.raises(ValidationError, match="not an instrument id"):
        B3Symbology(security_ids={"nonsense": "1"})
    symbology = PROFILE.symbology
    assert symbology.instrument_id("WINZ26", "100000123") == WIN
    assert symbology.instrument_id("DI1F27") == DI1
