from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from macrofund.venues.contracts import spec_for
from macrofund.venues.sessions import (
    B3_FX_SESSION,
    B3_INDEX_SESSION,
    CME_GLOBEX_SESSION,
    SessionWindow,
    TradingSession,
)

CHICAGO = ZoneInfo("America/Chicago")


def utc_ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 1_000_000_000


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ((2024, 3, 6, 16, 0), True),  # Wed 10:00 CST
        ((2024, 3, 6, 21, 59), True),  # Wed 15:59 CST
        ((2024, 3, 6, 22, 0), False),  # Wed 16:00 CST: daily halt starts (close is exclusive)
        ((2024, 3, 6, 22, 30), False),  # Wed 16:30 CST: halt
        ((2024, 3, 6, 23, 0), True),  # Wed 17:00 CST: reopens
        ((2024, 3, 8, 22, 0), False),  # Fri 16:00 CST: weekend close
        ((2024, 3, 8, 23, 30), False),  # Fri 17:30 CST: no Friday evening session
        ((2024, 3, 9, 18, 0), False),  # Saturday
        ((2024, 3, 10, 21, 59), False),  # Sun 16:59 CDT (DST began that morning)
        ((2024, 3, 10, 22, 0), True),  # Sun 17:00 CDT = 22:00 UTC in summer time
        ((2024, 3, 11, 21, 0), False),  # Mon 16:00 CDT: halt starts an hour earlier in UTC
        ((2024, 3, 4, 21, 0), True),  # Mon 15:00 CST the week before: still open
        ((2024, 11, 3, 22, 0), False),  # Sun 16:00 CST (DST ended): not yet open
        ((2024, 11, 3, 23, 0), True),  # Sun 17:00 CST
        ((2024, 12, 31, 23, 30), True),  # window crossing the year boundary (Tue 17:30 CST)
        ((2025, 1, 1, 5, 0), True),
    ],
)
def test_cme_globex_open_and_closed_at_known_instants(moment: tuple[int, ...], is_open: bool) -> None:
    assert CME_GLOBEX_SESSION.is_open(utc_ns(*moment)) is is_open


def test_cme_next_open_after_the_weekend_is_sunday_five_pm_chicago() -> None:
    saturday = utc_ns(2024, 3, 9, 12, 0)
    assert CME_GLOBEX_SESSION.next_open(saturday) == utc_ns(2024, 3, 10, 22, 0)


def test_cme_next_open_during_halt_is_five_pm() -> None:
    assert CME_GLOBEX_SESSION.next_open(utc_ns(2024, 1, 10, 22, 15)) == utc_ns(2024, 1, 10, 23, 0)


def test_next_open_of_an_open_instant_is_itself() -> None:
    ts = utc_ns(2024, 3, 6, 16, 0)
    assert CME_GLOBEX_SESSION.next_open(ts) == ts


def test_next_close_is_the_end_of_the_current_window() -> None:
    assert CME_GLOBEX_SESSION.next_close(utc_ns(2024, 3, 6, 16, 0)) == utc_ns(2024, 3, 6, 22, 0)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ((2024, 6, 3, 11, 59), False),  # Mon 08:59 BRT
        ((2024, 6, 3, 12, 0), True),  # Mon 09:00 BRT
        ((2024, 6, 3, 21, 24), True),  # Mon 18:24 BRT
        ((2024, 6, 3, 21, 25), False),  # Mon 18:25 BRT: index futures closed
        ((2024, 6, 8, 15, 0), False),  # Saturday
    ],
)
def test_b3_index_session_at_known_instants(moment: tuple[int, ...], is_open: bool) -> None:
    assert B3_INDEX_SESSION.is_open(utc_ns(*moment)) is is_open


def test_b3_fx_session_runs_to_half_past_six() -> None:
    assert B3_FX_SESSION.is_open(utc_ns(2024, 6, 3, 21, 29))
    assert not B3_FX_SESSION.is_open(utc_ns(2024, 6, 3, 21, 30))


def test_b3_next_open_after_friday_close_is_monday_nine() -> None:
    assert B3_INDEX_SESSION.next_open(utc_ns(2024, 6, 7, 22, 0)) == utc_ns(2024, 6, 10, 12, 0)


def test_specs_carry_their_venue_session() -> None:
    assert spec_for("ES").session is CME_GLOBEX_SESSION
    assert spec_for("WIN").session is B3_INDEX_SESSION
    assert spec_for("DOL").session is B3_FX_SESSION


def _globex_reference(ts_ns: int) -> bool:
    """Slow, obviously-correct rule: closed Sat, Fri from 16:00, Sun before 17:00 and 16:00-17:00 daily."""
    local = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).astimezone(CHICAGO)
    weekday, t = local.weekday(), local.time()
    if weekday == 5:
        return False
    if weekday == 4 and t >= time(16):
        return False
    if weekday == 6 and t < time(17):
        return False
    return not (time(16) <= t < time(17))


# Whole seconds, so the float in the reference implementation is exact.
_seconds = st.integers(min_value=1_262_304_000, max_value=2_208_988_800)


@given(_seconds)
def test_globex_session_agrees_with_a_slow_reference(seconds: int) -> None:
    ts = seconds * 1_000_000_000
    assert CME_GLOBEX_SESSION.is_open(ts) is _globex_reference(ts)


@given(_seconds)
def test_next_open_is_open_and_nothing_opens_earlier(seconds: int) -> None:
    ts = seconds * 1_000_000_000
    nxt = CME_GLOBEX_SESSION.next_open(ts)
    assert nxt >= ts
    assert CME_GLOBEX_SESSION.is_open(nxt)
    if nxt > ts:
        assert not CME_GLOBEX_SESSION.is_open(nxt - 1)
        assert not CME_GLOBEX_SESSION.is_open(ts + (nxt - ts) // 2)


def test_contiguous_windows_merge() -> None:
    session = TradingSession(
        name="round the clock weekdays",
        timezone="UTC",
        windows=tuple(SessionWindow(d, time(0), d + 1, time(0)) for d in range(5)),
    )
    monday = utc_ns(2024, 6, 3, 0, 0)
    assert session.next_close(monday) == utc_ns(2024, 6, 8, 0, 0)


def test_a_window_of_a_week_or_more_is_rejected() -> None:
    with pytest.raises(ValueError, match="shorter than a week"):
        TradingSession(name="bad", timezone="UTC", windows=(SessionWindow(0, time(9), 0, time(9)),))
