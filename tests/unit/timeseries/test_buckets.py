"""Bucket boundaries: trading days in the venue's calendar across DST, and the UTC grid."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from macrofund.storage.timeseries import TimeseriesError
from macrofund.storage.timeseries.buckets import (
    B3_CALENDAR,
    CME_CALENDAR,
    UTC_CALENDAR,
    Resolution,
    boundaries,
    calendar_for_venue,
    ceil,
    floor,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_cme_trading_day_starts_at_17_chicago_on_both_sides_of_dst() -> None:
    # 2024-03-10: Chicago springs forward. The trading day 2024-03-08 (Fri) starts Thu 17:00 CST = 23:00Z;
    # trading day 2024-03-11 (Mon) starts Sun 2024-03-10 17:00 CDT = 22:00Z.
    assert CME_CALENDAR.start_of(date(2024, 3, 8)) == utc(2024, 3, 7, 23)
    assert CME_CALENDAR.start_of(date(2024, 3, 11)) == utc(2024, 3, 10, 22)
    assert CME_CALENDAR.trading_date(utc(2024, 3, 10, 22, 30)) == date(2024, 3, 11)
    assert CME_CALENDAR.trading_date(utc(2024, 3, 10, 21, 59)) == date(2024, 3, 10)


def test_b3_day_that_skips_midnight_starts_at_its_first_real_instant() -> None:
    # 2018-11-04: Sao Paulo went from 00:00 -03 straight to 01:00 -02 (= 03:00Z).
    assert B3_CALENDAR.start_of(date(2018, 11, 4)) == utc(2018, 11, 4, 3)
    assert B3_CALENDAR.start_of(date(2018, 11, 5)) == utc(2018, 11, 5, 2)
    # 2019-02-17: back to -03; the 16th lasts 25 hours.
    assert B3_CALENDAR.start_of(date(2019, 2, 17)) - B3_CALENDAR.start_of(date(2019, 2, 16)) == timedelta(
        hours=25
    )


def test_venue_codes_map_to_calendars_and_unknown_venues_use_utc() -> None:
    assert calendar_for_venue("CME") is CME_CALENDAR
    assert calendar_for_venue("B3") is B3_CALENDAR
    assert calendar_for_venue("SIM") is UTC_CALENDAR


def test_unknown_resolution_is_a_one_line_error() -> None:
    with pytest.raises(TimeseriesError, match="'2m' is not one of 1m, 5m, 1h, 1d"):
        Resolution.parse("2m")


@given(
    ts=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    resolution=st.sampled_from(list(Resolution)),
    calendar=st.sampled_from([CME_CALENDAR, B3_CALENDAR, UTC_CALENDAR]),
)
def test_every_instant_lies_in_exactly_one_bucket(ts, resolution, calendar) -> None:
    start = floor(resolution, calendar, ts)
    end = ceil(resolution, calendar, ts + timedelta(microseconds=1))
    assert start <= ts < end
    bounds = boundaries(resolution, calendar, start, end)
    assert bounds == [start, end]
    if resolution is Resolution.D1:
        assert calendar.trading_date(start) == calendar.trading_date(ts)
