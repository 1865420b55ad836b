"""Market-data time series on a real PostgreSQL: migrations, COPY ingest, rollups, the query optimizer."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nautilus_trader.model.data import BarType

from macrofund.adapters.files import read_bars
from macrofund.storage.migrations import upgrade
from macrofund.storage.query_optimizer import query_bars
from macrofund.storage.timeseries import (
    BarArrays,
    InstrumentInfo,
    Resolution,
    TimeseriesError,
    bars_from_columns,
    ingest_bars,
    prepare_timeseries,
    refresh_rollups,
)
from macrofund.storage.timeseries.buckets import TradingDayCalendar, calendar_for_venue
from macrofund.storage.timeseries.partitions import existing_partitions
from macrofund.venues.contracts import futures_contract

SAMPLE = (
    Path(__file__).parents[2] / "macrofund" / "sample_data" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
)
MINUTE_NS = 60_000_000_000


def run(dsn: str, body: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await body(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def ns(ts: datetime) -> int:
    return int((ts - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)) * 1_000


def synthetic_bars(start: datetime, minutes: int, seed: int = 7, gap_every: int = 0) -> BarArrays:
    """A random walk of 1-minute bars (prices in 1e-9 units on a 0.00005 grid), optionally with gaps."""
    rng = np.random.default_rng(seed)
    ts = ns(start) + np.arange(minutes, dtype=np.int64) * MINUTE_NS
    if gap_every:
        ts = ts[np.arange(minutes) % gap_every != 0]
    n = len(ts)
    tick = 50_000
    close = 1_100_000_000 + np.cumsum(rng.integers(-3, 4, n)) * tick
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 3, n) * tick
    low = np.minimum(open_, close) - rng.integers(0, 3, n) * tick
    volume = rng.integers(0, 500, n) * 1_000_000_000
    return BarArrays(ts, open_, high, low, close, volume)


def oracle(bars: BarArrays, resolution: Resolution, calendar: TradingDayCalendar, lo: datetime, hi: datetime):
    """Aggregate raw bars in Python: the independent answer rollups and queries must equal."""
    groups: dict[datetime, list[int]] = defaultdict(list)
    for i, t in enumerate(bars.ts_open_ns.tolist()):
        ts = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=t // 1000)
        if not lo <= ts < hi:
            continue
        if resolution is Resolution.D1:
            key = calendar.start_of(calendar.trading_date(ts))
        else:
            step = resolution.step
            assert step is not None
            origin = datetime(2000, 1, 1, tzinfo=UTC)
            key = origin + ((ts - origin) // step) * step
        groups[key].append(i)
    out = []
    for key in sorted(groups):
        idx = groups[key]
        e9 = Decimal("1e-9")
        out.append(
            (
                key,
                Decimal(int(bars.open[idx[0]])) * e9,
                Decimal(int(max(bars.high[idx]))) * e9,
                Decimal(int(min(bars.low[idx]))) * e9,
                Decimal(int(bars.close[idx[-1]])) * e9,
                Decimal(int(sum(bars.volume[idx]))) * e9,
                len(idx),
            )
        )
    return out


def as_tuples(bars) -> list[tuple]:
    return [(b.ts_open, b.open, b.high, b.low, b.close, b.volume, b.bar_count) for b in bars]


def test_migrations_apply_from_empty_and_rerun_as_a_no_op(postgres_dsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        first = await upgrade(conn)
        assert 50 in first
        assert await upgrade(conn) == []
        assert await prepare_timeseries(conn) == "partitioned"  # no timescaledb on this server
        tables = {r["tablename"] for r in await conn.fetch("select tablename from pg_tables")}
        assert {"md_bars_1m", "md_quotes", "md_bars_5m", "md_bars_1h", "md_bars_1d"} <= tables

    run(postgres_dsn, body)


def test_sample_file_ingests_by_copy_into_daily_partitions_and_reingest_replaces(postgres_dsn: str) -> None:
    instrument = futures_contract("6EH4.CME")
    columns = read_bars(SAMPLE, instrument, BarType.from_str("6EH4.CME-1-MINUTE-LAST-EXTERNAL"))
    info, bars = bars_from_columns(columns)

    async def body(conn: asyncpg.Connection) -> None:
        await prepare_timeseries(conn)
        result = await ingest_bars(conn, info, bars)
        assert result.rows == len(columns) > 20_000
        assert result.partitions_created == len(await existing_partitions(conn, "md_bars_1m"))
        again = await ingest_bars(conn, info, bars)
        assert again.replaced == len(columns) and again.partitions_created == 0
        assert await conn.fetchval("select count(*) from md_bars_1m") == len(columns)
        # The first stored bar is the file's first row, opened one minute before its close stamp.
        row = await conn.fetchrow("select * from md_bars_1m order by ts_open limit 1")
        first_close_ns = int(columns.ts[0])
        assert ns(row["ts_open"]) == first_close_ns - MINUTE_NS
        first_bar = columns.build(0, 1)[0]
        assert Decimal(row["open"]).scaleb(-9) == first_bar.open.as_decimal()
        assert Decimal(row["volume"]).scaleb(-9) == first_bar.volume.as_decimal()
        assert await conn.fetchval("select count(*) from md_rollup_pending") == 0

    run(postgres_dsn, body)


@pytest.mark.parametrize(
    ("instrument_id", "start"),
    [
        ("6EM4.CME", datetime(2024, 3, 7, 12, tzinfo=UTC)),  # Chicago springs forward 2024-03-10
        ("6EZ4.CME", datetime(2024, 10, 31, 12, tzinfo=UTC)),  # Chicago falls back 2024-11-03
        ("WINZ18.B3", datetime(2018, 11, 1, 12, tzinfo=UTC)),  # Sao Paulo skips midnight 2018-11-04
        ("WING19.B3", datetime(2019, 2, 14, 12, tzinfo=UTC)),  # Sao Paulo repeats 23:00 2019-02-16
    ],
)
def test_rollups_equal_aggregating_raw_rows_across_partitions_and_dst(
    postgres_dsn: str, instrument_id: str, start: datetime
) -> None:
    bars = synthetic_bars(start, minutes=6 * 24 * 60, gap_every=17)
    info = InstrumentInfo(instrument_id, price_precision=5, size_precision=0)
    calendar = calendar_for_venue(info.venue)
    lo, hi = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

    async def body(conn: asyncpg.Connection) -> None:
        await prepare_timeseries(conn)
        # Two ingests whose halves meet mid-day: rollup buckets straddle both and the partition boundary.
        half = len(bars) // 2 + 101
        for part in (slice(0, half), slice(half, None)):
            chunk = BarArrays(*(getattr(bars, f)[part] for f in BarArrays.__dataclass_fields__))
            await ingest_bars(conn, info, chunk)
        for resolution, table in (
            (Resolution.M5, "md_bars_5m"),
            (Resolution.H1, "md_bars_1h"),
            (Resolution.D1, "md_bars_1d"),
        ):
            rows = await conn.fetch(
                f"select ts_open, open, high, low, close, volume, bar_count from {table} order by ts_open"
            )
            stored = [
                (
                    r["ts_open"],
                    *(Decimal(r[c]).scaleb(-9) for c in ("open", "high", "low", "close", "volume")),
                    r["bar_count"],
                )
                for r in rows
            ]
            assert stored == oracle(bars, resolution, calendar, lo, hi), table

    run(postgres_dsn, body)


def test_optimizer_reads_the_daily_rollup_and_matches_the_raw_scan(postgres_dsn: str) -> None:
    bars = synthetic_bars(datetime(2024, 3, 4, tzinfo=UTC), minutes=14 * 24 * 60)
    info = InstrumentInfo("6EM4.CME", price_precision=5, size_precision=0)
    start, end = datetime(2024, 3, 5, 23, tzinfo=UTC), datetime(2024, 3, 14, 22, tzinfo=UTC)  # CME days

    async def body(conn: asyncpg.Connection) -> None:
        await prepare_timeseries(conn)
        await ingest_bars(conn, info, bars)
        plan, fast = await query_bars(conn, info.instrument_id, start, end, Resolution.D1)
        assert plan.sources == ["md_bars_1d"]
        raw_plan, slow = await query_bars(
            conn, info.instrument_id, start, end, Resolution.D1, use_rollups=False
        )
        assert raw_plan.sources == ["md_bars_1m"]
        assert (
            as_tuples(fast)
            == as_tuples(slow)
            == oracle(bars, Resolution.D1, calendar_for_venue("CME"), start, end)
        )
        assert len(fast) == 9

    run(postgres_dsn, body)


def test_pending_rollups_are_read_raw_until_refreshed(postgres_dsn: str) -> None:
    bars = synthetic_bars(datetime(2024, 1, 1, tzinfo=UTC), minutes=5 * 24 * 60, seed=3)
    info = InstrumentInfo("ESH4.CME", price_precision=2, size_precision=0)
    fix = synthetic_bars(datetime(2024, 1, 3, 12, tzinfo=UTC), minutes=30, seed=99)
    start, end = datetime(2024, 1, 1, 23, tzinfo=UTC), datetime(2024, 1, 4, 23, tzinfo=UTC)

    async def body(conn: asyncpg.Connection) -> None:
        await prepare_timeseries(conn)
        await ingest_bars(conn, info, bars)
        await ingest_bars(conn, info, fix, refresh=False)  # a correction whose rollups are not yet current
        plan, before = await query_bars(conn, info.instrument_id, start, end, Resolution.D1)
        assert "md_bars_1m" in plan.sources and "md_bars_1d" in plan.sources
        _, raw = await query_bars(conn, info.instrument_id, start, end, Resolution.D1, use_rollups=False)
        assert as_tuples(before) == as_tuples(raw)
        assert await refresh_rollups(conn) > 0
        plan, after = await query_bars(conn, info.instrument_id, start, end, Resolution.D1)
        assert plan.sources == ["md_bars_1d"]
        assert as_tuples(after) == as_tuples(raw)

    run(postgres_dsn, body)


def test_bad_queries_and_ingests_are_one_line_errors(postgres_dsn: str) -> None:
    info = InstrumentInfo("ESH4.CME", price_precision=2, size_precision=0)

    async def body(conn: asyncpg.Connection) -> None:
        await prepare_timeseries(conn)
        with pytest.raises(TimeseriesError, match=r"ESH4\.CME has no stored market data"):
            await query_bars(conn, "ESH4.CME", datetime(2024, 1, 1), datetime(2024, 1, 2), Resolution.D1)
        bars = synthetic_bars(datetime(2024, 1, 1, tzinfo=UTC), minutes=10)
        shuffled = BarArrays(
            bars.ts_open_ns[::-1].copy(), bars.open, bars.high, bars.low, bars.close, bars.volume
        )
        with pytest.raises(TimeseriesError, match="row 1 is earlier than the row before it"):
            await ingest_bars(conn, info, shuffled)
        assert await conn.fetchval("select count(*) from md_instruments") == 0

    run(postgres_dsn, body)


@pytest.fixture(scope="module")
def loaded_dsn(postgres_server: str):
    import uuid

    from tests.fixtures.servers import with_database

    name = f"mf_test_ts_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    dsn = with_database(postgres_server, name)
    bars = synthetic_bars(datetime(2024, 3, 1, tzinfo=UTC), minutes=20 * 24 * 60, gap_every=11)

    async def load(conn: asyncpg.Connection) -> None:
        await prepare_timeseries(conn)
        await ingest_bars(conn, InstrumentInfo("6EM4.CME", 5, 0), bars)

    run(dsn, load)
    try:
        yield dsn
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start_min=st.integers(0, 20 * 24 * 60),
    length_min=st.integers(1, 12 * 24 * 60),
    resolution=st.sampled_from(list(Resolution)),
)
def test_rollup_and_raw_paths_agree_on_random_ranges(
    loaded_dsn: str, start_min: int, length_min: int, resolution
) -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(minutes=start_min, seconds=start_min % 7)
    end = start + timedelta(minutes=length_min)

    async def body(conn: asyncpg.Connection) -> None:
        _, fast = await query_bars(conn, "6EM4.CME", start, end, resolution)
        _, slow = await query_bars(conn, "6EM4.CME", start, end, resolution, use_rollups=False)
        assert as_tuples(fast) == as_tuples(slow)

    run(loaded_dsn, body)
