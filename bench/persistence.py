"""Order-event and fill persistence throughput: the persistence writer vs raw COPY of the same rows.

N market orders, each with its four bus events (initialized, submitted, accepted, filled: 4N order
events and N fills), are built beforehand as real Nautilus events with the order states the engine
handler captures. Timed: (a) the engine side queues every item at full speed into
``PersistenceWriter`` (flush interval 50 ms, the default) until the last one is committed: rows built
on the writer thread, COPY into staging, merged with the idempotent upserts, one transaction per batch;
(b) baseline: ``copy_records_to_table`` of the already-built rows (order events, fills, one row per
order) straight into the same tables, in the same run and database.

    python -m bench persistence            # N = 25,000 orders (100k order events)
    BENCH_ORDERS=50000 python -m bench persistence
Database: $MACROFUND_DATABASE_URL, else 127.0.0.1:5432 (db test), else an embedded server; a fresh
database is created for the run and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

TARGET_EVENTS_PER_S = 20_000


def make_items(n_orders: int) -> list[tuple[Any, ...]]:
    """The queue items the bus handler would produce for ``n_orders`` filled market orders."""
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.identifiers import AccountId, ClientOrderId, TradeId, VenueOrderId
    from nautilus_trader.model.objects import Price, Quantity
    from nautilus_trader.test_kit.stubs.events import TestEventStubs
    from nautilus_trader.test_kit.stubs.execution import TestExecStubs

    from macrofund.storage.persistence import ORDER_ITEM
    from macrofund.storage.rows import capture_order_state
    from macrofund.venues.contracts import futures_contract

    instrument = futures_contract("ES.CME")
    account = AccountId("CME-001")
    items: list[tuple[Any, ...]] = []
    ts = 1_700_000_000_000_000_000
    for n in range(n_orders):
        ts += 60_000_000_000
        order = TestExecStubs.market_order(
            instrument=instrument,
            order_side=OrderSide.BUY if n % 2 else OrderSide.SELL,
            quantity=Quantity.from_int(1 + n % 3),
            client_order_id=ClientOrderId(f"O-{n:08d}"),
        )
        items.append((ORDER_ITEM, order.init_event, None, 1))
        for seq, event in enumerate(
            (
                TestEventStubs.order_submitted(order, account_id=account, ts_event=ts),
                TestEventStubs.order_accepted(
                    order, account_id=account, venue_order_id=VenueOrderId(f"V-{n}"), ts_event=ts
                ),
                TestEventStubs.order_filled(
                    order,
                    instrument,
                    account_id=account,
                    venue_order_id=VenueOrderId(f"V-{n}"),
                    trade_id=TradeId(f"CME-T-{n:08d}"),
                    last_px=Price.from_str(f"{4000 + (n % 40) * 0.25:.2f}"),
                    ts_event=ts,
                ),
            ),
            start=2,
        ):
            order.apply(event)
            items.append((ORDER_ITEM, event, capture_order_state(order, seq, with_static=False), seq))
    return items


async def _admin_dsn() -> tuple[str, Any]:
    env = os.environ.get("MACROFUND_DATABASE_URL")
    if env:
        return env, None
    local = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        conn = await asyncpg.connect(local, timeout=3)
        await conn.close()
        return local, None
    except (OSError, TimeoutError, asyncpg.PostgresError):
        from macrofund.storage.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="macrofund-bench-pg-")))
        return server.start(), server


def _with_db(dsn: str, name: str) -> str:
    base, _, query = dsn.partition("?")
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


def measure_writer(dsn: str, items: list[tuple[Any, ...]]) -> dict[str, Any]:
    from macrofund.storage.persistence import build_batch
    from macrofund.storage.repositories.runs import start_run
    from macrofund.storage.writer import PersistenceWriter

    async def on_connect(conn: asyncpg.Connection) -> None:
        await start_run(conn, "bench-writer", "backtest", "BENCH-001", None)

    writer = PersistenceWriter(
        dsn,
        lambda batch, breathe: build_batch("bench-writer", batch, breathe),
        flush_interval_s=0.05,
        queue_size=max(200_000, len(items) + 1),
        on_connect=on_connect,
    )
    writer.start()
    try:
        t0 = time.perf_counter()
        put = writer.put
        for item in items:
            put(item)
        queued = time.perf_counter() - t0
        assert writer.flush(600), "writer did not finish"
        elapsed = time.perf_counter() - t0
    finally:
        writer.close()
    stats = writer.stats
    return {
        "seconds": elapsed,
        "queue_seconds": queued,
        "rows": stats.rows_written,
        "batches": stats.batches,
        "max_queue_depth": stats.max_queue_depth,
    }


async def measure_copy(dsn: str, items: list[tuple[Any, ...]]) -> dict[str, Any]:
    from macrofund.storage.persistence import build_batch
    from macrofund.storage.repositories.runs import start_run

    batch, _ = build_batch("bench-copy", items)  # rows built beforehand: only the COPY is timed
    conn = await asyncpg.connect(dsn)
    try:
        await start_run(conn, "bench-copy", "backtest", "BENCH-001", None)
        t0 = time.perf_counter()
        async with conn.transaction():
            for table in ("order_events", "orders", "fills"):
                rows = batch.rows[table]
                from macrofund.storage.repositories.writes import TABLES

                columns = next(t.columns for t in TABLES if t.name == table)
                await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        elapsed = time.perf_counter() - t0
        stored = await conn.fetchval("select count(*) from order_events where run_id = 'bench-copy'")
    finally:
        await conn.close()
    return {"seconds": elapsed, "rows": len(batch), "stored_events": stored}


async def _count(dsn: str, run_id: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "select (select count(*) from order_events where run_id = $1) as e, "
            "(select count(*) from fills where run_id = $1) as f, "
            "(select count(*) from orders where run_id = $1 and status = 'FILLED') as o",
            run_id,
        )
        assert row is not None
        return int(row["e"]), int(row["f"]), int(row["o"])
    finally:
        await conn.close()


def main() -> int:
    from macrofund.storage.migrations import upgrade_dsn

    n_orders = int(os.environ.get("BENCH_ORDERS", "25000"))
    t0 = time.perf_counter()
    items = make_items(n_orders)
    n_events = len(items)
    print(
        f"built {n_events:,} order events ({n_orders:,} orders and fills) in {time.perf_counter() - t0:.1f} s"
    )
    admin, server = asyncio.run(_admin_dsn())
    name = f"mf_bench_{uuid.uuid4().hex[:10]}"

    async def admin_sql(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin_sql(f'create database "{name}"'))
    dsn = _with_db(admin, name)
    try:
        asyncio.run(upgrade_dsn(dsn))
        a = measure_writer(dsn, items)
        b = asyncio.run(measure_copy(dsn, items))
        events, fills, filled_orders = asyncio.run(_count(dsn, "bench-writer"))
    finally:
        asyncio.run(admin_sql(f'drop database if exists "{name}" with (force)'))
        if server is not None:
            server.stop()
    complete = events == n_events and fills == n_orders and filled_orders == n_orders
    a_rate, b_rate = n_events / a["seconds"], n_events / b["seconds"]
    print(
        f"(a) persistence writer  {a_rate:>9,.0f} order events/s  ({a['rows']:,} rows in {a['batches']} "
        f"batches, {a['seconds']:.2f} s; producer queued all in {a['queue_seconds']:.2f} s, "
        f"max queue depth {a['max_queue_depth']:,})"
    )
    print(
        f"(b) raw COPY baseline   {b_rate:>9,.0f} order events/s  ({b['rows']:,} rows, {b['seconds']:.2f} s)"
        f"  ratio (a)/(b) = {a_rate / b_rate:.2f}"
    )
    print(f"all {n_events:,} events, {n_orders:,} fills and order states stored by (a): {complete}")
    line = {
        "name": "persistence_order_events_per_s",
        "orders": n_orders,
        "order_events": n_events,
        "writer_events_per_s": round(a_rate),
        "copy_baseline_events_per_s": round(b_rate),
        "ratio_to_copy": round(a_rate / b_rate, 3),
        "flush_interval_ms": 50,
        "all_stored": complete,
        "target": f">= {TARGET_EVENTS_PER_S} order events/s",
        "met": a_rate >= TARGET_EVENTS_PER_S and complete,
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
