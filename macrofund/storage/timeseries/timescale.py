"""The TimescaleDB layout: hypertables, compression, retention and continuous aggregates, as SQL text.

Applied by ``macrofund.storage.timeseries.setup`` only when ``pg_available_extensions`` lists
timescaledb and the market-data tables are still empty (a partitioned table cannot be converted in
place). It keeps every table and column name of the plain layout, so ingest and the query optimizer
run unchanged; 1d aggregates are one continuous aggregate per trading-day calendar, joined in a view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from macrofund.storage.timeseries.buckets import CALENDARS, TradingDayCalendar

_BARS_COLUMNS = (
    'instrument_id text collate "C" not null, ts_open timestamptz not null, open bigint not null, '
    "high bigint not null, low bigint not null, close bigint not null, volume bigint not null, "
    "primary key (instrument_id, ts_open)"
)
_QUOTES_COLUMNS = (
    'instrument_id text collate "C" not null, ts_event timestamptz not null, ts_event_ns bigint not null, '
    "bid bigint not null, ask bigint not null, bid_size bigint not null, ask_size bigint not null"
)


@dataclass(frozen=True)
class TimescalePolicies:
    """Compression after ``compress_after``; raw data dropped after ``retain`` (``None`` keeps it)."""

    compress_after: timedelta = timedelta(days=7)
    retain_bars: timedelta | None = None
    retain_quotes: timedelta | None = timedelta(days=90)
    refresh_lag: timedelta = timedelta(minutes=5)


def _interval(value: timedelta) -> str:
    return f"interval '{int(value.total_seconds())} seconds'"


def _ohlcv_select(bucket: str) -> str:
    return (
        f"select instrument_id, {bucket} as ts_open, first(open, ts_open) as open, max(high) as high, "
        "min(low) as low, last(close, ts_open) as close, sum(volume)::numeric as volume, "
        "count(*)::integer as bar_count from md_bars_1m"
    )


def daily_bucket_sql(calendar: TradingDayCalendar) -> str:
    """``time_bucket`` for the calendar's trading day: local midnight shifted back by its roll."""
    offset = (
        f", \"offset\" => interval '-{int(calendar.roll.total_seconds())} seconds'" if calendar.roll else ""
    )
    return f"time_bucket(interval '1 day', ts_open, timezone => '{calendar.timezone}'{offset})"


def _aggregate(
    name: str, bucket: str, where: str, policies: TimescalePolicies, width: timedelta
) -> list[str]:
    lag = _interval(policies.refresh_lag)
    return [
        f"create materialized view {name} with "
        "(timescaledb.continuous, timescaledb.materialized_only = false) "
        f"as {_ohlcv_select(bucket)}{where} group by instrument_id, {bucket} with no data",
        f"select add_continuous_aggregate_policy('{name}', "
        f"start_offset => {_interval(width * 3 + policies.refresh_lag)}, "
        f"end_offset => {lag}, schedule_interval => {lag})",
    ]


def timescale_setup_sql(
    venues_by_calendar: dict[str, list[str]], policies: TimescalePolicies | None = None
) -> list[str]:
    """Statements, in order, that turn the (empty) plain layout into the TimescaleDB one.

    ``venues_by_calendar`` maps a calendar name (``CME``, ``B3``, ``UTC``) to the venue codes whose
    instruments use it; the UTC aggregate takes every instrument of no other calendar.
    """
    p = policies or TimescalePolicies()
    out = [
        "create extension if not exists timescaledb",
        "drop table if exists md_bars_5m, md_bars_1h, md_bars_1d cascade",
        "drop table if exists md_bars_1m cascade",
        "drop table if exists md_quotes cascade",
        f"create table md_bars_1m ({_BARS_COLUMNS})",
        "select create_hypertable('md_bars_1m', by_range('ts_open', interval '1 day'))",
        f"create table md_quotes ({_QUOTES_COLUMNS})",
        "select create_hypertable('md_quotes', by_range('ts_event', interval '1 day'))",
        "create index md_quotes_instrument_ts on md_quotes (instrument_id, ts_event)",
    ]
    for table, order in (("md_bars_1m", "ts_open"), ("md_quotes", "ts_event")):
        out.append(
            f"alter table {table} set (timescaledb.compress, "
            f"timescaledb.compress_segmentby = 'instrument_id', timescaledb.compress_orderby = '{order}')"
        )
        out.append(f"select add_compression_policy('{table}', {_interval(p.compress_after)})")
    for table, retain in (("md_bars_1m", p.retain_bars), ("md_quotes", p.retain_quotes)):
        if retain is not None:
            out.append(f"select add_retention_policy('{table}', {_interval(retain)})")
    out += _aggregate("md_bars_5m", "time_bucket(interval '5 minutes', ts_open)", "", p, timedelta(minutes=5))
    out += _aggregate("md_bars_1h", "time_bucket(interval '1 hour', ts_open)", "", p, timedelta(hours=1))
    views = []
    others: list[str] = []
    for name, calendar in sorted(CALENDARS.items()):
        if name == "UTC":
            continue
        venues = venues_by_calendar.get(name, [])
        if not venues:
            continue
        others += venues
        where = " where split_part(instrument_id, '.', -1) in (" + ", ".join(f"'{v}'" for v in venues) + ")"
        view = f"md_bars_1d_{name.lower()}"
        out += _aggregate(view, daily_bucket_sql(calendar), where, p, timedelta(days=1))
        views.append(view)
    where = (
        " where split_part(instrument_id, '.', -1) not in (" + ", ".join(f"'{v}'" for v in others) + ")"
        if others
        else ""
    )
    out += _aggregate("md_bars_1d_utc", daily_bucket_sql(CALENDARS["UTC"]), where, p, timedelta(days=1))
    views.append("md_bars_1d_utc")
    out.append("create view md_bars_1d as " + " union all ".join(f"select * from {v}" for v in views))
    out.append("update md_settings set value = 'timescale' where key = 'backend'")
    return out
