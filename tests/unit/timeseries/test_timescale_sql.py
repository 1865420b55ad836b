"""The TimescaleDB layout, checked as text (no TimescaleDB server here)."""

from __future__ import annotations

from datetime import timedelta

from macrofund.storage.timeseries.buckets import B3_CALENDAR, CME_CALENDAR, venues_by_calendar
from macrofund.storage.timeseries.timescale import TimescalePolicies, daily_bucket_sql, timescale_setup_sql


def test_setup_makes_hypertables_with_compression_and_retention() -> None:
    sql = timescale_setup_sql(venues_by_calendar(), TimescalePolicies(retain_bars=timedelta(days=3650)))
    text = "\n".join(sql)
    assert sql[0] == "create extension if not exists timescaledb"
    assert "select create_hypertable('md_bars_1m', by_range('ts_open', interval '1 day'))" in text
    assert "select create_hypertable('md_quotes', by_range('ts_event', interval '1 day'))" in text
    assert (
        "timescaledb.compress_segmentby = 'instrument_id', timescaledb.compress_orderby = 'ts_open'" in text
    )
    assert "select add_compression_policy('md_bars_1m', interval '604800 seconds')" in text
    assert "select add_retention_policy('md_bars_1m', interval '315360000 seconds')" in text
    assert "select add_retention_policy('md_quotes', interval '7776000 seconds')" in text
    assert sql[-1] == "update md_settings set value = 'timescale' where key = 'backend'"


def test_continuous_aggregates_use_ohlcv_semantics_and_real_time_aggregation() -> None:
    sql = timescale_setup_sql(venues_by_calendar())
    views = [s for s in sql if s.startswith("create materialized view")]
    assert [v.split()[3] for v in views] == [
        "md_bars_5m",
        "md_bars_1h",
        "md_bars_1d_b3",
        "md_bars_1d_cme",
        "md_bars_1d_utc",
    ]
    for view in views:
        assert "timescaledb.continuous, timescaledb.materialized_only = false" in view
        assert (
            "first(open, ts_open) as open, max(high) as high, min(low) as low, last(close, ts_open)" in view
        )
        assert "sum(volume)::numeric as volume" in view
    assert sum("add_continuous_aggregate_policy" in s for s in sql) == 5
    union = next(s for s in sql if s.startswith("create view md_bars_1d "))
    assert union.count("union all") == 2


def test_daily_buckets_follow_each_venue_trading_day() -> None:
    assert daily_bucket_sql(CME_CALENDAR) == (
        "time_bucket(interval '1 day', ts_open, timezone => 'America/Chicago', "
        "\"offset\" => interval '-25200 seconds')"
    )
    assert daily_bucket_sql(B3_CALENDAR) == (
        "time_bucket(interval '1 day', ts_open, timezone => 'America/Sao_Paulo')"
    )
    sql = "\n".join(timescale_setup_sql(venues_by_calendar()))
    assert "where split_part(instrument_id, '.', -1) in ('CME', 'XCME'" in sql
    assert "where split_part(instrument_id, '.', -1) not in (" in sql
