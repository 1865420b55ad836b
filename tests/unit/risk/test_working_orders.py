"""The working-order book equals a full recount from the cache, whatever the order events did.

The book is driven by Nautilus's own ``ExecutionEngine`` (it applies each event to the order and the
cache, then publishes it), on a real ``MessageBus`` and ``Cache``: the same path a venue's events take
in every mode. The recount here is written independently of the book, the way the risk context
counted before the book existed (open, in-flight and emulated orders, each once, at leaves quantity).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from itertools import count
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.model.enums import OrderSide, OrderType, TriggerType
from nautilus_trader.model.events import OrderEmulated
from nautilus_trader.model.identifiers import AccountId, StrategyId, TradeId, TraderId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.events import TestEventStubs

from macrofund.risk.component import BOOK_PRIORITY
from macrofund.risk.working_orders import RESTING_TYPES, WorkingOrderBook

TRADER = TraderId("TESTER-001")
_ZERO = Decimal(0)


class Kernel:
    """Bus, cache, portfolio and execution engine, with the book subscribed as ``install`` does."""

    def __init__(self, scope: str = "account", *, seed: bool = True) -> None:
        self.clock = TestClock()
        self.msgbus = MessageBus(trader_id=TRADER, clock=self.clock)
        self.cache = Cache()
        self.portfolio = Portfolio(self.msgbus, self.cache, self.clock)
        self.engine = ExecutionEngine(self.msgbus, self.cache, self.clock)
        self.instruments: list[Instrument] = [
            TestInstrumentProvider.es_future(2024, 3, Venue("CME")),
            TestInstrumentProvider.future("DI1F27", "DI1", "B3", "BVMF"),
        ]
        for instrument in self.instruments:
            self.cache.add_instrument(instrument)
        self.factories = [OrderFactory(TRADER, StrategyId(f"S-00{i}"), self.clock) for i in (1, 2)]
        self.book = WorkingOrderBook(self.cache, self_trade_scope=scope)
        self.msgbus.subscribe("events.order.*", self.book.on_order_event, priority=BOOK_PRIORITY)
        if seed:
            self.book.seed()
        self.trades = count(1)

    def account(self, order: Order) -> AccountId:
        return AccountId(f"{order.instrument_id.venue.value}-001")

    def new_order(
        self, instrument: Instrument, strategy: int, is_buy: bool, qty: int, kind: str, ticks: int
    ) -> Order:
        factory = self.factories[strategy]
        side = OrderSide.BUY if is_buy else OrderSide.SELL
        quantity = Quantity.from_int(qty)
        price = instrument.make_price(Decimal(100) + instrument.price_increment.as_decimal() * ticks)
        if kind == "market":
            return factory.market(instrument.id, side, quantity)
        if kind == "stop":
            return factory.stop_market(instrument.id, side, quantity, price)
        if kind == "emulated":
            return factory.limit(instrument.id, side, quantity, price, emulation_trigger=TriggerType.BID_ASK)
        return factory.limit(instrument.id, side, quantity, price)

    def submit(self, order: Order) -> None:
        """As ``Strategy.submit_order`` then the venue: cache it, then OrderSubmitted (or OrderEmulated)."""
        self.cache.add_order(order)
        if order.emulation_trigger != TriggerType.NO_TRIGGER:
            emulated = OrderEmulated(
                order.trader_id, order.strategy_id, order.instrument_id, order.client_order_id, UUID4(), 0
            )
            self.engine.process(emulated)
        else:
            self.engine.process(TestEventStubs.order_submitted(order, account_id=self.account(order)))

    def act(self, order: Order, action: str, amount: int, ticks: int) -> None:
        """Send one event for ``order``; the order refuses invalid ones (and they are published anyway)."""
        instrument = self.cache.instrument(order.instrument_id)
        acct = self.account(order)
        stubs = TestEventStubs
        if action == "accept":
            event: Any = stubs.order_accepted(order, account_id=acct)
        elif action == "reject":
            event = stubs.order_rejected(order, account_id=acct)
        elif action in ("partial_fill", "fill"):
            leaves = int(order.leaves_qty.as_decimal())
            if leaves <= 0:
                return
            qty = leaves if action == "fill" else max(1, min(amount, leaves - 1))
            event = stubs.order_filled(
                order,
                instrument,
                account_id=acct,
                trade_id=TradeId(f"T-{next(self.trades)}"),
                last_qty=Quantity.from_int(qty),
                last_px=instrument.make_price(Decimal(100)),
            )
        elif action == "pending_update":
            event = stubs.order_pending_update(order)
        elif action == "modify":
            new_qty = int(order.filled_qty.as_decimal()) + amount
            price = None
            if order.order_type == OrderType.LIMIT:
                price = instrument.make_price(Decimal(100) + instrument.price_increment.as_decimal() * ticks)
            event = stubs.order_updated(order, quantity=Quantity.from_int(new_qty), price=price)
        elif action == "pending_cancel":
            event = stubs.order_pending_cancel(order)
        elif action == "cancel":
            event = stubs.order_canceled(order)
        elif action == "expire":
            event = stubs.order_expired(order)
        elif action == "trigger":
            event = stubs.order_triggered(order)
        else:  # pragma: no cover
            raise AssertionError(action)
        self.engine.process(event)


def recount(cache: Any) -> tuple[dict[str, tuple[Decimal, Decimal]], dict[str, tuple[Decimal, Decimal]]]:
    """Working (buy, sell) per instrument and per venue, from the cache's lists, each order once."""
    orders: dict[Any, Any] = {}
    for listed in (cache.orders_open(), cache.orders_inflight(), cache.orders_emulated()):
        for order in listed:
            orders[order.client_order_id] = order
    inst: dict[str, list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO])
    acct: dict[str, list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO])
    for order in orders.values():
        side = 0 if order.is_buy else 1
        inst[order.instrument_id.value][side] += order.leaves_qty.as_decimal()
        acct[order.instrument_id.venue.value][side] += order.leaves_qty.as_decimal()
    return {k: (v[0], v[1]) for k, v in inst.items()}, {k: (v[0], v[1]) for k, v in acct.items()}


