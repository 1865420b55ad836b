"""The B3 and CME execution clients inside a real ``TradingNode`` against QuickFIX playing the venue.

QuickFIX (the C++ engine, FIX44 dictionary) is the acceptor; ``ScriptedVenue`` reads what it receives
and answers through it like an exchange would: 35=D with 150=0 (then fills when scripted), F with
150=4, G with 150=5, H with 150=I, q with 35=r and a 150=4 per working order, or rejects when told.
A recording strategy submits through Nautilus's normal path, so every event a user's strategy would
see is asserted on, and every message QuickFIX received is asserted on the wire.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import quickfix as fix
import redis
from nautilus_trader.config import (
    CacheConfig,
    DatabaseConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
)
from nautilus_trader.model.identifiers import InstrumentId, VenueOrderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from macrofund.adapters.b3.config import B3ExecClientConfig
from macrofund.adapters.b3.di1 import business_days, di1_maturity, rate_to_pu
from macrofund.adapters.b3.factories import B3LiveExecClientFactory
from macrofund.adapters.cme.config import CmeExecClientConfig
from macrofund.adapters.cme.factories import CmeLiveExecClientFactory
from macrofund.adapters.fix.acceptor import FixAcceptor
from macrofund.adapters.fix.application import FixApplication
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.message import FixMessage
from tests.fixtures.quickfix import LoopbackProxy, QuickFixPeer, eventually
from tests.fixtures.servers import free_port

VenueFactory = Callable[[str], QuickFixPeer]

# A venue's dictionary is FIX 4.4 plus its own fields (B3: Parties on 35=q; CME gateways: 1028,
# 1603-1605 < 5000). Stock FIX44.xml rejects those, so the acceptor playing the venue allows fields the
# dictionary does not place; everything else is still validated.
VENUE_SETTINGS = "AllowUnknownMsgFields=Y\n"


class VenuePeer(QuickFixPeer):
    """A QuickFIX acceptor with the venue's dictionary leniency (``VENUE_SETTINGS``)."""

    def __init__(self, workdir: Path, port: int, sender_comp_id: str) -> None:
        super().__init__("acceptor", workdir, port, sender_comp_id=sender_comp_id, target_comp_id="MF")
        self._engine = None  # the stock engine is never started; dropping it unregisters its session
        path = workdir / "quickfix.cfg"
        path.write_text(path.read_text().replace("[SESSION]", VENUE_SETTINGS + "[SESSION]"))
        settings = fix.SessionSettings(str(path))
        self._engine = fix.SocketAcceptor(
            self._app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings)
        )


@pytest.fixture
def venue_peer(tmp_path: Path) -> Iterator[Callable[[str], VenuePeer]]:
    """Factory: ``venue_peer("B3")`` started on a free port; stopped (and checked) at teardown."""
    peers: list[VenuePeer] = []

    def start(comp_id: str) -> VenuePeer:
        peer = VenuePeer(tmp_path / f"venue-{len(peers)}", free_port(), comp_id)
        peers.append(peer)
        return peer.start()  # type: ignore[return-value]

    yield start
    for peer in peers:
        peer.stop()
    assert not [e for p in peers for e in p.errors]


WIN = "WINZ26.B3"
DI1 = "DI1F28.B3"
ES = "ESZ6.CME"


# ------------------------------------------------------------------------------------------------
# The venue: QuickFIX plus a script
# ------------------------------------------------------------------------------------------------


@dataclass
class VenueOrder:
    cl_ord_id: str
    order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: str | None
    cum: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    status: str = "0"


