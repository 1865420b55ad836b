"""Answer a bar query (instrument, [start, end), resolution) from the coarsest data that can answer it.

The plan covers the range with the coarsest source first: whole 1d buckets from the 1d rollup, the
remaining whole hours from the 1h rollup, whole 5-minute buckets from the 5m rollup, and the rest (range
edges, and spans whose rollups are still pending a refresh) from the raw 1-minute bars. All pieces are
merged in one SQL statement with the same OHLCV aggregation the rollups were built with, so the answer
is identical to aggregating the raw bars (tested). Bulk ingest (COPY) is re-exported from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from macrofund.storage.timeseries.buckets import Resolution, TradingDayCalendar, boundaries
from macrofund.storage.timeseries.buckets import ceil as bucket_ceil
from macrofund.storage.timeseries.buckets import floor as bucket_floor
from macrofund.storage.timeseries.errors import TimeseriesError
from macrofund.storage.timeseries.ingest import SCALE, from_e9, ingest_bars, ingest_quotes
from macrofund.storage.timeseries.rollups import Span, instrument_calendar, merge_spans
from macrofund.storage.timeseries.sql import (
    OHLCV_AGGREGATES,
    RAW_TABLE,
    ROLLUP_TABLES,
    bucket_expr,
    source_select,
)

__all__ = [
    "OhlcvBar",
    "PlanStep",
    "QueryPlan",
    "ingest_bars",
    "ingest_quotes",
    "plan_query",
    "plan_steps",
    "query_bars",
]

_LEVELS = (Resolution.D1, Resolution.H1, Resolution.M5, Resolution.M1)


@dataclass(frozen=True)
class PlanStep:
    """Read ``source`` (a table) for ts_open in [start, end)."""

    source: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class QueryPlan:
    """Which sources answer a query; ``sources`` is what a user sees in ``md query --explain``."""

    instrument_id: str
    resolution: Resolution
    start: datetime
    end: datetime
    steps: tuple[PlanStep, ...]

    @property
    def sources(self) -> list[str]:
        return sorted({s.source for s in self.steps})


@dataclass(frozen=True)
class OhlcvBar:
    """One bar of the answer: ``ts_open`` is its bucket's start (UTC); prices exact at the instrument's
    precision; ``bar_count`` is how many 1-minute bars it aggregates."""

    ts_open: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    bar_count: int


def _level_source(level: Resolution) -> str:
    return RAW_TABLE if level is Resolution.M1 else ROLLUP_TABLES[level]


def plan_steps(
    start: datetime,
    end: datetime,
    resolution: Resolution,
    calendar: TradingDayCalendar,
    pending: list[Span],
    *,
    use_rollups: bool = True,
) -> list[PlanStep]:
    """The covering of [start, end) by sources, coarsest first; pure (no database), unit-tested."""
    levels = [lv for lv in _LEVELS if lv.rank <= resolution.rank] if use_rollups else [Resolution.M1]
    steps = _cover(start, end, levels, calendar, merge_spans(pending))
    merged: list[PlanStep] = []
    for step in steps:
        if merged and merged[-1].source == step.source and merged[-1].end == step.start:
            merged[-1] = PlanStep(step.source, merged[-1].start, step.end)
        else:
            merged.append(step)
    return merged


def _cover(
    start: datetime,
    end: datetime,
    levels: list[Resolution],
    calendar: TradingDayCalendar,
    pending: list[Span],
) -> list[PlanStep]:
    if start >= end:
        return []
    level, finer = levels[0], levels[1:]
    if level is Resolution.M1 or not finer:
        return [PlanStep(RAW_TABLE, start, end)]
    first, last = bucket_ceil(level, calendar, start), bucket_floor(level, calendar, end)
    if first >= last:
        return _cover(start, end, finer, calendar, pending)
    steps = _cover(start, first, finer, calendar, pending)
    cursor = first
    blocked = merge_spans(
        [
            (bucket_floor(level, calendar, a), bucket_ceil(level, calendar, b))
            for a, b in pending
            if a < last and b > first
        ]
    )
    for a, b in blocked:
        a, b = max(a, first), min(b, last)
        if a >= b:
            continue
        if cursor < a:
            steps.append(PlanStep(_level_source(level), cursor, a))
        steps += _cover(a, b, finer, calendar, pending)
        cursor = b
    if cursor < last:
        steps.append(PlanStep(_level_source(level), cursor, last))
    return steps + _cover(last, end, finer, calendar, pending)


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


async def plan_query(
    conn: asyncpg.Connection,
    instrument_id: str,
    start: datetime,
    end: datetime,
    resolution: Resolution,
    *,
    use_rollups: bool = True,
) -> QueryPlan:
    """Plan a query against this database's stored instrument calendar and pending rollup spans."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise TimeseriesError(f"query range: end {end.isoformat()} is not after start {start.isoformat()}")
    calendar = await instrument_calendar(conn, instrument_id)
    if calendar is None:
        raise TimeseriesError(f"instrument {instrument_id} has no stored market data (ingest it first)")
    rows = await conn.fetch(
        "select ts_from, ts_to from md_rollup_pending "
        "where instrument_id = $1 and ts_from < $3 and ts_to > $2",
        instrument_id,
        start,
        end,
    )
    pending = [(r["ts_from"], r["ts_to"]) for r in rows]
    steps = plan_steps(start, end, resolution, calendar, pending, use_rollups=use_rollups)
    return QueryPlan(instrument_id, resolution, start, end, tuple(steps))