def resting(
    cache: Any, instrument: Instrument, side: OrderSide, strategy: str | None
) -> list[tuple[Decimal, str]]:
    """Our resting limit orders on one side (scope filtered), best price first: (price, client order id)."""
    out = []
    for order in cache.orders_open(instrument_id=instrument.id, side=side):
        if order.order_type not in RESTING_TYPES or order.is_pending_cancel:
            continue
        if strategy is not None and order.strategy_id.value != strategy:
            continue
        out.append((order.price.as_decimal(), order.client_order_id.value))
    return sorted(out, reverse=side == OrderSide.BUY)


def assert_book_matches_cache(kernel: Kernel, scope: str) -> None:
    inst, acct = recount(kernel.cache)
    for instrument in kernel.instruments:
        key = instrument.id.value
        assert kernel.book.instrument(key) == inst.get(key, (_ZERO, _ZERO)), key
        venue = instrument.id.venue.value
        assert kernel.book.account(venue) == acct.get(venue, (_ZERO, _ZERO)), venue
        for strategy in ("S-001", "S-002"):
            for side in (OrderSide.BUY, OrderSide.SELL):
                expected = resting(kernel.cache, instrument, side, strategy if scope == "strategy" else None)
                # A market order on the other side crosses every resting order of ours, best first.
                found = kernel.book.crossing(key, side == OrderSide.SELL, None, strategy, first_only=False)
                got = [(o.price.as_decimal(), o.client_order_id.value) for o in found]
                assert [p for p, _ in got] == [p for p, _ in expected]
                assert sorted(got) == sorted(expected)


ACTIONS = (
    "accept",
    "reject",
    "partial_fill",
    "fill",
    "pending_update",
    "modify",
    "pending_cancel",
    "cancel",
    "expire",
    "trigger",
)
new_order = st.tuples(
    st.just("new"),
    st.integers(0, 1),  # instrument
    st.integers(0, 1),  # strategy
    st.booleans(),  # buy?
    st.integers(1, 5),  # qty
    st.sampled_from(["limit", "limit", "limit", "market", "stop", "emulated"]),
    st.integers(-6, 6),  # price in ticks from 100
)
event = st.tuples(st.sampled_from(ACTIONS), st.integers(0, 30), st.integers(1, 6), st.integers(-6, 6))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["account", "strategy"]), st.lists(st.one_of(new_order, event), max_size=60))
def test_book_equals_a_full_recount_after_any_sequence_of_order_events(
    scope: str, steps: list[tuple[Any, ...]]
) -> None:
    kernel = Kernel(scope)
    orders: list[Order] = []
    for step in steps:
        if step[0] == "new":
            _, i, s, is_buy, qty, kind, ticks = step
            order = kernel.new_order(kernel.instruments[i], s, is_buy, qty, kind, ticks)
            orders.append(order)
            kernel.submit(order)
        elif orders:
            action, which, amount, ticks = step
            kernel.act(orders[which % len(orders)], action, amount, ticks)
        assert_book_matches_cache(kernel, scope)
    assert kernel.book.resyncs == 0 and kernel.book.repairs == 0  # the events alone kept it right
    assert kernel.book.verify()


def test_an_order_pending_cancel_or_update_counts_once_at_its_leaves() -> None:
    kernel = Kernel()
    es = kernel.instruments[0]
    order = kernel.new_order(es, 0, True, 4, "limit", 0)
    kernel.submit(order)
    kernel.act(order, "accept", 0, 0)
    kernel.act(order, "partial_fill", 1, 0)
    kernel.act(order, "pending_cancel", 0, 0)
    # Nautilus lists it both as open and as in flight; it can still fill 3 more, not 6.
    assert order in kernel.cache.orders_open() and order in kernel.cache.orders_inflight()
    assert kernel.book.instrument(es.id.value) == (Decimal(3), _ZERO)
    assert kernel.book.account("CME") == (Decimal(3), _ZERO)
    kernel.act(order, "cancel", 0, 0)
    assert kernel.book.instrument(es.id.value) == (_ZERO, _ZERO)