@dataclass
class ScriptedVenue:
    """Answers what QuickFIX receives, as an exchange would (runs as a task on the test's loop)."""

    peer: QuickFixPeer
    reject_new: dict[str, str] = field(default_factory=dict)  # ClOrdID -> 58
    fills_on_new: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # ClOrdID -> [(qty, px)]
    reject_cancel: str | None = None
    reject_replace: str | None = None
    fill_market_at: str = "100"
    orders: dict[str, VenueOrder] = field(default_factory=dict)  # by current ClOrdID
    sent_exec_ids: list[str] = field(default_factory=list)
    _seen: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def run(self) -> None:
        while True:
            messages = self.peer.received("app")
            for message in messages[self._seen :]:
                self.answer(message)
            self._seen = len(messages)
            await asyncio.sleep(0.005)

    def answer(self, m: FixMessage) -> None:
        if m.msg_type == "D":
            self.on_new(m)
        elif m.msg_type == "F":
            self.on_cancel(m)
        elif m.msg_type == "G":
            self.on_replace(m)
        elif m.msg_type == "H":
            order = self.orders.get(m.require(11)) or next(
                (o for o in self.orders.values() if o.order_id == m.get(37)), None
            )
            if order is not None:
                self.report(order, "I", extra=[(790, m.require(790))])
        elif m.msg_type == "q":
            working = [o for o in self.orders.values() if o.status in ("0", "1")]
            self.peer.send(
                "r",
                [
                    (11, m.require(11)),
                    (530, m.require(530)),
                    (531, m.require(530)),
                    (533, str(len(working))),
                    (60, "20261125-12:00:00.000"),
                ],
            )
            for order in working:
                order.status = "4"
                self.report(order, "4")

    def on_new(self, m: FixMessage) -> None:
        cl = m.require(11)
        order = VenueOrder(
            cl, f"V{next(self._ids)}", m.require(55), m.require(54), Decimal(m.require(38)), m.get(44)
        )
        if cl in self.reject_new:
            order.status = "8"
            self.report(order, "8", text=self.reject_new[cl])
            return
        self.orders[cl] = order
        self.report(order, "0")
        plan = self.fills_on_new.get(cl)
        if plan is None and m.require(40) == "1":
            plan = [(str(order.qty), self.fill_market_at)]
        for qty, px in plan or []:
            self.fill(cl, qty, px)

    def fill(self, cl_ord_id: str, qty: str, px: str) -> None:
        order = self.orders[cl_ord_id]
        order.cum += Decimal(qty)
        order.notional += Decimal(qty) * Decimal(px)
        order.status = "2" if order.cum == order.qty else "1"
        self.report(order, "F", last=(qty, px))

    def on_cancel(self, m: FixMessage) -> None:
        order = self.orders.pop(m.require(41))
        if self.reject_cancel is not None:
            self.orders[order.cl_ord_id] = order
            self.peer.send(
                "9",
                [
                    (37, order.order_id),
                    (11, m.require(11)),
                    (41, m.require(41)),
                    (39, order.status),
                    (434, "1"),
                    (102, "0"),
                    (58, self.reject_cancel),
                ],
            )
            return
        order.cl_ord_id, order.status = m.require(11), "4"
        self.orders[order.cl_ord_id] = order
        self.report(order, "4", orig=m.require(41))

    def on_replace(self, m: FixMessage) -> None:
        order = self.orders.pop(m.require(41))
        if self.reject_replace is not None:
            self.orders[order.cl_ord_id] = order
            self.peer.send(
                "9",
                [
                    (37, order.order_id),
                    (11, m.require(11)),
                    (41, m.require(41)),
                    (39, order.status),
                    (434, "2"),
                    (102, "0"),
                    (58, self.reject_replace),
                ],
            )
            return
        order.cl_ord_id, order.qty, order.price = m.require(11), Decimal(m.require(38)), m.get(44)
        self.orders[order.cl_ord_id] = order
        self.report(order, "5", orig=m.require(41))

    def report(
        self,
        order: VenueOrder,
        exec_type: str,
        text: str | None = None,
        orig: str | None = None,
        last: tuple[str, str] | None = None,
        extra: list[tuple[int, str]] | None = None,
        exec_id: str | None = None,
    ) -> None:
        exec_id = exec_id or f"E{next(self._ids)}"
        self.sent_exec_ids.append(exec_id)
        avg = order.notional / order.cum if order.cum else Decimal(0)
        fields = [(37, order.order_id), (11, order.cl_ord_id)]
        if orig is not None:
            fields.append((41, orig))
        fields += [
            (17, exec_id),
            (150, exec_type),
            (39, order.status),
            (55, order.symbol),
            (54, order.side),
            (38, str(order.qty)),
        ]
        if order.price is not None:
            fields.append((44, order.price))
        if last is not None:
            fields += [(32, last[0]), (31, last[1])]
        fields += [
            (151, str(order.qty - order.cum if order.status in ("0", "1") else 0)),
            (14, str(order.cum)),
            (6, str(avg)),
            (60, "20261125-12:00:00.000"),
        ]
        if text is not None:
            fields.append((58, text))
        fields += extra or []
        self.peer.send("8", fields)


# ------------------------------------------------------------------------------------------------
# The node
# ------------------------------------------------------------------------------------------------


class Recording(Strategy):
    """Records every order event it sees."""

    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="REC-001"))
        self.events: list[Any] = []

    def on_event(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type[Any], order: Order | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and (order is None or e.client_order_id == order.client_order_id)
        ]


def session(tmp_path: Path, port: int, target: str, **extra: Any) -> dict[str, Any]:
    return {
        "sender_comp_id": "MF",
        "target_comp_id": target,
        "port": port,
        "reconnect_min_secs": 0.2,
        "reconnect_max_secs": 0.5,
        "store": {"path": str(tmp_path / "store")},
        "log_dir": str(tmp_path / "log"),
        **extra,
    }


B3_PROFILE = {"entering_firm": "308", "entering_trader": "TRD1", "account": "12345"}


def b3_config(
    tmp_path: Path, port: int, profile: dict[str, Any] | None = None, **extra: Any
) -> B3ExecClientConfig:
    return B3ExecClientConfig(
        session=session(tmp_path, port, "B3"),
        profile=B3_PROFILE if profile is None else profile,
        instrument_ids=(WIN, DI1),
        **extra,
    )


def cme_config(tmp_path: Path, port: int, **extra: Any) -> CmeExecClientConfig:
    return CmeExecClientConfig(
        session=session(tmp_path, port, "CME"),
        profile={"operator_id": "OPS01", "location": "US,IL", "account": "FUND01"},
        instrument_ids=(ES,),
        **extra,
    )


@asynccontextmanager
async def running_node(
    config: Any,
    factory: Any,
    trader_id: str = "TESTER-001",
    cache: CacheConfig | None = None,
) -> AsyncIterator[tuple[TradingNode, Recording]]:
    loop = asyncio.get_running_loop()
    node = TradingNode(
        TradingNodeConfig(
            trader_id=trader_id,
            cache=cache,
            logging=LoggingConfig(log_level="ERROR"),
            exec_engine=LiveExecEngineConfig(reconciliation=True),
            exec_clients={config.venue: config},
            timeout_connection=15,
            timeout_reconciliation=5,
            timeout_portfolio=2,
            timeout_disconnection=2,
            timeout_post_stop=0.1,
        ),
        loop=loop,
    )
    strategy = Recording()
    node.trader.add_strategy(strategy)
    node.add_exec_client_factory(config.venue, factory)
    node.build()
    task = loop.create_task(node.run_async())
    try:
        await eventually(lambda: strategy.is_running, timeout=20, what="strategy running")
        yield node, strategy
    finally:
        await node.stop_async()
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            task.cancel()
        _TO_DISPOSE.append(node)


_TO_DISPOSE: list[TradingNode] = []


def run(scenario: Callable[[], Any]) -> None:
    """``asyncio.run`` the scenario, then dispose its nodes (dispose stops a running loop)."""
    try:
        asyncio.run(scenario())
    finally:
        while _TO_DISPOSE:
            _TO_DISPOSE.pop().dispose()


