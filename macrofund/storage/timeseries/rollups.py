"""Incremental refresh of the 5m, 1h and 1d rollup tables (the plain-PostgreSQL continuous aggregates).

Ingest records the span it wrote in ``md_rollup_pending`` inside its own transaction. A refresh takes
the instrument's pending spans, widens each to whole buckets of every rollup, recomputes exactly those
buckets from the raw 1-minute bars and drops the pending rows, all in one transaction under a
per-instrument advisory lock. Until then the query optimizer reads those spans from the raw table.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from macrofund.storage.timeseries.buckets import Resolution, TradingDayCalendar, boundaries, calendar_named
from macrofund.storage.timeseries.buckets import ceil as bucket_ceil
from macrofund.storage.timeseries.buckets import floor as bucket_floor
from macrofund.storage.timeseries.sql import (
    OHLCV_AGGREGATES,
    RAW_TABLE,
    ROLLUP_TABLES,
    bucket_expr,
    source_select,
)

Span = tuple[datetime, datetime]


def merge_spans(spans: list[Span]) -> list[Span]:
    """Overlapping or touching [from, to) spans merged, sorted."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


async def instrument_calendar(conn: asyncpg.Connection, instrument_id: str) -> TradingDayCalendar | None:
    """The trading-day calendar stored for an instrument (``None`` if it was never ingested)."""
    name = await conn.fetchval("select calendar from md_instruments where instrument_id = $1", instrument_id)
    return None if name is None else calendar_named(name)


async def refresh_rollups(conn: asyncpg.Connection, instrument_id: str | None = None) -> int:
    """Refresh the rollups of every pending span (of one instrument, or all); returns buckets written."""
    if instrument_id is None:
        rows = await conn.fetch("select distinct instrument_id from md_rollup_pending")
        ids = [r["instrument_id"] for r in rows]
    else:
        ids = [instrument_id]
    written = 0
    for iid in ids:
        written += await _refresh_instrument(conn, iid)
    return written


async def _refresh_instrument(conn: asyncpg.Connection, instrument_id: str) -> int:
    written = 0
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext('macrofund-rollup:' || $1))", instrument_id)
        rows = await conn.fetch(
            "select id, ts_from, ts_to from md_rollup_pending where instrument_id = $1", instrument_id
        )
        if not rows:
            return 0
        calendar = await instrument_calendar(conn, instrument_id)
        if calendar is None:  # pragma: no cover - ingest registers the instrument in the same transaction
            raise RuntimeError(f"pending rollups for unregistered instrument {instrument_id}")
        spans = merge_spans([(r["ts_from"], r["ts_to"]) for r in rows])
        for resolution, table in ROLLUP_TABLES.items():
            widened = merge_spans(
                [
                    (bucket_floor(resolution, calendar, a), bucket_ceil(resolution, calendar, b))
                    for a, b in spans
                ]
            )
            for start, end in widened:
                written += await _rebuild(conn, table, resolution, calendar, instrument_id, start, end)
        done = [r["id"] for r in rows]
        await conn.execute("delete from md_rollup_pending where id = any($1::bigint[])", done)
    return written


async def _rebuild(
    conn: asyncpg.Connection,
    table: str,
    resolution: Resolution,
    calendar: TradingDayCalendar,
    instrument_id: str,
    start: datetime,
    end: datetime,
) -> int:
    await conn.execute(
        f"delete from {table} where instrument_id = $1 and ts_open >= $2 and ts_open < $3",
        instrument_id,
        start,
        end,
    )
    args: list[object] = [instrument_id, start, end]
    if resolution is Resolution.D1:
        args.append(boundaries(resolution, calendar, start, end))
    status = await conn.execute(
        f"insert into {table} (instrument_id, ts_open, open, high, low, close, volume, bar_count) "
        f"select $1, {bucket_expr(resolution, '$4')} as bucket, {OHLCV_AGGREGATES} "
        f"from ({source_select(RAW_TABLE, '$1', '$2', '$3')}) raw group by bucket",
        *args,
    )
    return int(status.split()[-1])