async def execute_plan(conn: asyncpg.Connection, plan: QueryPlan) -> list[OhlcvBar]:
    """Run a plan: one statement, all pieces aggregated into the requested resolution's buckets."""
    calendar = await instrument_calendar(conn, plan.instrument_id)
    precisions = await conn.fetchrow(
        "select price_precision, size_precision from md_instruments where instrument_id = $1",
        plan.instrument_id,
    )
    assert calendar is not None and precisions is not None  # plan_query checked
    args: list[object] = [plan.instrument_id]
    parts = []
    for step in plan.steps:
        args += [step.start, step.end]
        parts.append(source_select(step.source, "$1", f"${len(args) - 1}", f"${len(args)}"))
    bounds_param = f"${len(args) + 1}"
    if plan.resolution is Resolution.D1:
        args.append(boundaries(plan.resolution, calendar, plan.start, plan.end))
    sql = (
        f"select {bucket_expr(plan.resolution, bounds_param)} as bucket, {OHLCV_AGGREGATES} "
        f"from ({' union all '.join(parts)}) parts group by bucket order by bucket"
    )
    price_precision, size_precision = precisions["price_precision"], precisions["size_precision"]
    size_quantum = Decimal(1).scaleb(-size_precision)
    return [
        OhlcvBar(
            ts_open=r["bucket"],
            open=from_e9(r["open"], price_precision),
            high=from_e9(r["high"], price_precision),
            low=from_e9(r["low"], price_precision),
            close=from_e9(r["close"], price_precision),
            volume=Decimal(r["volume"]).scaleb(-SCALE).quantize(size_quantum),
            bar_count=r["bar_count"],
        )
        for r in await conn.fetch(sql, *args)
    ]


async def query_bars(
    conn: asyncpg.Connection,
    instrument_id: str,
    start: datetime,
    end: datetime,
    resolution: Resolution,
    *,
    use_rollups: bool = True,
) -> tuple[QueryPlan, list[OhlcvBar]]:
    """Bars of ``resolution`` for bars opening in [start, end), with the plan that produced them.

    ``use_rollups=False`` forces the raw scan (the baseline the benchmark compares against).
    """
    plan = await plan_query(conn, instrument_id, start, end, resolution, use_rollups=use_rollups)
    return plan, await execute_plan(conn, plan)
