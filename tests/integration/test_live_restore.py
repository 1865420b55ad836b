"""``restore_working_orders``: a restarted live node's working orders rebuilt from PostgreSQL rows.

Real PostgreSQL (the ``postgres_dsn`` fixture, our migrations) and a real Nautilus ``Cache``; the rows
are what the persistence component writes. The end-to-end restart is ``tests/e2e/test_live_restart.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.model.enums import OrderStatus, OrderType, TimeInForce
from nautilus_trader.model.identifiers import ClientOrderId, TraderId, VenueOrderId

from macrofund.engine.restore import restore_working_orders
from macrofund.storage.migrations import upgrade_dsn
from macrofund.venues.contracts import futures_contract

RUN = "restore1"
WIN = "WINZ26.B3"


@dataclass
class _Kernel:
    cache: Cache
    trader_id: TraderId
    clock: LiveClock


@dataclass
class _Node:
    """What ``restore_working_orders`` reads of a TradingNode: its kernel's cache, trader id, clock."""

    kernel: _Kernel


def _order(cid: str, status: str, **kw: Any) -> dict[str, Any]:
    row = {
        "run_id": RUN, "client_order_id": cid, "venue_order_id": "B3-7", "strategy_id": "Ladder-000",
        "instrument_id": WIN, "side": "BUY", "type": "LIMIT", "time_in_force": "GTC",
        "quantity": Decimal(5), "filled_qty": Decimal(0), "price": Decimal("159900"), "trigger_price": None,
        "status": status, "last_event_type": "OrderAccepted", "last_seq": 3, "ts_init": 1, "ts_last": 2,
    }  # fmt: skip
    row.update(kw)
    return row


def _fill(cid: str, trade_id: str, qty: int, price: str) -> dict[str, Any]:
    return {
        "run_id": RUN, "venue": "B3", "trade_id": trade_id, "client_order_id": cid, "venue_order_id": "B3-7",
        "position_id": f"{WIN}-Ladder-000", "strategy_id": "Ladder-000", "instrument_id": WIN,
        "account_id": "B3-001", "side": "BUY", "quantity": Decimal(qty), "price": Decimal(price),
        "currency": "BRL", "commission": Decimal("0.37"), "commission_currency": "BRL", "liquidity": "MAKER",
        "ts_event": 10, "ts_init": 10,
    }  # fmt: skip


async def _insert(dsn: str, orders: list[dict[str, Any]], fills: list[dict[str, Any]]) -> None:
    await upgrade_dsn(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "insert into runs (run_id, mode, trader_id) values ($1, 'live', 'TRADER-001')", RUN
        )
        for table, rows in (("orders", orders), ("fills", fills)):
            for row in rows:
                if table == "fills":
                    row = {**row, "event_time": datetime.now(UTC)}
                cols = ", ".join(row)
                marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
                await conn.execute(f"insert into {table} ({cols}) values ({marks})", *row.values())
    finally:
        await conn.close()


def test_working_orders_come_back_with_their_booked_fills_and_the_unrebuildable_are_listed(
    postgres_dsn: str,
) -> None:
    orders = [
        _order("O-PART", "PARTIALLY_FILLED", filled_qty=Decimal(2)),
        _order("O-NEW", "SUBMITTED", venue_order_id=None, side="SELL", price=Decimal("160100")),
        _order("O-STOP", "ACCEPTED", type="STOP_MARKET", price=None, trigger_price=Decimal("160500")),
        _order("O-GTD", "ACCEPTED", time_in_force="GTD"),
        _order("O-GONE", "ACCEPTED", instrument_id="ESZ6.CME"),
        _order("O-SHORT", "PARTIALLY_FILLED", filled_qty=Decimal(3)),  # its fills did not all get stored
        _order("O-DONE", "FILLED", filled_qty=Decimal(5)),
    ]
    fills = [
        _fill("O-PART", "B3-1-1", 1, "159900"),
        _fill("O-PART", "B3-1-2", 1, "159900"),
        _fill("O-SHORT", "B3-1-3", 1, "159900"),
    ]
    asyncio.run(_insert(postgres_dsn, orders, fills))
    clock = LiveClock()
    cache = Cache()
    instrument = futures_contract(WIN)
    cache.add_instrument(instrument)
    node = _Node(_Kernel(cache, TraderId("TRADER-001"), clock))

    result = restore_working_orders(node, {WIN: instrument}, postgres_dsn, RUN)

    assert sorted(result.restored) == ["O-NEW", "O-PART", "O-STOP"]
    assert set(result.skipped) == {"O-GTD", "O-GONE", "O-SHORT"}
    assert "GTD" in result.skipped["O-GTD"] and "ESZ6.CME" in result.skipped["O-GONE"]
    part = cache.order(ClientOrderId("O-PART"))
    assert part.status == OrderStatus.PARTIALLY_FILLED
    assert part.filled_qty.as_decimal() == 2 and part.leaves_qty.as_decimal() == 3
    assert [t.value for t in part.trade_ids] == ["B3-1-1", "B3-1-2"]
    assert part.venue_order_id == VenueOrderId("B3-7")
    assert part.time_in_force == TimeInForce.GTC and part.price.as_decimal() == Decimal("159900")
    assert str(part.strategy_id) == "Ladder-000"
    new = cache.order(ClientOrderId("O-NEW"))
    assert new.status == OrderStatus.SUBMITTED  # never acknowledged: reconciliation asks the venue
    assert ClientOrderId("O-NEW") in {o.client_order_id for o in cache.orders_inflight()}
    stop = cache.order(ClientOrderId("O-STOP"))
    assert stop.order_type == OrderType.STOP_MARKET and stop.trigger_price.as_decimal() == Decimal("160500")
    # The client finds an accepted order by its venue order id (a report naming only OrderID 37).
    assert cache.client_order_id(VenueOrderId("B3-7")) is not None
    assert {o.client_order_id.value for o in cache.orders_open()} == {"O-PART", "O-STOP"}
