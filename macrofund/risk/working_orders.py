"""The working-order book: what each instrument and account has working, kept current from order events.

Why it exists: the position, account-position and self-trade controls used to walk every open,
in-flight and emulated order in the cache for each new order, so a live node with 1,000 resting
orders spent milliseconds in risk per order (issues #4 and #7). This book keeps, per instrument and
per account (venue), the working buy and sell quantities (exact ``Decimal``), and per instrument side
our own resting limit prices, so those controls answer in O(1) (self-trade: O(log n) per order it
looks at) whatever the number of working orders.

How it stays true:
- It never interprets an event. For each order event it reads the order from the cache (the
  execution engine, the strategy and the emulator all apply an event to the order and the cache
  before publishing it) and replaces that order's contribution with what the order now is. Any
  event type, a duplicate, or an event the order refused to apply gives the right answer.
- ``install`` subscribes it to ``events.order.*`` at priority 10, before anything is published (1.221
  never delivers a wildcard subscribed late) and ahead of strategies (priority 0): a strategy that
  submits from ``on_order_filled`` is judged on a book that already holds that fill.
- Orders that reach the cache without publishing an event here (restored at a live restart by
  ``macrofund.engine.restore``, seeded on paper resume) are found by seeding: the book's first query
  recounts from the cache; events before that are ignored.
- A guard: every ``verify_every`` events the book is recounted from the cache; a difference is logged
  and the recount wins (``resyncs`` counts them). The self-trade query re-reads each resting order it
  looks at from the cache before it relies on it. Known source of drift the guard repairs: the 1.221
  order emulator changes an emulated order's quantity (OUO partial fills) without publishing.

What counts as working: an order that is not closed and is in flight (SUBMITTED, PENDING_UPDATE,
PENDING_CANCEL), open (ACCEPTED, TRIGGERED, PARTIALLY_FILLED and the two pending states) or held by the
order emulator (emulation trigger set), at its leaves quantity, **once**. Nautilus lists a
PENDING_UPDATE or PENDING_CANCEL order both in ``orders_open`` and in ``orders_inflight``; the scan this
replaces added it twice, overstating exposure while any order was being modified or cancelled.

Linked orders (OCO and OUO: a bracket's stop-loss and take-profit) count **as one**: at most one of them
fills (OUO: their fills together never exceed the larger), so a group adds, on each side, the largest
leaves quantity among its members on that side, not their sum. Summed, a long 1 protected by its two
exits looked short-exposed by 1 (``short_if_filled`` 1, gross 3): a long-only limit denied the exits
and every manual close while they rested.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.common.component import Logger
from nautilus_trader.model.enums import ContingencyType, OrderType, TriggerType

_ZERO = Decimal(0)
#: Order types that rest at a limit price on the venue's book (what an incoming order can cross).
RESTING_TYPES = frozenset({OrderType.LIMIT, OrderType.MARKET_TO_LIMIT})
#: Every this many order events the book is recounted from the cache (the consistency guard).
VERIFY_EVERY_EVENTS = 10_000
#: Contingencies whose linked orders cannot all fill: they count as one (the largest per side).
ONE_OF = frozenset({ContingencyType.OCO, ContingencyType.OUO})

_Entry = tuple[Decimal, int, Any]  # (sort key: price for sells, -price for buys; sequence; ClientOrderId)


@dataclass(slots=True)
class _Working:
    """One working order's contribution: where it counts, how much, and its resting price if it rests."""

    instrument: str
    venue: str
    is_buy: bool
    leaves: Decimal
    strategy: str
    price: Decimal | None  # set when the order rests at a limit price (self-trade index)
    qty_raw: int  # raw leaves and resting price as read: what the fast paths compare (``Quantity``
    px_raw: int | None  # and ``Price`` ``==`` cost ~2 µs each in 1.221; raw ints ~0.1 µs)
    group: str | None = None  # linked OCO/OUO orders share one: the smallest of their ids
    entry: _Entry | None = None  # its live entry in the self-trade heap

    def same(self, other: _Working) -> bool:
        return (
            self.leaves == other.leaves
            and self.price == other.price
            and self.is_buy == other.is_buy
            and self.instrument == other.instrument
            and self.strategy == other.strategy
        )


