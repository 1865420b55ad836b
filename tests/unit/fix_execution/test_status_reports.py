"""Status answers (150=I) -> Nautilus ``OrderStatusReport``s: what start-up reconciliation relies on."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from nautilus_trader.model.identifiers import AccountId, ClientOrderId
from nautilus_trader.model.objects import Price, Quantity

from macrofund.adapters.b3.profile import B3EntryPointProfile
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.reconciliation import order_status, order_status_report, seeded_view
from macrofund.adapters.fix.translate import IDENTITY, FillAccumulator, parse_execution_report
from macrofund.venues.contracts import futures_contract


def status(state: str, cum: str, leaves: str, side: str = "1", symbol: str = "WINZ26", **more: str):  # type: ignore[no-untyped-def]
    message = FixMessage("8").extend(
        [(37, "V1"), (11, "O-1"), (17, "S1"), (150, "I"), (39, state), (55, symbol), (54, side),
         (38, str(Decimal(cum) + Decimal(leaves))), (14, cum), (151, leaves), (60, "20261125-13:00:00.000")]
    )  # fmt: skip
    for tag, value in more.items():
        message.append(int(tag.removeprefix("t")), value)
    return parse_execution_report(message)


@pytest.mark.parametrize(
    ("state", "cum", "expected"),
    [
        ("0", "0", OrderStatus.ACCEPTED),
        ("0", "2", OrderStatus.PARTIALLY_FILLED),
        ("1", "2", OrderStatus.PARTIALLY_FILLED),
        ("2", "4", OrderStatus.FILLED),
        ("4", "1", OrderStatus.CANCELED),
        ("C", "0", OrderStatus.EXPIRED),
        ("3", "0", OrderStatus.EXPIRED),
        ("8", "0", OrderStatus.REJECTED),
        ("6", "0", OrderStatus.PENDING_CANCEL),
        ("E", "0", OrderStatus.PENDING_UPDATE),
        ("A", "0", OrderStatus.SUBMITTED),
        ("9", "1", OrderStatus.PARTIALLY_FILLED),
    ],
)
def test_venue_order_states_map_to_nautilus_statuses(state: str, cum: str, expected: OrderStatus) -> None:
    assert order_status(status(state, cum, "0" if state in "248C" else "2")) == expected


def test_a_fill_made_while_away_shows_as_filled_quantity_with_the_venue_average() -> None:
    instrument = futures_contract("WINZ26.B3")
    view = status("1", "2", "2", t44="125000", t6="125002.5")
    report = order_status_report(
        view, account_id=AccountId("B3-001"), instrument=instrument, convention=IDENTITY,
        client_order_id=ClientOrderId("O-1"), order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
        avg_px=None, ts_init=1,
    )  # fmt: skip
    assert report.order_status == OrderStatus.PARTIALLY_FILLED
    assert report.quantity == Quantity.from_int(4) and report.filled_qty == Quantity.from_int(2)
    assert report.avg_px == Decimal("125002.5") and report.price == Price.from_str("125000")
    assert report.client_order_id == ClientOrderId("O-1") and report.venue_order_id.value == "V1"


def test_di1_status_is_reported_in_pu_with_the_nautilus_side() -> None:
    instrument = futures_contract("DI1F28.B3")
    profile = B3EntryPointProfile()
    convention = profile.price_convention(instrument.id)
    view = status("0", "0", "5", side="2", symbol="DI1F28", t44="14.250")
    report = order_status_report(
        view, account_id=AccountId("B3-001"), instrument=instrument, convention=convention,
        client_order_id=None, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, avg_px=None,
        ts_init=1,
    )  # fmt: skip
    assert report.order_side == OrderSide.BUY  # selling the rate is buying PU
    assert report.price is not None
    expected = convention.price_from_wire(Decimal("14.250"), view.transact_time_ns or 0)
    assert report.price == instrument.make_price(expected)
    assert report.client_order_id is None  # external


def test_seeded_accumulator_continues_from_fills_booked_before_a_restart() -> None:
    accumulator = FillAccumulator(Decimal(10))
    accumulator.apply(seeded_view("O-1", Decimal(4), Decimal("100.5")))
    trade = FixMessage("8").extend(
        [(37, "V1"), (11, "O-1"), (17, "E9"), (150, "F"), (39, "1"), (55, "ESZ6"), (54, "1"), (38, "10"),
         (32, "2"), (31, "101"), (14, "6"), (151, "4")]
    )  # fmt: skip
    assert accumulator.apply(parse_execution_report(trade))
    assert accumulator.cum_qty == 6
    assert accumulator.avg_px == Decimal("100.666666666667")  # (4 x 100.5 + 2 x 101) / 6 at 12 places
