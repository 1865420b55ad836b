"""The optimizer's plan: coarsest source for whole buckets, finer sources for edges and pending spans."""

from __future__ import annotations

from datetime import UTC, datetime

from macrofund.storage.query_optimizer import PlanStep, plan_steps
from macrofund.storage.timeseries.buckets import CME_CALENDAR, UTC_CALENDAR, Resolution


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_query_over_whole_trading_days_reads_only_the_daily_rollup() -> None:
    start, end = CME_CALENDAR.start_of(utc(2024, 1, 2).date()), CME_CALENDAR.start_of(utc(2024, 2, 1).date())
    steps = plan_steps(start, end, Resolution.D1, CME_CALENDAR, [])
    assert steps == [PlanStep("md_bars_1d", start, end)]


def test_unaligned_edges_come_from_finer_rollups_and_raw_bars() -> None:
    steps = plan_steps(utc(2024, 1, 2, 10, 7), utc(2024, 1, 5, 13, 31), Resolution.D1, UTC_CALENDAR, [])
    assert steps == [
        PlanStep("md_bars_1m", utc(2024, 1, 2, 10, 7), utc(2024, 1, 2, 10, 10)),
        PlanStep("md_bars_5m", utc(2024, 1, 2, 10, 10), utc(2024, 1, 2, 11)),
        PlanStep("md_bars_1h", utc(2024, 1, 2, 11), utc(2024, 1, 3)),
        PlanStep("md_bars_1d", utc(2024, 1, 3), utc(2024, 1, 5)),
        PlanStep("md_bars_1h", utc(2024, 1, 5), utc(2024, 1, 5, 13)),
        PlanStep("md_bars_5m", utc(2024, 1, 5, 13), utc(2024, 1, 5, 13, 30)),
        PlanStep("md_bars_1m", utc(2024, 1, 5, 13, 30), utc(2024, 1, 5, 13, 31)),
    ]


def test_only_buckets_touching_a_pending_span_are_read_from_finer_sources() -> None:
    # One stale minute at 12:00 makes the Jan-3 day, its 12:00 hour and its 12:00 5-minute bucket
    # stale; every other bucket of every rollup is current.
    pending = [(utc(2024, 1, 3, 12), utc(2024, 1, 3, 12, 1))]
    steps = plan_steps(utc(2024, 1, 2), utc(2024, 1, 5), Resolution.D1, UTC_CALENDAR, pending)
    assert steps == [
        PlanStep("md_bars_1d", utc(2024, 1, 2), utc(2024, 1, 3)),
        PlanStep("md_bars_1h", utc(2024, 1, 3), utc(2024, 1, 3, 12)),
        PlanStep("md_bars_1m", utc(2024, 1, 3, 12), utc(2024, 1, 3, 12, 5)),
        PlanStep("md_bars_5m", utc(2024, 1, 3, 12, 5), utc(2024, 1, 3, 13)),
        PlanStep("md_bars_1h", utc(2024, 1, 3, 13), utc(2024, 1, 4)),
        PlanStep("md_bars_1d", utc(2024, 1, 4), utc(2024, 1, 5)),
    ]


def test_finer_requests_never_read_coarser_rollups_and_raw_mode_reads_only_raw() -> None:
    steps = plan_steps(utc(2024, 1, 2), utc(2024, 1, 5), Resolution.H1, UTC_CALENDAR, [])
    assert steps == [PlanStep("md_bars_1h", utc(2024, 1, 2), utc(2024, 1, 5))]
    raw = plan_steps(utc(2024, 1, 2), utc(2024, 1, 5), Resolution.D1, UTC_CALENDAR, [], use_rollups=False)
    assert raw == [PlanStep("md_bars_1m", utc(2024, 1, 2), utc(2024, 1, 5))]