@asynccontextmanager
async def venue_task(peer: QuickFixPeer) -> AsyncIterator[ScriptedVenue]:
    venue = ScriptedVenue(peer)
    task = asyncio.get_running_loop().create_task(venue.run())
    try:
        yield venue
    finally:
        task.cancel()


def received(peer: QuickFixPeer, msg_type: str) -> list[FixMessage]:
    return peer.received("app", msg_type)


# ------------------------------------------------------------------------------------------------
# B3
# ------------------------------------------------------------------------------------------------


def every_order_type(f: Any, iid: InstrumentId, px: Callable[[int], Price]) -> list[Order]:
    """Market IOC, limit DAY/GTC/FOK/GTD, stop (GTC) and stop-limit (GTC); ``px(k)`` = k ticks off."""
    expire = pd.Timestamp("2026-12-10 20:00", tz="UTC")
    one, two = Quantity.from_int(1), Quantity.from_int(2)
    return [
        f.market(iid, OrderSide.BUY, one, time_in_force=TimeInForce.IOC),
        f.limit(iid, OrderSide.BUY, two, px(-20), TimeInForce.DAY),
        f.limit(iid, OrderSide.SELL, two, px(20), TimeInForce.GTC),
        f.limit(iid, OrderSide.SELL, one, px(21), TimeInForce.FOK),
        f.limit(iid, OrderSide.BUY, one, px(-19), TimeInForce.GTD, expire_time=expire),
        f.stop_market(iid, OrderSide.BUY, one, px(30)),
        f.stop_limit(iid, OrderSide.SELL, one, px(-30), px(-29)),
    ]


VENUES: dict[str, tuple[str, Decimal, Decimal, str, Callable[..., Any], Any]] = {
    "B3": (WIN, Decimal(125000), Decimal(5), "WINZ26", b3_config, B3LiveExecClientFactory),
    "CME": (ES, Decimal("6000.00"), Decimal("0.25"), "ESZ6", cme_config, CmeLiveExecClientFactory),
}


@pytest.mark.parametrize("venue_name", ["B3", "CME"])
def test_every_order_type_and_tif_reaches_the_venue_with_its_tags_and_is_accepted(
    tmp_path: Path, venue_peer: VenueFactory, venue_name: str
) -> None:
    instrument, mid, tick, symbol, make_config, factory = VENUES[venue_name]
    peer = venue_peer(venue_name)

    def px(ticks: int) -> Price:
        return Price.from_str(str(mid + ticks * tick))

    async def scenario() -> None:
        async with venue_task(peer), running_node(make_config(tmp_path, peer.port), factory) as (_, strategy):
            orders = every_order_type(strategy.order_factory, InstrumentId.from_str(instrument), px)
            for order in orders:
                strategy.submit_order(order)
            await eventually(lambda: len(received(peer, "D")) == len(orders), what="all orders at the venue")
            await eventually(lambda: strategy.of(OrderFilled), what="market order filled")
            await eventually(lambda: len(strategy.of(OrderAccepted)) == len(orders), what="all accepted")
            wire = [{m.require(11): m for m in received(peer, "D")}[o.client_order_id.value] for o in orders]
            assert [m.get(40) for m in wire] == ["1", "2", "2", "2", "2", "3", "4"]
            assert [m.get(59) for m in wire] == ["3", "0", "1", "4", "6", "1", "1"]
            assert wire[4].get(432) == "20261210"
            assert [wire[1].get(44), wire[6].get(44), wire[6].get(99)] == [
                str(px(-20)),
                str(px(-30)),
                str(px(-29)),
            ]
            assert [m.get(54) for m in wire] == ["1", "1", "2", "2", "1", "1", "2"]
            for m in wire:
                assert m.get(55) == symbol
                if venue_name == "B3":
                    assert m.get_all(448) == ["308", "TRD1"] and m.get_all(452) == ["7", "36"]
                    assert m.get(1) == "12345" and m.get(207) == "BVMF"
                else:
                    assert m.get(50) == "OPS01" and m.get(142) == "US,IL" and m.get(1028) == "N"
                    assert m.get(1) == "FUND01" and m.get(582) == "4" and m.get(207) == "CME"
            assert orders[0].status == OrderStatus.FILLED

    run(scenario)


