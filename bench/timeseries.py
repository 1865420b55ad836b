"""Market-data time series: COPY ingest throughput and the daily-rollup query speed-up.

1. Ingest N (default 1,000,000) seeded 1-minute bars with ``ingest_bars`` (COPY into daily partitions,
   partitions created on demand; rollup refresh timed separately). Baseline in the same run: the same
   table filled row by row with ``executemany`` INSERTs on a 50k-row slice. Target: >= 200k rows/s.
2. Query one year of those bars at daily resolution through the query optimizer, with the rollups
   (reads ``md_bars_1d``) and without (aggregates the raw 1-minute bars). Both answers must be equal.
   Target: the rollup query >= 20x faster than the raw scan (medians of repeated runs).

    python -m bench timeseries
    BENCH_ROWS=200000 python -m bench timeseries
    BENCH_PG=postgresql://postgres@127.0.0.1:5432/test python -m bench timeseries   # admin database
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np

from macrofund.storage.query_optimizer import query_bars
from macrofund.storage.timeseries import (
    BarArrays,
    InstrumentInfo,
    Resolution,
    ingest_bars,
    prepare_timeseries,
    refresh_rollups,
)

START = datetime(2023, 1, 2, tzinfo=UTC)
MINUTE_NS = 60_000_000_000
INFO = InstrumentInfo("ESH5.CME", price_precision=2, size_precision=0)


def make_bars(n: int, seed: int = 11) -> BarArrays:
    """Seeded random walk on the 0.25 tick, prices in 1e-9 units, one bar every minute."""
    rng = np.random.default_rng(seed)
    tick = 250_000_000
    close = 4_000_000_000_000 + np.cumsum(rng.integers(-4, 5, n)) * tick
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 3, n) * tick
    low = np.minimum(open_, close) - rng.integers(0, 3, n) * tick
    start_ns = int((START - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(seconds=1)) * 1_000_000_000
    ts = start_ns + np.arange(n, dtype=np.int64) * MINUTE_NS
    return BarArrays(ts, open_, high, low, close, rng.integers(1, 500, n) * 1_000_000_000)


def _dsn(admin: str, name: str) -> str:
    base, _, query = admin.partition("?")
    return base.rpartition("/")[0] + f"/{name}" + (f"?{query}" if query else "")


async def _baseline_inserts(conn: asyncpg.Connection, bars: BarArrays, rows: int) -> float:
    """Row-by-row INSERT rate (rows/s) into an identical, unpartitioned table."""
    await conn.execute("create table bench_bars_insert (like md_bars_1m including all)")
    ts = [START + timedelta(minutes=i) for i in range(rows)]
    records = list(
        zip(
            [INFO.instrument_id] * rows,
            ts,
            *(getattr(bars, c)[:rows].tolist() for c in ("open", "high", "low", "close", "volume")),
            strict=True,
        )
    )
    started = time.perf_counter()
    await conn.executemany("insert into bench_bars_insert values ($1, $2, $3, $4, $5, $6, $7)", records)
    return rows / (time.perf_counter() - started)


async def _median_ms(runs: int, call) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


async def run(admin: str, n: int) -> list[dict]:
    name = f"mf_bench_ts_{uuid.uuid4().hex[:8]}"
    admin_conn = await asyncpg.connect(admin)
    await admin_conn.execute(f'create database "{name}"')
    try:
        conn = await asyncpg.connect(_dsn(admin, name))
        try:
            return await _measure(conn, n)
        finally:
            await conn.close()
    finally:
        await admin_conn.execute(f'drop database if exists "{name}" with (force)')
        await admin_conn.close()


async def _measure(conn: asyncpg.Connection, n: int) -> list[dict]:
    await prepare_timeseries(conn)
    bars = make_bars(n)
    started = time.perf_counter()
    result = await ingest_bars(conn, INFO, bars, refresh=False)
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    buckets = await refresh_rollups(conn, INFO.instrument_id)
    refresh_s = time.perf_counter() - started
    baseline = await _baseline_inserts(conn, bars, min(50_000, n))
    rate = result.rows / ingest_s
    copy_rate = result.rows / result.copy_seconds
    print(
        f"ingest: {result.rows:,} bars in {ingest_s:.2f} s = {rate:,.0f} rows/s end to end "
        f"({result.partitions_created} daily partitions created); the COPY alone {result.copy_seconds:.2f} s "
        f"= {copy_rate:,.0f} rows/s; row-by-row INSERT baseline "
        f"{baseline:,.0f} rows/s; COPY/INSERT = {rate / baseline:.1f}x; rollup refresh of {buckets:,} "
        f"buckets {refresh_s:.2f} s"
    )
    span = min(timedelta(days=365), timedelta(minutes=n))
    lo, hi = START, START + span
    await conn.execute("analyze")

    async def fast():
        return await query_bars(conn, INFO.instrument_id, lo, hi, Resolution.D1)

    async def slow():
        return await query_bars(conn, INFO.instrument_id, lo, hi, Resolution.D1, use_rollups=False)

    await fast(), await slow()  # warm caches on both paths alike
    rollup_ms, (plan_fast, bars_fast) = await _median_ms(9, fast)
    raw_ms, (plan_slow, bars_slow) = await _median_ms(5, slow)
    identical = bars_fast == bars_slow
    ratio = raw_ms / rollup_ms
    print(
        f"daily query over {span.days} days ({len(bars_fast)} bars): rollup {rollup_ms:.1f} ms "
        f"({', '.join(plan_fast.sources)}) vs raw scan {raw_ms:.1f} ms ({', '.join(plan_slow.sources)}); "
        f"ratio {ratio:.1f}x; identical answers: {identical}"
    )
    return [
        {
            "name": "timeseries_ingest",
            "rows": result.rows,
            "seconds": round(ingest_s, 3),
            "rows_per_s": round(rate),
            "copy_only_rows_per_s": round(copy_rate),
            "partitions_created": result.partitions_created,
            "baseline_insert_rows_per_s": round(baseline),
            "ratio_vs_baseline": round(rate / baseline, 2),
            "rollup_refresh_seconds": round(refresh_s, 3),
            "target": ">= 200000 rows/s end to end (partition creation included)",
            "met": rate >= 200_000,
        },
        {
            "name": "timeseries_daily_query",
            "days": span.days,
            "rollup_ms": round(rollup_ms, 2),
            "raw_scan_ms": round(raw_ms, 2),
            "ratio": round(ratio, 1),
            "identical": identical,
            "target": "rollup >= 20x faster than raw scan",
            "met": identical and ratio >= 20,
        },
    ]


def main() -> int:
    admin = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
    n = int(os.environ.get("BENCH_ROWS", "1000000"))
    results = asyncio.run(run(admin, n))
    for line in results:
        print(json.dumps(line))
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