def test_orders_put_into_the_cache_without_events_before_the_first_check_are_counted() -> None:
    kernel = Kernel(seed=False)
    es = kernel.instruments[0]
    restored = kernel.new_order(es, 0, False, 2, "limit", 3)
    acct = kernel.account(restored)
    # As macrofund.engine.restore does: events applied to the order, cache updated, nothing published.
    restored.apply(TestEventStubs.order_submitted(restored, account_id=acct))
    restored.apply(TestEventStubs.order_accepted(restored, account_id=acct))
    kernel.cache.add_order(restored)
    kernel.cache.update_order(restored)
    live = kernel.new_order(es, 0, True, 1, "limit", -3)
    kernel.submit(live)  # an event before the first check: the book is not seeded yet
    assert kernel.book.instrument(es.id.value) == (Decimal(1), Decimal(2))
    crossing = kernel.book.crossing(es.id.value, True, es.make_price(Decimal("100.75")).as_decimal(), "S-001")
    assert [o.client_order_id for o in crossing] == [restored.client_order_id]


def test_the_guard_repairs_a_change_no_event_announced() -> None:
    kernel = Kernel()
    es = kernel.instruments[0]
    order = kernel.new_order(es, 0, True, 5, "limit", 0)
    kernel.submit(order)
    kernel.act(order, "accept", 0, 0)
    # Nautilus's emulator changes quantities this way (OUO) without publishing the event.
    order.apply(TestEventStubs.order_updated(order, quantity=Quantity.from_int(2)))
    kernel.cache.update_order(order)
    assert kernel.book.instrument(es.id.value) == (Decimal(5), _ZERO)  # stale until the guard runs
    assert kernel.book.verify() is False
    assert kernel.book.instrument(es.id.value) == (Decimal(2), _ZERO)
    assert kernel.book.resyncs == 1


def test_self_trade_index_finds_the_one_crossing_order_among_a_thousand_resting() -> None:
    kernel = Kernel()
    es = kernel.instruments[0]
    for k in range(500):
        for is_buy, ticks in ((True, -10 - k), (False, 10 + k)):
            order = kernel.new_order(es, k % 2, is_buy, 1, "limit", ticks)
            kernel.submit(order)
            kernel.act(order, "accept", 0, 0)
    near = kernel.new_order(es, 1, False, 1, "limit", 2)
    kernel.submit(near)
    kernel.act(near, "accept", 0, 0)
    tick = es.price_increment.as_decimal()
    assert kernel.book.working_orders() == 1001
    found = kernel.book.crossing(es.id.value, True, Decimal(100) + 2 * tick, "S-001")
    assert [o.client_order_id for o in found] == [near.client_order_id]
    assert kernel.book.crossing(es.id.value, True, Decimal(100) + tick, "S-001") == []
    every = kernel.book.crossing(es.id.value, True, Decimal(100) + 11 * tick, "S-001", first_only=False)
    assert [o.price.as_decimal() for o in every] == [Decimal(100) + t * tick for t in (2, 10, 11)]
    kernel.act(near, "pending_cancel", 0, 0)  # a resting order being cancelled is no longer crossed
    found = kernel.book.crossing(es.id.value, True, Decimal(100) + 10 * tick, "S-001")
    assert [o.price.as_decimal() for o in found] == [Decimal(100) + 10 * tick]


def test_linked_exits_count_as_their_largest_on_each_side() -> None:
    kernel = Kernel()
    es = kernel.instruments[0]
    factory = kernel.factories[0]
    bracket = factory.bracket(
        es.id,
        OrderSide.BUY,
        Quantity.from_int(2),
        sl_trigger_price=es.make_price(Decimal(90)),
        tp_price=es.make_price(Decimal(110)),
    )
    entry, stop_loss, take_profit = bracket.orders
    for order in bracket.orders:
        kernel.submit(order)
        kernel.act(order, "accept", 0, 0)
    # Entry buy 2 working; the two exits (OUO: at most 2 of them fill in all) sell 2, not 4.
    assert kernel.book.instrument(es.id.value) == (Decimal(2), Decimal(2))
    kernel.act(entry, "fill", 0, 0)
    kernel.act(take_profit, "partial_fill", 1, 0)  # take-profit leaves 1; the stop-loss still 2
    assert kernel.book.instrument(es.id.value) == (_ZERO, Decimal(2))
    kernel.act(stop_loss, "cancel", 0, 0)
    assert kernel.book.instrument(es.id.value) == (_ZERO, Decimal(1))
    assert kernel.book.account("CME") == (_ZERO, Decimal(1))
    kernel.act(take_profit, "fill", 0, 0)
    assert kernel.book.instrument(es.id.value) == (_ZERO, _ZERO)
    assert kernel.book.verify()  # a recount from the cache agrees
