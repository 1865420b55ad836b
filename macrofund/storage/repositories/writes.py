"""Batch writes: COPY rows into per-connection staging tables, then merge them into the real tables.

One batch is one transaction, so the database always holds a prefix of the event stream: a fill is
never there without its order event, and an order's event sequence never has a hole. The merge keys
make every write idempotent (a redelivered event or fill is stored once) and order-safe (a late, older
state never overwrites a newer one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from macrofund.storage.rows import (
    ACCOUNT_BALANCE_COLUMNS,
    FILL_COLUMNS,
    ORDER_COLUMNS,
    ORDER_EVENT_COLUMNS,
    PNL_COLUMNS,
    POSITION_COLUMNS,
    POSITION_SNAPSHOT_COLUMNS,
)

_ORDER_STATIC = ("side", "type", "time_in_force", "exec_algorithm_id", "exec_spawn_id", "tags", "ts_init")
_ORDER_DYNAMIC = (
    "venue_order_id",
    "account_id",
    "quantity",
    "filled_qty",
    "price",
    "trigger_price",
    "avg_px",
    "status",
    "last_event_type",
    "last_seq",
    "ts_last",
)
_POSITION_DYNAMIC = tuple(
    c
    for c in POSITION_COLUMNS
    if c not in ("run_id", "position_id", "ts_opened", "strategy_id", "instrument_id")
)


def _order_merge() -> str:
    newer = "excluded.last_seq >= orders.last_seq"
    sets = [f"{c} = coalesce(orders.{c}, excluded.{c})" for c in _ORDER_STATIC]
    sets += [
        f"{c} = case when {newer} then coalesce(excluded.{c}, orders.{c}) else orders.{c} end"
        for c in _ORDER_DYNAMIC
    ]
    sets.append("updated_at = now()")
    return "on conflict (run_id, client_order_id) do update set " + ", ".join(sets)


def _position_merge() -> str:
    return (
        "on conflict (run_id, position_id, ts_opened) do update set "
        + ", ".join(f"{c} = excluded.{c}" for c in _POSITION_DYNAMIC)
        + ", updated_at = now()"
        + " where (excluded.ts_last, excluded.last_seq) >= (positions.ts_last, positions.last_seq)"
    )


@dataclass(frozen=True)
class Table:
    """A target table, its column order and how staged rows merge into it."""

    name: str
    columns: tuple[str, ...]
    on_conflict: str
    append_only: bool = False  # rows are only ever inserted; a duplicate key means "already stored"

    @property
    def stage(self) -> str:
        return f"stage_{self.name}"

    def merge_sql(self) -> str:
        cols = ", ".join(self.columns)
        return f"insert into {self.name} ({cols}) select {cols} from {self.stage} {self.on_conflict}"


ORDER_EVENTS = Table("order_events", ORDER_EVENT_COLUMNS, "on conflict do nothing", append_only=True)
ORDERS = Table("orders", ORDER_COLUMNS, _order_merge())
FILLS = Table("fills", FILL_COLUMNS, "on conflict do nothing", append_only=True)
POSITIONS = Table("positions", POSITION_COLUMNS, _position_merge())
POSITION_SNAPSHOTS = Table(
    "position_snapshots", POSITION_SNAPSHOT_COLUMNS, "on conflict do nothing", append_only=True
)
ACCOUNT_BALANCES = Table(
    "account_balances", ACCOUNT_BALANCE_COLUMNS, "on conflict do nothing", append_only=True
)
PNL_SNAPSHOTS = Table("pnl_snapshots", PNL_COLUMNS, "on conflict do nothing", append_only=True)

# Parents before children, so a reader never sees a fill before its order's row.
TABLES = (ORDER_EVENTS, ORDERS, FILLS, POSITIONS, POSITION_SNAPSHOTS, ACCOUNT_BALANCES, PNL_SNAPSHOTS)


@dataclass
class Batch:
    """Rows for one transaction, by table name. ``orders``/``positions`` hold one row per key."""

    rows: dict[str, list[Sequence[Any]]] = field(default_factory=lambda: {t.name: [] for t in TABLES})

    def __len__(self) -> int:
        return sum(len(r) for r in self.rows.values())


async def prepare_staging(conn: asyncpg.Connection) -> None:
    """Create this connection's staging tables (temporary, emptied at every commit)."""
    for table in TABLES:
        await conn.execute(
            f"create temp table if not exists {table.stage} on commit delete rows as "
            f"select {', '.join(table.columns)} from {table.name} with no data"
        )


async def write_batch(conn: asyncpg.Connection, batch: Batch) -> int:
    """Write one batch in one transaction; returns the number of rows handed to the database."""
    written = 0
    async with conn.transaction():
        for table in TABLES:
            rows = batch.rows.get(table.name)
            if not rows:
                continue
            if len(rows) < 8:  # COPY's round trips cost more than a tiny insert
                placeholders = ", ".join(f"${i + 1}" for i in range(len(table.columns)))
                await conn.executemany(
                    f"insert into {table.name} ({', '.join(table.columns)}) values ({placeholders}) "
                    f"{table.on_conflict}",
                    rows,
                )
            elif table.append_only:
                await _append(conn, table, rows)
            else:
                await conn.copy_records_to_table(table.stage, records=rows, columns=list(table.columns))
                await conn.execute(table.merge_sql())
            written += len(rows)
    return written


async def _append(conn: asyncpg.Connection, table: Table, rows: list[Sequence[Any]]) -> None:
    """COPY straight into an append-only table (half the work of staging + merge); if any row is
    already stored (a redelivery, a restarted run), undo that COPY and merge through staging instead."""
    try:
        async with conn.transaction():  # a savepoint inside the batch's transaction
            await conn.copy_records_to_table(table.name, records=rows, columns=list(table.columns))
    except asyncpg.UniqueViolationError:
        await conn.copy_records_to_table(table.stage, records=rows, columns=list(table.columns))
        await conn.execute(table.merge_sql())