class WorkingQty:
    """Working buy and sell quantities (contracts) of one instrument or one account."""

    __slots__ = ("buy", "sell")

    def __init__(self, buy: Decimal = _ZERO, sell: Decimal = _ZERO) -> None:
        self.buy = buy
        self.sell = sell

    def pair(self) -> tuple[Decimal, Decimal]:
        return self.buy, self.sell


def link_group(order: Any) -> str | None:
    """The group key of an OCO/OUO-linked order (the smallest id among it and its links), else ``None``."""
    linked = order.linked_order_ids
    if not linked or order.contingency_type not in ONE_OF:
        return None
    return min([order.client_order_id.value, *(c.value for c in linked)])


def group_sides(members: Iterable[tuple[bool, Decimal]]) -> tuple[Decimal, Decimal]:
    """What a linked group of ``(is_buy, quantity)`` adds: the largest buy, and the largest sell."""
    buy = sell = _ZERO
    for is_buy, qty in members:
        if is_buy:
            buy = max(buy, qty)
        else:
            sell = max(sell, qty)
    return buy, sell


def _still_rests(order: Any, record: _Working) -> bool:
    """The cheap guard (~1 µs): the cache still shows ``order`` resting as the book recorded it."""
    if order is None or not order.is_open or order.is_pending_cancel:
        return False
    price = order.price
    return price is not None and price.raw == record.px_raw and order.leaves_qty.raw == record.qty_raw


def is_working(order: Any) -> bool:
    """True while ``order`` counts as working exposure (the definition in the module docstring)."""
    if order.is_closed:
        return False
    return bool(order.is_inflight or order.is_open or order.emulation_trigger != TriggerType.NO_TRIGGER)


