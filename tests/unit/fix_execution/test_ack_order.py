"""A venue's 150=0 becomes exactly one ``OrderAccepted``, however fast the venue answers.

In a live node the client's ``OrderSubmitted`` goes through the execution engine's event queue; a venue
on loopback can acknowledge before that queue has run, so the cached order is still INITIALIZED when the
150=0 is read. Found by ``bench/live_fix.py``: the ack was dropped and the order sat SUBMITTED until
Nautilus's in-flight check asked the venue ~10 s later.

Also: a submit is handled on the engine's own call, not in a task scheduled for a later loop turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderAccepted, OrderRejected, OrderSubmitted
from nautilus_trader.model.identifiers import AccountId, InstrumentId, StrategyId, TraderId, VenueOrderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs

from macrofund.adapters.b3.config import B3ExecClientConfig
from macrofund.adapters.b3.execution import B3ExecutionClient
from macrofund.adapters.fix.message import FixMessage

TRADER = TraderId("TESTER-001")
STRATEGY = StrategyId("S-001")
INSTRUMENT = InstrumentId.from_str("WINZ26.B3")


@pytest.fixture
def client() -> Iterator[tuple[B3ExecutionClient, Cache, list[Any]]]:
    loop = asyncio.new_event_loop()
    clock = LiveClock()
    msgbus = MessageBus(trader_id=TRADER, clock=clock)
    cache = Cache()
    events: list[Any] = []
    msgbus.register("ExecEngine.process", events.append)  # record what the engine would be sent
    config = B3ExecClientConfig(
        session={"sender_comp_id": "MF01", "target_comp_id": "B3", "port": 9880},
        instrument_ids=("WINZ26.B3",),
    )
    yield B3ExecutionClient(loop, msgbus, cache, clock, config), cache, events
    loop.close()


def _order(cache: Cache) -> LimitOrder:
    order = LimitOrder(
        trader_id=TRADER,
        strategy_id=STRATEGY,
        instrument_id=INSTRUMENT,
        client_order_id=TestIdStubs.client_order_id(),
        order_side=OrderSide.BUY,
        quantity=Quantity.from_int(1),
        price=Price.from_str("123500"),
        init_id=UUID4(),
        ts_init=0,
    )
    cache.add_order(order)
    return order


def _ack(order: LimitOrder, exec_id: str) -> FixMessage:
    return FixMessage("8").extend(
        [(37, "B3-1"), (11, order.client_order_id.value), (17, exec_id), (150, "0"), (39, "0"),
         (55, "WINZ26"), (54, "1"), (38, "1"), (40, "2"), (44, "123500"), (151, "1"), (14, "0"), (6, "0"),
         (60, "20261125-13:00:00.000")]
    )  # fmt: skip


def test_an_ack_read_before_the_engine_applied_order_submitted_is_not_lost(client: Any) -> None:
    exec_client, cache, events = client
    order = _order(cache)
    assert order.status == OrderStatus.INITIALIZED  # OrderSubmitted still queued in a live node
    exec_client._on_message(_ack(order, "E1"))
    accepted = [e for e in events if isinstance(e, OrderAccepted)]
    assert len(accepted) == 1
    assert accepted[0].client_order_id == order.client_order_id
    assert accepted[0].venue_order_id == VenueOrderId("B3-1")


def test_a_repeated_ack_for_an_accepted_order_adds_nothing(client: Any) -> None:
    exec_client, cache, events = client
    order = _order(cache)
    account = AccountId("B3-001")
    order.apply(OrderSubmitted(TRADER, STRATEGY, INSTRUMENT, order.client_order_id, account, UUID4(), 0, 0))
    order.apply(
        OrderAccepted(
            TRADER, STRATEGY, INSTRUMENT, order.client_order_id, VenueOrderId("B3-1"), account, UUID4(), 0, 0
        )
    )
    cache.update_order(order)
    exec_client._on_message(_ack(order, "E2"))
    assert not [e for e in events if isinstance(e, OrderAccepted)]


def test_a_submit_is_handled_on_the_engines_call_without_a_loop_turn(client: Any) -> None:
    exec_client, cache, events = client
    order = _order(cache)
    command = SubmitOrder(TRADER, STRATEGY, order, UUID4(), 0)
    exec_client.submit_order(command)  # the loop never runs in this test
    # No session is logged on here: the order is submitted and rejected at once, with the reason.
    assert [type(e) for e in events] == [OrderSubmitted, OrderRejected]
    assert "not logged on" in events[1].reason
