"""ExecutionReport / OrderCancelReject parsing, the event mapping, fill accounting, exact round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity

from macrofund.adapters.cme.profile import CmeGatewayProfile
from macrofund.adapters.fix.message import FixFieldError, FixMessage
from macrofund.adapters.fix.translate import (
    EventKind,
    ExecKind,
    FillAccumulator,
    OrderState,
    fix_side,
    format_utc_timestamp,
    nautilus_side,
    new_order_single,
    parse_cancel_reject,
    parse_execution_report,
    parse_utc_timestamp,
    report_to_event_kind,
)


def _er(**fields: str) -> FixMessage:
    base = {
        11: "O-1", 37: "V-1", 17: "E-1", 150: "0", 39: "0", 54: "1", 55: "ESZ6", 38: "10",
        14: "0", 151: "10", 6: "0", 60: "20261201-20:00:00.250",
    }  # fmt: skip
    for key, value in fields.items():
        tag = int(key.lstrip("t"))
        if value == "":
            base.pop(tag, None)
        else:
            base[tag] = value
    return FixMessage("8", list(base.items()))


def _fill(exec_id: str, last_qty: str, last_px: str, cum: str, leaves: str, status: str) -> FixMessage:
    return _er(t17=exec_id, t150="F", t39=status, t32=last_qty, t31=last_px, t14=cum, t151=leaves)


def test_new_report_is_accepted_with_exact_fields() -> None:
    view = parse_execution_report(_er())
    assert view.exec_kind == ExecKind.NEW and view.order_state == OrderState.NEW
    assert report_to_event_kind(view) == EventKind.ACCEPTED
    assert (view.cl_ord_id, view.order_id, view.side) == ("O-1", "V-1", OrderSide.BUY)
    assert view.transact_time_ns == 1_796_155_200_250_000_000


def test_partial_fills_sum_to_the_order_with_an_exact_average() -> None:
    reports = [
        _fill("E-2", "3", "6012.25", "3", "7", "1"),
        _fill("E-3", "3", "6012.50", "6", "4", "1"),
        _fill("E-4", "4", "6012.75", "10", "0", "2"),
    ]
    fills = FillAccumulator(Decimal(10))
    kinds = []
    for message in reports:
        view = parse_execution_report(message)
        kinds.append(report_to_event_kind(view))
        assert fills.apply(view)
        assert fills.cum_qty == view.cum_qty and fills.leaves_qty == view.leaves_qty
    assert kinds == [EventKind.PARTIALLY_FILLED, EventKind.PARTIALLY_FILLED, EventKind.FILLED]
    # (3*6012.25 + 3*6012.50 + 4*6012.75) / 10
    assert fills.avg_px == Decimal("6012.525")


def test_duplicate_exec_id_is_not_booked_twice() -> None:
    fills = FillAccumulator(Decimal(10))
    view = parse_execution_report(_fill("E-2", "3", "6012.25", "3", "7", "1"))
    assert fills.apply(view) is True
    assert fills.apply(view) is False
    assert fills.cum_qty == 3


def test_a_missed_fill_is_detected_not_booked() -> None:
    fills = FillAccumulator(Decimal(10))
    fills.apply(parse_execution_report(_fill("E-2", "3", "6012.25", "3", "7", "1")))
    with pytest.raises(FixFieldError, match="tag 14=9 but the fills received sum to 6"):
        fills.apply(parse_execution_report(_fill("E-4", "3", "6012.50", "9", "1", "1")))
    assert fills.cum_qty == 3


def test_average_uses_the_nautilus_price_when_given() -> None:
    fills = FillAccumulator(Decimal(2))
    fills.apply(
        parse_execution_report(_fill("E-1", "1", "14.500", "1", "1", "1")), last_px=Decimal("76399.25")
    )
    fills.apply(
        parse_execution_report(_fill("E-2", "1", "14.505", "2", "0", "2")), last_px=Decimal("76392.62")
    )
    assert fills.avg_px == Decimal("76395.935")


def test_reject_surfaces_the_venue_text() -> None:
    view = parse_execution_report(_er(t150="8", t39="8", t151="0", t58="Price out of band", t103="99"))
    assert report_to_event_kind(view) == EventKind.REJECTED
    assert view.text == "Price out of band" and view.ord_rej_reason == "99"


def test_replaced_report_names_the_previous_cl_ord_id() -> None:
    view = parse_execution_report(
        _er(t150="5", t39="0", t11="R-1", t41="O-1", t38="12", t151="12", t44="6013.00")
    )
    assert report_to_event_kind(view) == EventKind.REPLACED
    assert (view.cl_ord_id, view.orig_cl_ord_id, view.order_qty, view.price) == (
        "R-1", "O-1", Decimal(12), Decimal("6013.00"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("exec_type", "status", "kind"),
    [
        ("C", "C", EventKind.EXPIRED),
        ("4", "4", EventKind.CANCELED),
        ("A", "A", EventKind.PENDING),
        ("6", "6", EventKind.PENDING),
        ("E", "E", EventKind.PENDING),
        ("L", "0", EventKind.TRIGGERED),
        ("I", "1", EventKind.STATUS),
        ("D", "0", EventKind.RESTATED),
        ("3", "3", EventKind.UNHANDLED),
        ("H", "0", EventKind.UNHANDLED),
    ],
)
def test_exec_type_maps_to_an_event_kind(exec_type: str, status: str, kind: EventKind) -> None:
    view = parse_execution_report(_er(t150=exec_type, t39=status))
    assert report_to_event_kind(view) == kind


def test_legacy_fill_exec_types_are_fills() -> None:
    partial = _er(t150="1", t39="1", t32="2", t31="6012.25", t14="2", t151="8")
    full = _er(t150="2", t39="2", t32="10", t31="6012.25", t14="10", t151="0")
    assert report_to_event_kind(parse_execution_report(partial)) == EventKind.PARTIALLY_FILLED
    assert report_to_event_kind(parse_execution_report(full)) == EventKind.FILLED


def test_cancel_reject_carries_reason_and_request() -> None:
    message = FixMessage("9", [(11, "C-1"), (41, "O-1"), (37, "NONE"), (39, "8"), (434, "1"), (102, "1"),
                              (58, "Unknown order")])  # fmt: skip
    view = parse_cancel_reject(message)
    assert report_to_event_kind(view) == EventKind.CANCEL_REJECTED
    assert (view.cl_ord_id, view.orig_cl_ord_id, view.order_id) == ("C-1", "O-1", None)
    assert view.cxl_rej_reason == "1" and view.reason == "Unknown order; CxlRejReason=1"
    replace = parse_cancel_reject(FixMessage("9", [(11, "R-1"), (37, "V-1"), (434, "2")]))
    assert report_to_event_kind(replace) == EventKind.MODIFY_REJECTED
    assert replace.reason == "rejected by venue (no reason given)"


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"t150": ""}, "required tag 150 is missing"),
        ({"t150": "Z"}, "tag 150='Z' is not a valid ExecKind"),
        ({"t39": "X"}, "tag 39='X' is not a valid OrderState"),
        ({"t14": "abc"}, "tag 14='abc' is not a number"),
        ({"t151": "-1"}, "tag 151=-1 must not be negative"),
        ({"t37": ""}, "required tag 37 is missing"),
        ({"t17": ""}, "required tag 17 is missing"),
        ({"t54": "5"}, "tag 54='5' is not a supported Side"),
        ({"t14": "11"}, "tag 14=11 exceeds tag 38=10"),
        ({"t60": "2026-12-01 20:00"}, "tag 60='2026-12-01 20:00' is not a UTCTimestamp"),
        ({"t150": "F", "t39": "1", "t32": "2"}, "required tag 31 is missing on a trade"),
        ({"t150": "F", "t39": "1", "t31": "1"}, "required tag 32 is missing"),
        ({"t150": "F", "t39": "1", "t31": "1", "t32": "0"}, "tag 32=0 on a trade"),
        ({"t6": "NaN"}, "tag 6='NaN' is not a finite number"),
    ],
)
def test_malformed_reports_name_the_tag(fields: dict[str, str], match: str) -> None:
    with pytest.raises(FixFieldError, match=match):
        parse_execution_report(_er(**fields))


def test_wrong_message_types_and_bad_cancel_rejects() -> None:
    with pytest.raises(FixFieldError, match="not an ExecutionReport"):
        parse_execution_report(FixMessage("9"))
    with pytest.raises(FixFieldError, match="not an OrderCancelReject"):
        parse_cancel_reject(FixMessage("8"))
    with pytest.raises(FixFieldError, match="tag 434='3'"):
        parse_cancel_reject(FixMessage("9", [(11, "C"), (434, "3")]))
    with pytest.raises(FixFieldError, match="required tag 11"):
        parse_cancel_reject(FixMessage("9", [(434, "1")]))


_NS = st.integers(min_value=0, max_value=4_102_444_799_999_000_000).map(lambda n: n - n % 1_000_000)


@given(_NS)
def test_utc_timestamps_round_trip_at_millisecond_precision(ts: int) -> None:
    assert parse_utc_timestamp(format_utc_timestamp(ts)) == ts


def test_utc_timestamp_keeps_nanoseconds() -> None:
    assert parse_utc_timestamp("19700101-00:00:01.000000007") == 1_000_000_007


@given(st.sampled_from([OrderSide.BUY, OrderSide.SELL]))
def test_side_codes_round_trip(side: OrderSide) -> None:
    assert nautilus_side(fix_side(side)) == side


_PROFILE = CmeGatewayProfile(operator_id="OPS", location="US,IL")


@settings(max_examples=200)
@given(
    raw=st.integers(min_value=1, max_value=10**12),
    precision=st.integers(min_value=0, max_value=9),
    qty=st.integers(min_value=1, max_value=10**9),
)
def test_prices_and_quantities_reach_the_wire_and_come_back_exactly(
    raw: int, precision: int, qty: int
) -> None:
    price = Price(Decimal(raw).scaleb(-precision), precision)
    order = OrderFactory(TraderId("T-001"), StrategyId("S-001"), TestClock()).limit(
        InstrumentId.from_str("ESZ6.CME"), OrderSide.BUY, Quantity.from_int(qty), price
    )
    message = new_order_single(order, _PROFILE, 0)
    assert Decimal(message.require(44)) == price.as_decimal()
    assert Decimal(message.require(38)) == qty
    # ... and a fill at that price on that quantity reads back exactly.
    report = parse_execution_report(
        _er(
            t150="F",
            t39="2",
            t38=message.require(38),
            t32=message.require(38),
            t31=message.require(44),
            t14=message.require(38),
            t151="0",
            t6=message.require(44),
        )
    )
    assert report.last_px == price.as_decimal() and report.avg_px == price.as_decimal()
    assert report.last_qty == qty and report.cum_qty == qty
