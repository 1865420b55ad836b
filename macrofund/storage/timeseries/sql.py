"""SQL shared by the rollup refresh and the query optimizer, so both aggregate bars the same way.

OHLCV semantics: open = first by time, high = max, low = min, close = last by time, volume = sum.
Inputs are rows ``(ts_open, open, high, low, close, volume, n)`` where ``n`` is how many 1-minute bars
a row already stands for (1 for raw bars, ``bar_count`` for rollup rows).
"""

from __future__ import annotations

from macrofund.storage.timeseries.buckets import Resolution

OHLCV_AGGREGATES = (
    "(array_agg(open order by ts_open))[1] as open, max(high) as high, min(low) as low, "
    "(array_agg(close order by ts_open desc))[1] as close, sum(volume) as volume, "
    "sum(n)::integer as bar_count"
)

ROLLUP_TABLES = {Resolution.M5: "md_bars_5m", Resolution.H1: "md_bars_1h", Resolution.D1: "md_bars_1d"}
RAW_TABLE = "md_bars_1m"


def bucket_expr(resolution: Resolution, bounds_param: str) -> str:
    """The bucket start of ``ts_open``. Fixed steps use ``date_bin`` on the UTC grid from 2000-01-01;
    trading days look the start up in ``bounds_param`` (sorted boundaries computed in Python)."""
    if resolution is Resolution.M1:
        return "ts_open"
    if resolution.step is not None:
        seconds = int(resolution.step.total_seconds())
        return f"date_bin(interval '{seconds} seconds', ts_open, timestamptz '2000-01-01 00:00:00+00')"
    return f"({bounds_param}::timestamptz[])[width_bucket(ts_open, {bounds_param}::timestamptz[])]"


def source_select(table: str, instrument_param: str, from_param: str, to_param: str) -> str:
    """Rows of one source (raw or a rollup) for an instrument and a [from, to) range, uniform columns."""
    n = "1" if table == RAW_TABLE else "bar_count"
    return (
        f"select ts_open, open, high, low, close, volume::numeric as volume, {n} as n from {table} "
        f"where instrument_id = {instrument_param} and ts_open >= {from_param} and ts_open < {to_param}"
    )
