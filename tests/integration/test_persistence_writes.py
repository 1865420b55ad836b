"""The batch writes are idempotent and order-safe on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from macrofund.storage.migrations import upgrade
from macrofund.storage.repositories.runs import start_run
from macrofund.storage.repositories.writes import Batch, prepare_staging, write_batch
from macrofund.storage.rows import FILL_COLUMNS, ORDER_COLUMNS, ORDER_EVENT_COLUMNS, POSITION_COLUMNS

RUN = "writes"


def with_conn(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            await upgrade(conn)
            await prepare_staging(conn)
            await start_run(conn, RUN, "backtest", "T-001", None)
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def row(columns: tuple[str, ...], **values: Any) -> tuple[Any, ...]:
    return tuple(values.get(c) for c in columns)


def fill(trade_id: str, coid: str = "O-1", qty: str = "1") -> tuple[Any, ...]:
    return row(
        FILL_COLUMNS,
        run_id=RUN,
        venue="CME",
        trade_id=trade_id,
        client_order_id=coid,
        strategy_id="S-1",
        instrument_id="ESH4.CME",
        account_id="CME-001",
        side="BUY",
        quantity=Decimal(qty),
        price=Decimal("4000.25"),
        currency="USD",
        commission=Decimal("2.5"),
        commission_currency="USD",
        liquidity="TAKER",
        ts_event=1,
        ts_init=1,
        event_time=datetime.now(UTC),
    )


def test_a_fill_delivered_twice_is_stored_once(postgres_dsn: str) -> None:
    async def work(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        first = Batch()
        first.rows["fills"] = [fill("CME-1-001"), fill("CME-1-001")]  # twice in one batch
        await write_batch(conn, first)
        again = Batch()
        again.rows["fills"] = [fill("CME-1-001", qty="7")] + [fill(f"CME-1-{n:03d}") for n in range(2, 12)]
        await write_batch(conn, again)  # redelivered in a later batch, among new fills (COPY path)
        return [dict(r) for r in await conn.fetch("select trade_id, quantity from fills order by trade_id")]

    rows = with_conn(postgres_dsn, work)
    assert [r["trade_id"] for r in rows] == [f"CME-1-{n:03d}" for n in range(1, 12)]
    assert rows[0]["quantity"] == Decimal(1)  # the first delivery stands


def test_the_same_trade_id_on_another_venue_is_another_fill(postgres_dsn: str) -> None:
    async def work(conn: asyncpg.Connection) -> int:
        batch = Batch()
        b3 = list(fill("T-1"))
        b3[FILL_COLUMNS.index("venue")] = "B3"
        batch.rows["fills"] = [fill("T-1"), tuple(b3)]
        await write_batch(conn, batch)
        return int(await conn.fetchval("select count(*) from fills"))

    assert with_conn(postgres_dsn, work) == 2


ORDER_STATES = [
    # seq, event, status, venue id, filled, avg_px, ts
    (1, "OrderInitialized", "INITIALIZED", None, "0", None, 10),
    (2, "OrderSubmitted", "SUBMITTED", None, "0", None, 20),
    (3, "OrderAccepted", "ACCEPTED", "V-9", "0", None, 30),
    (4, "OrderPartiallyFilled", "PARTIALLY_FILLED", "V-9", "2", "99.5", 40),
    (5, "OrderFilled", "FILLED", "V-9", "5", "99.8", 50),
]


def order_state(
    coid: str, seq: int, event: str, status: str, venue: Any, filled: str, avg: Any, ts: int
) -> tuple:
    static = (
        {"side": "BUY", "type": "LIMIT", "time_in_force": "GTC", "ts_init": 10, "tags": "entry"}
        if seq == 1
        else {}
    )
    return row(
        ORDER_COLUMNS,
        run_id=RUN,
        client_order_id=coid,
        venue_order_id=venue,
        strategy_id="S-1",
        instrument_id="ESH4.CME",
        account_id="CME-001" if seq > 1 else None,
        quantity=Decimal(5),
        filled_qty=Decimal(filled),
        price=Decimal("100"),
        avg_px=Decimal(avg) if avg else None,
        status=status,
        last_event_type=event,
        last_seq=seq,
        ts_last=ts,
        **static,
    )


def event_row(coid: str, seq: int, event: str, ts: int) -> tuple:
    return row(
        ORDER_EVENT_COLUMNS,
        run_id=RUN,
        client_order_id=coid,
        seq=seq,
        event_id=str(uuid.uuid4()),
        event_type=event,
        strategy_id="S-1",
        instrument_id="ESH4.CME",
        ts_event=ts,
        ts_init=ts,
        event_time=datetime.now(UTC),
        payload="{}",
    )


def test_order_events_arriving_out_of_order_keep_the_latest_state(postgres_dsn: str) -> None:
    orders = list(itertools.permutations(ORDER_STATES[1:]))[::7]  # initialized first, then any order

    async def work(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        for n, rest in enumerate(orders):
            coid = f"O-{n}"
            for state in (ORDER_STATES[0], *rest):
                batch = Batch()
                batch.rows["orders"] = [order_state(coid, *state)]
                batch.rows["order_events"] = [event_row(coid, state[0], state[1], state[6])]
                await write_batch(conn, batch)
        # And everything at once, newest first, in one COPY-sized batch per order.
        batch = Batch()
        for n in range(10):
            coid = f"B-{n}"
            batch.rows["orders"].append(order_state(coid, *ORDER_STATES[-1]))
            batch.rows["order_events"].extend(event_row(coid, s[0], s[1], s[6]) for s in ORDER_STATES[::-1])
        await write_batch(conn, batch)
        for state in ORDER_STATES[:-1]:
            late = Batch()
            late.rows["orders"] = [order_state(f"B-{n}", *state) for n in range(10)]
            await write_batch(conn, late)
        return [dict(r) for r in await conn.fetch("select * from orders order by client_order_id")]

    rows = with_conn(postgres_dsn, work)
    assert len(rows) == len(orders) + 10
    for r in rows:
        assert (r["status"], r["last_seq"], r["last_event_type"]) == ("FILLED", 5, "OrderFilled")
        assert r["filled_qty"] == Decimal(5) and r["avg_px"] == Decimal("99.8") and r["ts_last"] == 50
        assert r["venue_order_id"] == "V-9" and r["account_id"] == "CME-001"
        assert (r["side"], r["type"], r["tags"], r["ts_init"]) == ("BUY", "LIMIT", "entry", 10)


def position(seq: int, ts: int, qty: str, realized: str, closed: bool = False) -> tuple:
    return row(
        POSITION_COLUMNS,
        run_id=RUN,
        position_id="P-1",
        ts_opened=5,
        strategy_id="S-1",
        instrument_id="ESH4.CME",
        account_id="CME-001",
        entry="BUY",
        side="FLAT" if closed else "LONG",
        signed_qty=Decimal(qty),
        quantity=Decimal(qty),
        peak_qty=Decimal(3),
        avg_px_open=Decimal("100"),
        realized_pnl=Decimal(realized),
        currency="USD",
        ts_closed=ts if closed else None,
        ts_last=ts,
        last_seq=seq,
    )


def test_a_late_position_change_never_reopens_a_closed_position(postgres_dsn: str) -> None:
    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        for state in (
            position(1, 5, "3", "0"),
            position(3, 9, "0", "12.5", closed=True),
            position(2, 7, "1", "4"),
        ):
            batch = Batch()
            batch.rows["positions"] = [state]
            await write_batch(conn, batch)
        return dict(await conn.fetchrow("select * from positions"))

    got = with_conn(postgres_dsn, work)
    assert (got["side"], got["signed_qty"], got["realized_pnl"], got["ts_closed"]) == (
        "FLAT",
        Decimal(0),
        Decimal("12.5"),
        9,
    )


def test_order_event_redelivered_is_stored_once(postgres_dsn: str) -> None:
    async def work(conn: asyncpg.Connection) -> int:
        event = event_row("O-1", 1, "OrderInitialized", 10)
        for _ in range(2):
            batch = Batch()
            batch.rows["order_events"] = [event] * 9
            await write_batch(conn, batch)
        return int(await conn.fetchval("select count(*) from order_events"))

    assert with_conn(postgres_dsn, work) == 1
