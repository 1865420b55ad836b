"""Whatever a client does, every report the venue sends reads back with consistent fill accounting."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from macrofund.adapters.exchange_sim.config import default_config
from macrofund.adapters.exchange_sim.messages import (
    CancelRequest,
    InstrumentRef,
    MassCancelRequest,
    NewOrderRequest,
    ReplaceRequest,
)
from macrofund.adapters.exchange_sim.venue import ExchangeSimVenue
from macrofund.adapters.fix.translate import FillAccumulator, parse_execution_report

ES = InstrumentRef("ESZ9", None, None)
TICK = Decimal("0.25")

new_orders = st.builds(
    lambda qty, ord_type, offset, side, tif: ("new", qty, ord_type, offset, side, tif),
    st.integers(1, 12),
    st.sampled_from(["1", "2", "3", "4"]),
    st.integers(-8, 8),
    st.sampled_from(["1", "2"]),
    st.sampled_from(["0", "1", "3"]),
)
quotes = st.builds(lambda move: ("quote", move), st.integers(-6, 6))
cancels = st.builds(lambda k: ("cancel", k), st.integers(0, 30))
replaces = st.builds(
    lambda k, qty, offset: ("replace", k, qty, offset),
    st.integers(0, 30),
    st.integers(1, 15),
    st.integers(-8, 8),
)
mass = st.just(("mass",))


@settings(max_examples=120, deadline=None)
@given(
    actions=st.lists(st.one_of(new_orders, quotes, cancels, replaces, mass), min_size=1, max_size=40),
    chunk=st.sampled_from([None, 1, 3]),
    almgren_chriss=st.booleans(),
)
def test_reports_are_consistent_for_any_sequence_of_requests_and_quotes(
    actions: list[tuple], chunk: int | None, almgren_chriss: bool
) -> None:
    fill_model = (
        {
            "kind": "almgren_chriss",
            "impact": {"ES": {"sigma": 30, "eta": 0.01, "gamma": 0.001, "epsilon": 0.125}},
        }
        if almgren_chriss
        else {}
    )
    venue = ExchangeSimVenue(
        default_config(
            "cme",
            instruments=[{"instrument_id": "ESZ9.CME", "start_price": "6000.00", "max_qty": 100}],
            reference={"source": "static"},
            partial_fill_qty=chunk,
            fill_model=fill_model,
        ),
        clock=lambda: 1_900_000_000_000_000_000,
    )
    mid = Decimal("6000.00")
    accumulators: dict[str, FillAccumulator] = {}
    exec_ids: set[str] = set()
    ids: list[str] = []
    for n, action in enumerate(actions):
        if action[0] == "new":
            _, qty, ord_type, offset, side, tif = action
            price = mid + offset * TICK
            request = NewOrderRequest(
                f"C{n}",
                ES,
                side,
                Decimal(qty),
                ord_type,
                price if ord_type in ("2", "4") else None,
                price if ord_type in ("3", "4") else None,
                "0" if ord_type == "1" and tif == "1" else tif,
                None,
            )
            out = venue.new_order("MF01", request)
            ids.append(f"C{n}")
        elif action[0] == "quote":
            mid += action[1] * TICK
            out = venue.on_quote("ESZ9.CME", mid, mid + TICK)
        elif action[0] == "cancel" and ids:
            out = venue.cancel("MF01", CancelRequest(f"X{n}", ids[action[1] % len(ids)], None, None))
        elif action[0] == "replace" and ids:
            _, k, qty, offset = action
            terms = NewOrderRequest(f"X{n}", ES, "1", Decimal(qty), "2", mid + offset * TICK, None, "1", None)
            out = venue.replace("MF01", ReplaceRequest(ids[k % len(ids)], None, terms))
        else:
            out = venue.mass_cancel("MF01", MassCancelRequest(f"M{n}", "7", ES, None))
        for _, message in out:
            if message.msg_type != "8":
                continue
            view = parse_execution_report(message)  # raises on CumQty > OrderQty, a trade without LastPx, ...
            assert view.exec_id not in exec_ids
            exec_ids.add(view.exec_id)
            if view.order_id == "NONE":
                continue
            assert view.order_qty is not None
            if view.order_state.value in ("0", "1"):
                assert view.leaves_qty == view.order_qty - view.cum_qty > 0
            else:
                assert view.leaves_qty == 0
            accumulator = accumulators.setdefault(view.order_id, FillAccumulator(view.order_qty))
            accumulator.order_qty = view.order_qty  # a replace changes it
            if view.is_trade:
                assert view.last_px is not None and view.last_px % TICK == 0
                assert accumulator.apply(view)  # CumQty matches the sum of the fills sent
                assert view.avg_px == accumulator.avg_px
            assert view.cum_qty == accumulator.cum_qty
    for order in venue.orders:
        assert order.cum_qty <= order.qty
        assert (order.status == "2") == (order.cum_qty == order.qty)