class WorkingOrderBook:
    """Working quantities per instrument and account, and own resting prices, maintained from order events.

    ``self_trade_scope`` is the ``[risk.self_trade] scope``: ``"off"`` keeps no price index,
    ``"strategy"`` indexes resting orders per (instrument, side, strategy), ``"account"`` per
    (instrument, side) — an instrument belongs to one venue, which is the account.
    """

    def __init__(
        self, cache: Any, *, self_trade_scope: str = "off", verify_every: int = VERIFY_EVERY_EVENTS
    ) -> None:
        self._cache = cache
        self._scope = self_trade_scope
        self._verify_every = verify_every
        self._orders: dict[Any, _Working] = {}  # ClientOrderId -> contribution (working orders only)
        self._instruments: dict[str, WorkingQty] = {}
        self._accounts: dict[str, WorkingQty] = {}
        self._heaps: dict[tuple[str, bool, str], list[_Entry]] = {}
        self._live: dict[tuple[str, bool, str], int] = {}  # live (non-stale) entries per heap
        self._groups: dict[tuple[str, str], dict[Any, _Working]] = {}  # (instrument, group) -> members
        self._seq = 0
        self._events = 0
        self.seeded = False
        self.resyncs = 0  # full recounts that found a difference
        self.repairs = 0  # resting orders the self-trade query found stale and re-read
        self._log = Logger("WorkingOrderBook")

    # -- queries (what the controls ask) --------------------------------------------------------------

    def instrument(self, instrument_id: str) -> tuple[Decimal, Decimal]:
        """Working (buy, sell) quantity on ``instrument_id`` (``"ESZ6.CME"``)."""
        if not self.seeded:
            self.seed()
        qty = self._instruments.get(instrument_id)
        return (_ZERO, _ZERO) if qty is None else qty.pair()

    def account(self, venue: str) -> tuple[Decimal, Decimal]:
        """Working (buy, sell) quantity summed over the instruments of account ``venue``."""
        if not self.seeded:
            self.seed()
        qty = self._accounts.get(venue)
        return (_ZERO, _ZERO) if qty is None else qty.pair()

    def crossing(
        self,
        instrument_id: str,
        is_buy: bool,
        price: Decimal | None,
        strategy_id: str,
        exclude: Any = None,
        first_only: bool = True,
    ) -> list[Any]:
        """Our resting opposite orders (the cache's ``Order``s) an order at ``price`` would cross, best first.

        ``price=None`` is a market order: it crosses every resting opposite order. ``exclude`` is the
        ``ClientOrderId`` of an order being modified. Costs O(log n) per order looked at: the best
        opposite price, plus each crossed order when ``first_only`` is False.
        """
        if self._scope == "off":
            return []
        if not self.seeded:
            self.seed()
        heap = self._heaps.get(self._key(instrument_id, not is_buy, strategy_id))
        if not heap:
            return []
        found: list[Any] = []
        taken: list[_Entry] = []
        while heap:
            entry = heap[0]
            record = self._orders.get(entry[2])
            if record is None or record.entry is not entry:
                heapq.heappop(heap)  # stale: the order left the index or moved price
                continue
            order = self._cache.order(entry[2])
            if not _still_rests(order, record):
                self.repairs += 1
                self._refresh(entry[2], order)  # guard: the cache knows better; re-read the heap
                continue
            assert record.price is not None
            if price is not None and (price < record.price if is_buy else price > record.price):
                break  # the best opposite price is not crossed: nothing behind it is either
            taken.append(heapq.heappop(heap))
            if exclude is None or order.client_order_id != exclude:
                found.append(order)
                if first_only:
                    break
        for entry in taken:
            heapq.heappush(heap, entry)
        return found

    # -- upkeep -------------------------------------------------------------------------------------

    def on_order_event(self, event: Any) -> None:
        """``events.order.*`` handler: re-read the order from the cache and update its contribution."""
        if not self.seeded:
            return  # the first query recounts everything from the cache
        self._refresh(event.client_order_id, self._cache.order(event.client_order_id))
        self._events += 1
        if self._events >= self._verify_every:
            self._events = 0
            self.verify()

    def seed(self) -> None:
        """Count every working order in the cache (restored, resumed, or placed before the first query)."""
        self._rebuild(self._recount())
        self.seeded = True

    def verify(self) -> bool:
        """Recount from the cache; on a difference log it, adopt the recount and return False."""
        fresh = self._recount()
        if len(fresh) == len(self._orders) and all(
            (mine := self._orders.get(coid)) is not None and mine.same(rec) for coid, rec in fresh.items()
        ):
            return True
        missing = [c.value for c in fresh if c not in self._orders]
        extra = [c.value for c in self._orders if c not in fresh]
        self._log.warning(
            f"working-order book differed from the cache (missing {missing[:5]}, extra {extra[:5]}, "
            f"{len(fresh)} working orders): recounted"
        )
        self.resyncs += 1
        self._rebuild(fresh)
        return False

    def working_orders(self) -> int:
        """How many orders the book counts as working."""
        return len(self._orders)

    # -- internals ----------------------------------------------------------------------------------

    def _key(self, instrument_id: str, is_buy: bool, strategy_id: str) -> tuple[str, bool, str]:
        return (instrument_id, is_buy, strategy_id if self._scope == "strategy" else "")

    def _resting_px(self, order: Any) -> Any:
        """The ``Price`` ``order`` rests at for the self-trade index, or ``None``."""
        if (
            self._scope != "off"
            and order.is_open
            and not order.is_pending_cancel
            and order.order_type in RESTING_TYPES
        ):
            return order.price  # a MARKET_TO_LIMIT order has none until it rests
        return None

    def _unchanged(self, order: Any, record: _Working) -> bool:
        """Fast path (~1 µs): still working with the same leaves and resting price (side, instrument and
        strategy never change)."""
        if not is_working(order) or order.leaves_qty.raw != record.qty_raw:
            return False
        px = self._resting_px(order)
        return (None if px is None else px.raw) == record.px_raw

    def _measure(self, order: Any) -> _Working | None:
        if not is_working(order):
            return None
        px = self._resting_px(order)
        price = px.as_decimal() if px is not None else None
        instrument_id = order.instrument_id
        qty = order.leaves_qty
        return _Working(
            instrument=instrument_id.value,
            venue=instrument_id.venue.value,
            is_buy=order.is_buy,
            leaves=qty.as_decimal(),
            strategy=order.strategy_id.value,
            price=price,
            qty_raw=qty.raw,
            px_raw=None if px is None else px.raw,
            group=link_group(order),
        )

    def _recount(self) -> dict[Any, _Working]:
        cache = self._cache
        out: dict[Any, _Working] = {}
        lists: Iterable[list[Any]] = (cache.orders_open(), cache.orders_inflight(), cache.orders_emulated())
        for orders in lists:
            for order in orders:
                coid = order.client_order_id
                if coid not in out:
                    record = self._measure(order)
                    if record is not None:
                        out[coid] = record
        return out

    def _rebuild(self, records: dict[Any, _Working]) -> None:
        self._orders = {}
        self._instruments = {}
        self._accounts = {}
        self._heaps = {}
        self._live = {}
        self._groups = {}
        for coid, record in records.items():
            self._add(coid, record)

    def _refresh(self, coid: Any, order: Any) -> None:
        old = self._orders.get(coid)
        if old is not None and order is not None and self._unchanged(order, old):
            return
        new = self._measure(order) if order is not None else None
        if old is not None:
            self._remove(coid, old)
        if new is not None:
            self._add(coid, new)

    def _count(self, record: _Working, buy: Decimal, sell: Decimal) -> None:
        """Add ``buy`` and ``sell`` (negative: remove) to ``record``'s instrument and account."""
        for table, key in ((self._instruments, record.instrument), (self._accounts, record.venue)):
            qty = table.get(key)
            if qty is None:
                qty = table[key] = WorkingQty()
            qty.buy += buy
            qty.sell += sell

    def _regroup(self, coid: Any, record: _Working, join: bool) -> None:
        """``record`` joins (or leaves) its linked group; the group's count moves by the difference."""
        assert record.group is not None
        key = (record.instrument, record.group)
        members = self._groups.setdefault(key, {})
        buy_before, sell_before = group_sides((m.is_buy, m.leaves) for m in members.values())
        if join:
            members[coid] = record
        else:
            del members[coid]
            if not members:
                del self._groups[key]
        buy_after, sell_after = group_sides((m.is_buy, m.leaves) for m in members.values())
        self._count(record, buy_after - buy_before, sell_after - sell_before)

    def _add(self, coid: Any, record: _Working) -> None:
        self._orders[coid] = record
        if record.group is not None:
            self._regroup(coid, record, join=True)
        elif record.is_buy:
            self._count(record, record.leaves, _ZERO)
        else:
            self._count(record, _ZERO, record.leaves)
        if record.price is not None:
            key3 = self._key(record.instrument, record.is_buy, record.strategy)
            heap = self._heaps.get(key3)
            if heap is None:
                heap = self._heaps[key3] = []
            self._seq += 1
            entry = (-record.price if record.is_buy else record.price, self._seq, coid)
            record.entry = entry
            heapq.heappush(heap, entry)
            live = self._live[key3] = self._live.get(key3, 0) + 1
            if len(heap) > 2 * live + 64:  # bound the stale entries lazy deletion leaves behind
                heap[:] = [e for e in heap if self._is_live(e)]  # in place: ``crossing`` may hold it
                heapq.heapify(heap)

    def _remove(self, coid: Any, record: _Working) -> None:
        del self._orders[coid]
        if record.group is not None:
            self._regroup(coid, record, join=False)
        elif record.is_buy:
            self._count(record, -record.leaves, _ZERO)
        else:
            self._count(record, _ZERO, -record.leaves)
        if record.entry is not None:
            key3 = self._key(record.instrument, record.is_buy, record.strategy)
            self._live[key3] -= 1
            record.entry = None  # its heap entry is now stale

    def _is_live(self, entry: _Entry) -> bool:
        record = self._orders.get(entry[2])
        return record is not None and record.entry is entry