def test_b3_partial_fills_sum_to_the_order_with_exact_average(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        async with (
            venue_task(peer) as venue,
            running_node(b3_config(tmp_path, peer.port), B3LiveExecClientFactory) as (node, strategy),
        ):
            iid = InstrumentId.from_str(WIN)
            order = strategy.order_factory.limit(
                iid, OrderSide.BUY, Quantity.from_int(10), Price.from_str("125000")
            )
            venue.fills_on_new[order.client_order_id.value] = [
                ("3", "124990"),
                ("5", "124995"),
                ("2", "125000"),
            ]
            strategy.submit_order(order)
            await eventually(lambda: order.status == OrderStatus.FILLED, what="order filled")
            fills = strategy.of(OrderFilled, order)
            assert [f.last_qty.as_decimal() for f in fills] == [3, 5, 2]
            assert order.filled_qty == Quantity.from_int(10)
            assert order.avg_px == pytest.approx(124994.5)
            position = node.cache.positions_open(instrument_id=iid)[0]
            assert position.quantity == Quantity.from_int(10)

    run(scenario)


def test_b3_reject_cancel_replace_and_their_rejects_reach_the_strategy(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        async with (
            venue_task(peer) as venue,
            running_node(b3_config(tmp_path, peer.port), B3LiveExecClientFactory) as (_, strategy),
        ):
            iid = InstrumentId.from_str(WIN)
            f = strategy.order_factory
            bad = f.limit(iid, OrderSide.BUY, Quantity.from_int(1), Price.from_str("125000"))
            venue.reject_new[bad.client_order_id.value] = "Price out of tunnel"
            strategy.submit_order(bad)
            await eventually(lambda: strategy.of(OrderRejected, bad), what="reject")
            assert strategy.of(OrderRejected, bad)[0].reason == "Price out of tunnel"

            order = f.limit(iid, OrderSide.BUY, Quantity.from_int(2), Price.from_str("125000"))
            strategy.submit_order(order)
            await eventually(lambda: order.status == OrderStatus.ACCEPTED, what="accepted")
            strategy.modify_order(order, quantity=Quantity.from_int(3), price=Price.from_str("125100"))
            await eventually(lambda: strategy.of(OrderUpdated, order), what="replaced")
            assert order.quantity == Quantity.from_int(3) and order.price == Price.from_str("125100")
            replace = received(peer, "G")[0]
            assert replace.get(41) == order.client_order_id.value and replace.get(44) == "125100"

            venue.reject_replace = "Order cannot be modified in auction"
            strategy.modify_order(order, price=Price.from_str("125200"))
            await eventually(lambda: strategy.of(OrderModifyRejected, order), what="modify rejected")
            assert strategy.of(OrderModifyRejected, order)[0].reason.startswith("Order cannot be modified")

            venue.reject_cancel = "Too late to cancel"
            strategy.cancel_order(order)
            await eventually(lambda: strategy.of(OrderCancelRejected, order), what="cancel rejected")
            assert "Too late to cancel" in strategy.of(OrderCancelRejected, order)[0].reason

            venue.reject_cancel = None
            strategy.cancel_order(order)
            await eventually(lambda: order.status == OrderStatus.CANCELED, what="canceled")
            cancels = received(peer, "F")
            # after the replace, the venue knows the order by the replace's ClOrdID
            assert cancels[-1].get(41) == replace.get(11)

            unsupported = f.market(iid, OrderSide.BUY, Quantity.from_int(1), time_in_force=TimeInForce.GTC)
            strategy.submit_order(unsupported)
            await eventually(lambda: strategy.of(OrderRejected, unsupported), what="local reject")
            assert "MARKET order cannot be GTC" in strategy.of(OrderRejected, unsupported)[0].reason

    run(scenario)


def test_di1_orders_go_out_as_rate_with_the_opposite_side_and_fills_come_back_as_pu(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        async with (
            venue_task(peer) as venue,
            running_node(b3_config(tmp_path, peer.port), B3LiveExecClientFactory) as (_, strategy),
        ):
            iid = InstrumentId.from_str(DI1)
            buy = strategy.order_factory.limit(
                iid, OrderSide.BUY, Quantity.from_int(5), Price.from_str("90000.00")
            )
            sell = strategy.order_factory.limit(
                iid, OrderSide.SELL, Quantity.from_int(3), Price.from_str("91000.00")
            )
            venue.fills_on_new[buy.client_order_id.value] = [("5", "7.000")]
            strategy.submit_order(buy)
            strategy.submit_order(sell)
            await eventually(lambda: buy.status == OrderStatus.FILLED, what="DI1 filled")
            await eventually(lambda: sell.status == OrderStatus.ACCEPTED, what="DI1 sell accepted")
            wire = {m.require(11): m for m in received(peer, "D")}
            on_wire_buy, on_wire_sell = wire[buy.client_order_id.value], wire[sell.client_order_id.value]
            assert on_wire_buy.get(54) == "2"  # buying PU is selling the rate
            assert on_wire_sell.get(54) == "1"  # selling PU is buying the rate
            du_now = business_days(pd.Timestamp.now(tz="America/Sao_Paulo").date(), di1_maturity(2028, 1))
            # the rate is snapped so the PU is never better than asked
            assert rate_to_pu(Decimal(on_wire_buy.require(44)), du_now) <= Decimal("90000")
            assert rate_to_pu(Decimal(on_wire_sell.require(44)), du_now) >= Decimal("91000")
            fill = strategy.of(OrderFilled, buy)[0]
            assert fill.order_side == OrderSide.BUY
            # the venue's report is stamped 2026-11-25 (60=): the PU is of that trade date
            du_trade = business_days(date(2026, 11, 25), di1_maturity(2028, 1))
            assert fill.last_px.as_decimal() == rate_to_pu(Decimal("7.000"), du_trade).quantize(
                Decimal("0.01")
            )

    run(scenario)


def test_venue_expiry_and_stop_trigger_reach_the_strategy(tmp_path: Path, venue_peer: VenueFactory) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        async with (
            venue_task(peer) as venue,
            running_node(b3_config(tmp_path, peer.port), B3LiveExecClientFactory) as (_, strategy),
        ):
            iid = InstrumentId.from_str(WIN)
            f = strategy.order_factory
            day = f.limit(iid, OrderSide.BUY, Quantity.from_int(1), Price.from_str("120000"), TimeInForce.DAY)
            stop = f.stop_limit(
                iid, OrderSide.BUY, Quantity.from_int(1), Price.from_str("131005"), Price.from_str("131000")
            )
            for order in (day, stop):
                strategy.submit_order(order)
            await eventually(lambda: day.status == stop.status == OrderStatus.ACCEPTED, what="accepted")
            expiring = venue.orders[day.client_order_id.value]
            expiring.status = "C"
            venue.report(expiring, "C", text="end of session")
            venue.report(venue.orders[stop.client_order_id.value], "L")
            await eventually(lambda: day.status == OrderStatus.EXPIRED, what="expired")
            await eventually(lambda: stop.status == OrderStatus.TRIGGERED, what="triggered")
            assert strategy.of(OrderExpired, day) and strategy.of(OrderTriggered, stop)

    run(scenario)


def test_a_bracket_is_rejected_whole_and_an_independent_list_goes_out(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("CME")

    async def scenario() -> None:
        async with (
            venue_task(peer),
            running_node(cme_config(tmp_path, peer.port), CmeLiveExecClientFactory) as (_, strategy),
        ):
            iid = InstrumentId.from_str(ES)
            f = strategy.order_factory
            one = Quantity.from_int(1)
            bracket = f.bracket(
                iid,
                OrderSide.BUY,
                one,
                entry_price=Price.from_str("5990.00"),
                entry_order_type=OrderType.LIMIT,
                sl_trigger_price=Price.from_str("5980.00"),
                tp_price=Price.from_str("6020.00"),
            )
            strategy.submit_order_list(bracket)
            bids = f.create_list(
                [
                    f.limit(iid, OrderSide.BUY, one, Price.from_str("5995.00")),
                    f.limit(iid, OrderSide.BUY, one, Price.from_str("5994.75")),
                ]
            )
            strategy.submit_order_list(bids)
            await eventually(
                lambda: all(o.status == OrderStatus.ACCEPTED for o in bids.orders), what="the bids accepted"
            )
            await eventually(
                lambda: all(o.status == OrderStatus.REJECTED for o in bracket.orders), what="bracket rejected"
            )
            sent = {m.require(11) for m in received(peer, "D")}
            assert sent == {o.client_order_id.value for o in bids.orders}  # nothing of the bracket
            reason = strategy.of(OrderRejected, bracket.orders[1])[0].reason
            assert f"order list {bracket.id.value} links its orders (OTO/OCO/OUO" in reason
            assert "none was sent" in reason

    run(scenario)


def test_kill_switch_mass_cancel_cancels_every_working_order(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")
    # B3 puts the Parties group on 35=q; stock FIX44.xml has no Parties there (QuickFIX: "Tag appears
    # more than once"), so this venue session is configured without parties.
    config = b3_config(tmp_path, peer.port, profile={"account": "12345"})

    async def scenario() -> None:
        async with (
            venue_task(peer),
            running_node(config, B3LiveExecClientFactory) as (
                _,
                strategy,
            ),
        ):
            iid = InstrumentId.from_str(WIN)
            orders = [
                strategy.order_factory.limit(iid, OrderSide.BUY, Quantity.from_int(1), Price.from_str(str(p)))
                for p in (120000, 120005, 120010)
            ]
            for order in orders:
                strategy.submit_order(order)
            await eventually(lambda: all(o.status == OrderStatus.ACCEPTED for o in orders), what="accepted")
            strategy.cancel_all_orders(iid)
            await eventually(
                lambda: all(o.status == OrderStatus.CANCELED for o in orders), what="all canceled"
            )
            mass = received(peer, "q")
            assert len(mass) == 1 and mass[0].get(530) == "1" and mass[0].get(55) == "WINZ26"
            assert not received(peer, "F")

    run(scenario)


def test_duplicate_report_and_a_fill_while_disconnected_are_booked_exactly_once(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        try:
            async with (
                venue_task(peer) as venue,
                running_node(b3_config(tmp_path, proxy.port), B3LiveExecClientFactory) as (node, strategy),
            ):
                iid = InstrumentId.from_str(WIN)
                order = strategy.order_factory.limit(
                    iid, OrderSide.BUY, Quantity.from_int(4), Price.from_str("125000")
                )
                venue.fills_on_new[order.client_order_id.value] = [("1", "125000")]
                strategy.submit_order(order)
                await eventually(lambda: order.filled_qty == Quantity.from_int(1), what="first fill")
                # the venue repeats the fill report (same ExecID, a new sequence number)
                venue_order = venue.orders[order.client_order_id.value]
                last_exec_id = venue.sent_exec_ids[-1]
                venue.report(venue_order, "F", last=("1", "125000"), exec_id=last_exec_id)
                await asyncio.sleep(0.5)
                assert len(strategy.of(OrderFilled, order)) == 1

                proxy.cut()
                await eventually(lambda: not peer.is_logged_on(), what="QuickFIX saw the loss")
                venue.fill(order.client_order_id.value, "2", "125005")  # stored by QuickFIX while away
                proxy.restore()
                await eventually(
                    lambda: order.filled_qty == Quantity.from_int(3), timeout=15, what="recovered"
                )
                await asyncio.sleep(0.5)
                assert [f.last_qty.as_decimal() for f in strategy.of(OrderFilled, order)] == [1, 2]
                position = node.cache.positions_open(instrument_id=iid)[0]
                assert position.quantity == Quantity.from_int(3)
        finally:
            await proxy.stop()

    run(scenario)


def test_per_order_cancels_when_the_venue_has_no_mass_cancel(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")
    config = b3_config(tmp_path, peer.port, mass_cancel=False)

    async def scenario() -> None:
        async with venue_task(peer), running_node(config, B3LiveExecClientFactory) as (_, strategy):
            iid = InstrumentId.from_str(WIN)
            orders = [
                strategy.order_factory.limit(
                    iid, OrderSide.SELL, Quantity.from_int(1), Price.from_str(str(p))
                )
                for p in (130000, 130005)
            ]
            for order in orders:
                strategy.submit_order(order)
            await eventually(lambda: all(o.status == OrderStatus.ACCEPTED for o in orders), what="accepted")
            strategy.cancel_all_orders(iid)
            await eventually(lambda: all(o.status == OrderStatus.CANCELED for o in orders), what="canceled")
            assert not received(peer, "q")
            assert sorted(m.require(41) for m in received(peer, "F")) == sorted(
                o.client_order_id.value for o in orders
            )

    run(scenario)


def test_cancel_on_reconnect_mass_cancels_at_the_next_logon(tmp_path: Path, venue_peer: VenueFactory) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        config = b3_config(tmp_path, proxy.port, profile={"account": "12345"}, cancel_on_reconnect=True)
        try:
            async with venue_task(peer), running_node(config, B3LiveExecClientFactory) as (_, strategy):
                iid = InstrumentId.from_str(WIN)
                order = strategy.order_factory.limit(
                    iid, OrderSide.BUY, Quantity.from_int(1), Price.from_str("120000")
                )
                strategy.submit_order(order)
                await eventually(lambda: order.status == OrderStatus.ACCEPTED, what="accepted")
                assert not received(peer, "q")
                proxy.cut()
                await eventually(lambda: not peer.is_logged_on(), what="session lost")
                proxy.restore()
                await eventually(lambda: received(peer, "q"), timeout=15, what="mass cancel after logon")
                await eventually(lambda: order.status == OrderStatus.CANCELED, what="canceled")
        finally:
            await proxy.stop()

    run(scenario)


def test_the_session_state_on_the_status_line_follows_an_outage(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    """What ``macrofund run``'s status line shows per venue: ``up``, ``DOWN 3s`` while it reconnects
    (however many connection attempts fail meanwhile), ``up`` again."""
    peer = venue_peer("B3")

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        config = b3_config(tmp_path, proxy.port)
        try:
            async with venue_task(peer), running_node(config, B3LiveExecClientFactory) as (node, _):
                client: Any = next(iter(node.kernel.exec_engine._clients.values()))
                assert client.session_state == "up"
                proxy.cut()
                await eventually(lambda: client.session_state.startswith("DOWN "), what="down")
                await asyncio.sleep(1.2)
                assert re.fullmatch(r"DOWN [1-9]\d*s", client.session_state), client.session_state
                proxy.restore()
                await eventually(lambda: client.session_state == "up", timeout=15, what="up again")
        finally:
            await proxy.stop()

    run(scenario)


def test_a_mass_cancel_asked_for_while_disconnected_goes_out_at_the_next_logon(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        config = b3_config(tmp_path, proxy.port, profile={"account": "12345"})
        try:
            async with venue_task(peer), running_node(config, B3LiveExecClientFactory) as (_, strategy):
                iid = InstrumentId.from_str(WIN)
                order = strategy.order_factory.limit(
                    iid, OrderSide.BUY, Quantity.from_int(1), Price.from_str("120000")
                )
                strategy.submit_order(order)
                await eventually(lambda: order.status == OrderStatus.ACCEPTED, what="accepted")
                proxy.cut()
                await eventually(lambda: not peer.is_logged_on(), what="session lost")
                strategy.cancel_all_orders(iid)  # the kill switch's path, while we are cut off
                await asyncio.sleep(0.3)
                proxy.restore()
                await eventually(lambda: order.status == OrderStatus.CANCELED, timeout=15, what="canceled")
                mass = received(peer, "q")
                assert len(mass) == 1 and mass[0].get(55) == "WINZ26"
        finally:
            await proxy.stop()

    run(scenario)


def test_an_order_entered_elsewhere_is_reported_as_external(tmp_path: Path, venue_peer: VenueFactory) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        async with (
            venue_task(peer) as venue,
            running_node(b3_config(tmp_path, peer.port), B3LiveExecClientFactory) as (node, _),
        ):
            manual = VenueOrder("MANUAL-1", "VX1", "WINZ26", "1", Decimal(3), "125000")
            venue.report(manual, "0", extra=[(40, "2"), (59, "0")])

            def external() -> list[Order]:
                return [o for o in node.cache.orders() if o.venue_order_id == VenueOrderId("VX1")]

            await eventually(external, what="external order in the cache")
            order = external()[0]
            assert order.strategy_id.value == "EXTERNAL"
            assert order.quantity == Quantity.from_int(3) and order.side == OrderSide.BUY

    run(scenario)


# ------------------------------------------------------------------------------------------------
# CME
# ------------------------------------------------------------------------------------------------


def test_cme_orders_carry_the_gateway_audit_tags_and_fill_and_the_password_stays_secret(
    tmp_path: Path,
    venue_peer: VenueFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    peer = venue_peer("CME")
    monkeypatch.setenv("MF_TEST_CME_PASSWORD", "pw-9f3e1c")
    config = cme_config(tmp_path, peer.port, password_env="MF_TEST_CME_PASSWORD")

    async def scenario() -> None:
        async with (
            venue_task(peer) as venue,
            running_node(config, CmeLiveExecClientFactory) as (_, strategy),
        ):
            iid = InstrumentId.from_str(ES)
            order = strategy.order_factory.limit(
                iid, OrderSide.SELL, Quantity.from_int(2), Price.from_str("6010.25")
            )
            venue.fills_on_new[order.client_order_id.value] = [("2", "6010.25")]
            strategy.submit_order(order)
            await eventually(lambda: order.status == OrderStatus.FILLED, what="ES filled")
            wire = received(peer, "D")[0]
            assert wire.get(50) == "OPS01" and wire.get(142) == "US,IL"
            assert wire.get(1) == "FUND01" and wire.get(582) == "4" and wire.get(1028) == "N"
            assert wire.get(55) == "ESZ6" and wire.get(44) == "6010.25" and wire.get(54) == "2"
            logon = peer.received("admin", "A")[0]
            assert logon.get(1603) == "macrofund" and logon.get(554) == "pw-9f3e1c"
            fill = strategy.of(OrderFilled, order)[0]
            assert fill.last_px == Price.from_str("6010.25")

    run(scenario)
    raw_log = "".join(p.read_text() for p in (tmp_path / "log").rglob("*.log"))
    assert "554=***" in raw_log
    assert "pw-9f3e1c" not in raw_log


def test_a_resend_request_never_sends_a_stale_order_again(tmp_path: Path, venue_peer: VenueFactory) -> None:
    """A venue that lost what it received asks for everything again; with PossDupFlag=Y it would take an
    order from long ago as a new one. Orders older than ``resend_max_age_secs`` are gap-filled and their
    status is asked for; younger ones (the order that showed the venue its gap) are resent."""
    peer = venue_peer("B3")
    config = b3_config(tmp_path, peer.port, resend_max_age_secs=1)

    async def scenario() -> None:
        async with venue_task(peer), running_node(config, B3LiveExecClientFactory) as (_, strategy):
            iid = InstrumentId.from_str(WIN)
            buy = partial(strategy.order_factory.limit, iid, OrderSide.BUY, Quantity.from_int(1))
            old, new = buy(Price.from_str("120000")), buy(Price.from_str("120005"))
            strategy.submit_order(old)
            await eventually(lambda: old.status == OrderStatus.ACCEPTED, what="accepted")
            await asyncio.sleep(1.5)  # the old order is now older than resend_max_age_secs
            peer.session.setNextTargetMsgSeqNum(1)  # the venue forgets what it received
            strategy.submit_order(new)  # a gap for the venue: it asks for a resend from 1
            await eventually(lambda: new.status == OrderStatus.ACCEPTED, what="the new order accepted")
            await eventually(lambda: received(peer, "H"), what="a status request for the old order")

    run(scenario)
    assert peer.received("sent", "2")[0].get(7) == "1"
    orders = received(peer, "D")
    assert [m.get(43) for m in orders] == [None, None], "an order was sent again"
    assert [m.get(44) for m in orders] == ["120000", "120005"]
    gap_fills = [m for m in peer.received("admin", "4") if m.get(123) == "Y"]
    assert gap_fills and int(gap_fills[-1].require(36)) == int(orders[1].require(34))
    assert received(peer, "H")[0].get(11) == orders[0].get(11)


def test_query_order_recovers_a_fill_the_venue_never_reported(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    peer = venue_peer("B3")

    async def scenario() -> None:
        async with (
            venue_task(peer) as venue,
            running_node(b3_config(tmp_path, peer.port), B3LiveExecClientFactory) as (_, strategy),
        ):
            iid = InstrumentId.from_str(WIN)
            order = strategy.order_factory.limit(
                iid, OrderSide.BUY, Quantity.from_int(4), Price.from_str("125000")
            )
            strategy.submit_order(order)
            await eventually(lambda: order.status == OrderStatus.ACCEPTED, what="accepted")
            silent = venue.orders[order.client_order_id.value]
            silent.cum, silent.notional, silent.status = Decimal(2), Decimal(250010), "1"  # no report sent
            strategy.query_order(order)
            await eventually(
                lambda: order.filled_qty == Quantity.from_int(2), what="fill recovered by status"
            )
            assert received(peer, "H")[0].get(11) == order.client_order_id.value
            assert order.status == OrderStatus.PARTIALLY_FILLED
            assert order.avg_px == pytest.approx(125005)

    run(scenario)


# ------------------------------------------------------------------------------------------------
# Restart: start-up reconciliation against the venue
# ------------------------------------------------------------------------------------------------


def test_restart_recovers_a_fill_made_while_down_once_and_never_resends_the_order(
    tmp_path: Path, venue_peer: VenueFactory, redis_server: str
) -> None:
    peer = venue_peer("B3")
    trader_id = f"RECON-{uuid.uuid4().hex[:6].upper()}"
    url = redis_server.removeprefix("redis://").split("/")[0]
    host, port = url.split(":")
    cache = CacheConfig(
        database=DatabaseConfig(type="redis", host=host, port=int(port)), flush_on_start=False
    )
    config = b3_config(tmp_path, peer.port)

    async def scenario() -> None:
        async with venue_task(peer) as venue:
            async with running_node(config, B3LiveExecClientFactory, trader_id, cache) as (_, strategy):
                iid = InstrumentId.from_str(WIN)
                order = strategy.order_factory.limit(
                    iid, OrderSide.BUY, Quantity.from_int(4), Price.from_str("125000")
                )
                strategy.submit_order(order)
                await eventually(lambda: order.status == OrderStatus.ACCEPTED, what="accepted")
                # replaced: from now on the venue knows the order by the replace's ClOrdID only
                strategy.modify_order(order, quantity=Quantity.from_int(5))
                await eventually(lambda: order.quantity == Quantity.from_int(5), what="replaced")
                await asyncio.sleep(0.5)  # let the cache write reach Redis
            client_order_id = order.client_order_id
            await eventually(lambda: not peer.is_logged_on(), what="logged out")
            replace_id = received(peer, "G")[0].require(11)
            venue.fill(replace_id, "2", "125005")  # while we are down
            fill_exec_id = venue.sent_exec_ids[-1]

            async with running_node(config, B3LiveExecClientFactory, trader_id, cache) as (node, _):
                await eventually(lambda: received(peer, "H"), what="status request at start-up")
                restored = node.cache.order(client_order_id)
                assert restored is not None
                await eventually(lambda: restored.filled_qty == Quantity.from_int(2), what="fill recovered")
                await asyncio.sleep(1.0)
                assert restored.filled_qty == Quantity.from_int(2)
                assert restored.status == OrderStatus.PARTIALLY_FILLED
                fills = [e for e in restored.events if isinstance(e, OrderFilled)]
                assert len(fills) == 1
                # booked from the venue's resent trade report (its ExecID), matched by OrderID (37)
                assert fills[0].trade_id.value == fill_exec_id
                assert len(received(peer, "D")) == 1  # never re-sent
                assert received(peer, "H")[0].get(37) == restored.venue_order_id.value
                assert restored.quantity == Quantity.from_int(5)
                # the resent trade report (11 = the replace's ClOrdID) was matched to our order
                assert not [o for o in node.cache.orders() if o.strategy_id.value == "EXTERNAL"]

    client = redis.Redis.from_url(redis_server)
    try:
        run(scenario)
    finally:
        keys = list(client.scan_iter(f"trader-{trader_id}*"))
        if keys:
            client.delete(*keys)


def test_a_refused_logon_fails_connect_with_the_venues_reason_and_stops_retrying(tmp_path: Path) -> None:
    """Our own acceptor checks 553/554 (QuickFIX does not); the client is driven on a real kernel."""

    async def scenario() -> None:
        venue_session = FixSessionConfig.model_validate(
            {"sender_comp_id": "B3", "target_comp_id": "MF", "username": "mf", "password": "right",
             "store": {"path": str(tmp_path / "venue")}, "log_dir": None}
        )  # fmt: skip
        venue = FixAcceptor([venue_session], FixApplication(), port=0)
        await venue.start()
        loop = asyncio.get_running_loop()
        node = TradingNode(
            TradingNodeConfig(trader_id="PW-001", logging=LoggingConfig(log_level="ERROR")), loop=loop
        )
        _TO_DISPOSE.append(node)
        wrong = {**session(tmp_path, venue.port, "B3"), "username": "mf", "password": "wrong"}
        config = B3ExecClientConfig(session=wrong, instrument_ids=(WIN,), logon_timeout_secs=1.5)
        kernel = node.kernel
        client = B3LiveExecClientFactory.create(loop, "B3", config, kernel.msgbus, kernel.cache, kernel.clock)
        try:
            connecting = asyncio.ensure_future(client._connect())
            # While it retries, the status line already says why (not only when the timeout ends it).
            while client.session_state == "logging on" and not connecting.done():
                await asyncio.sleep(0.02)
            assert client.session_state == "logon refused (Logon rejected: invalid username or password)"
            with pytest.raises(
                ConnectionError, match=r"venue said: Logon rejected: invalid username or password"
            ):
                await connecting
            assert client.session is None  # no background retries left behind
        finally:
            await venue.stop()

    run(scenario)


def test_a_venue_whose_sequence_went_back_is_not_retried_and_the_operator_is_told(tmp_path: Path) -> None:
    """A venue that reset its side answers our Logon with MsgSeqNum 1. Reconnecting pushed its sequence
    up one Logon at a time until it passed ours; its ResendRequest from 1 then asked for every order we
    ever stored. Now the client gives up at once and says what to do."""

    async def venue(store: str) -> FixAcceptor:
        config = FixSessionConfig.model_validate(
            {"sender_comp_id": "B3", "target_comp_id": "MF", "store": {"path": str(tmp_path / store)},
             "log_dir": None}
        )  # fmt: skip
        acceptor = FixAcceptor([config], FixApplication(), port=0)
        await acceptor.start()
        return acceptor

    async def client(node_id: str, port: int) -> Any:
        loop = asyncio.get_running_loop()
        node = TradingNode(
            TradingNodeConfig(trader_id=node_id, logging=LoggingConfig(log_level="ERROR")), loop=loop
        )
        _TO_DISPOSE.append(node)
        config = B3ExecClientConfig(session=session(tmp_path, port, "B3"), instrument_ids=(WIN,))
        kernel = node.kernel
        return B3LiveExecClientFactory.create(loop, "B3", config, kernel.msgbus, kernel.cache, kernel.clock)

    async def scenario() -> None:
        first = await venue("venue-1")
        yesterday = await client("SEQ-001", first.port)
        await yesterday._connect()
        for _ in range(3):
            first.session("B3", "MF").send(FixMessage("B").append(148, "news"))  # its sequence moves on
        await eventually(lambda: first.session("B3", "MF").next_sender_seq == 5, what="venue seq 5")
        await yesterday._disconnect()
        await first.stop()
        reset = await venue("venue-2")  # the venue starts from 1 again
        try:
            today = await client("SEQ-002", reset.port)
            with pytest.raises(
                ConnectionError, match=r"given up \(the venue's Logon said MsgSeqNum too lo"
            ) as why:
                await today._connect()  # at once, not after the logon timeout
            assert "its sequence numbers went back" in str(why.value) and "reset_on_logon = true" in str(
                why.value
            )
            assert today.session is None  # no reconnecting left behind
            after_one_attempt = reset.session("B3", "MF").next_sender_seq
            await asyncio.sleep(1.5)  # longer than the reconnect delay
            assert reset.session("B3", "MF").next_sender_seq == after_one_attempt, "it tried to log on again"
        finally:
            await reset.stop()

    run(scenario)


def test_status_requests_for_many_orders_are_paced_to_the_configured_rate(
    tmp_path: Path, venue_peer: VenueFactory
) -> None:
    """Start-up reconciliation and the periodic open-order check ask about every working order; a
    venue throttles (and may log out) a session that sends thousands of 35=H at once."""
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.execution.messages import GenerateOrderStatusReports
    from nautilus_trader.model.identifiers import ClientId

    peer = venue_peer("B3")
    config = b3_config(tmp_path, peer.port, status_requests_per_second=2)

    async def scenario() -> None:
        async with (
            venue_task(peer),
            running_node(config, B3LiveExecClientFactory) as (node, strategy),
        ):
            iid = InstrumentId.from_str(WIN)
            orders = [
                strategy.order_factory.limit(iid, OrderSide.BUY, Quantity.from_int(1), Price.from_str(px))
                for px in ("124000", "124005", "124010", "124015", "124020")
            ]
            for order in orders:
                strategy.submit_order(order)
            await eventually(lambda: all(o.status == OrderStatus.ACCEPTED for o in orders), what="accepted")
            client: Any = node.kernel.exec_engine._clients[ClientId("B3")]
            started = time.monotonic()
            reports = await client.generate_order_status_reports(
                GenerateOrderStatusReports(None, None, None, True, UUID4(), 0)
            )
            elapsed = time.monotonic() - started
            assert sorted(r.client_order_id for r in reports) == sorted(o.client_order_id for o in orders)
            assert all(r.order_status == OrderStatus.ACCEPTED for r in reports)
            # 2 per second: waves at 0, 1 and 2 s
            assert elapsed >= 2.0
            assert len(received(peer, "H")) == len(orders)

    run(scenario)
