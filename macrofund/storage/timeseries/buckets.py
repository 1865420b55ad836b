"""Bucket boundaries: where 5-minute, hourly and daily bars start, in UTC nanoseconds-free datetimes.

5m and 1h buckets lie on the UTC grid. A 1d bucket is the venue's *trading day* in its own time zone:
CME Globex's trading day D runs from 17:00 America/Chicago on D-1 to 16:00 on D, so its bucket starts at
17:00 Chicago the evening before (22:00 or 23:00 UTC depending on DST); B3's trading day is the local
calendar day in America/Sao_Paulo. Boundaries are computed here, once, in Python (zoneinfo), and handed
to SQL as an array, so rollup refreshes and raw queries can never disagree about a DST change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from functools import cache
from zoneinfo import ZoneInfo

from macrofund.storage.timeseries.errors import TimeseriesError

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # the grid origin of 5m and 1h buckets (same as date_bin's)


class Resolution(Enum):
    """A bar resolution a query can ask for; ``step`` is the fixed UTC width (``None`` for trading days)."""

    M1 = "1m"
    M5 = "5m"
    H1 = "1h"
    D1 = "1d"

    @classmethod
    def parse(cls, text: str) -> Resolution:
        """``"1m" | "5m" | "1h" | "1d"``; anything else is a one-line ``TimeseriesError``."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(r.value for r in cls)
            raise TimeseriesError(f"resolution {text!r} is not one of {choices}") from None

    @property
    def step(self) -> timedelta | None:
        return {"1m": timedelta(minutes=1), "5m": timedelta(minutes=5), "1h": timedelta(hours=1)}.get(
            self.value
        )

    @property
    def rank(self) -> int:
        """Coarseness order: 1m < 5m < 1h < 1d."""
        return list(Resolution).index(self)


@dataclass(frozen=True)
class TradingDayCalendar:
    """A venue's trading day: it starts ``roll`` before local midnight in ``timezone``.

    ``roll = 7h`` in America/Chicago means the day labelled D starts at 17:00 local on D-1. The start is
    never a non-existent or repeated local time for the calendars below (DST changes at 02:00 in Chicago;
    Brazil's historical DST changed at 00:00, which ``start_of`` resolves to the first real instant).
    """

    name: str
    timezone: str
    roll: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if not timedelta(0) <= self.roll < timedelta(days=1):
            raise ValueError(f"calendar {self.name}: roll must be within [0, 24h), got {self.roll}")

    def trading_date(self, ts: datetime) -> date:
        """The trading day a bar opening at ``ts`` belongs to."""
        return (ts.astimezone(ZoneInfo(self.timezone)) + self.roll).date()

    def start_of(self, day: date) -> datetime:
        """UTC start of trading day ``day`` (the first real instant at or after its local start)."""
        return _day_start_utc(self.timezone, self.roll, day)


@cache
def _day_start_utc(timezone: str, roll: timedelta, day: date) -> datetime:
    tz = ZoneInfo(timezone)
    local = datetime.combine(day, time(0)) - roll
    # fold=0 resolves a repeated time to its first occurrence; a skipped time (spring forward at
    # midnight, Brazil until 2019) must map to the first instant that exists, i.e. the earliest UTC
    # instant whose local date-time is >= the nominal start.
    candidates = [local.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1)]
    real = [c for c in candidates if c.astimezone(tz).replace(tzinfo=None) == local]
    if real:
        return min(real)
    return max(candidates)


UTC_CALENDAR = TradingDayCalendar("UTC", "UTC")
CME_CALENDAR = TradingDayCalendar("CME", "America/Chicago", timedelta(hours=7))
B3_CALENDAR = TradingDayCalendar("B3", "America/Sao_Paulo")

_BY_VENUE = {
    "CME": CME_CALENDAR,
    "XCME": CME_CALENDAR,
    "CBOT": CME_CALENDAR,
    "NYMEX": CME_CALENDAR,
    "COMEX": CME_CALENDAR,
    "GLBX": CME_CALENDAR,
    "B3": B3_CALENDAR,
    "BVMF": B3_CALENDAR,
}
CALENDARS = {c.name: c for c in (UTC_CALENDAR, CME_CALENDAR, B3_CALENDAR)}


def calendar_for_venue(venue: str) -> TradingDayCalendar:
    """The trading-day calendar of a venue code; unknown venues use UTC days (documented)."""
    return _BY_VENUE.get(venue.upper(), UTC_CALENDAR)


def calendar_named(name: str) -> TradingDayCalendar:
    """A calendar by the name stored in ``md_instruments.calendar``."""
    try:
        return CALENDARS[name]
    except KeyError:
        raise TimeseriesError(f"unknown trading-day calendar {name!r}; known: {sorted(CALENDARS)}") from None


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def floor(resolution: Resolution, calendar: TradingDayCalendar, ts: datetime) -> datetime:
    """Start of the bucket containing ``ts``."""
    ts = _utc(ts)
    step = resolution.step
    if step is not None:
        return _EPOCH + ((ts - _EPOCH) // step) * step
    start = calendar.start_of(calendar.trading_date(ts))
    if start > ts:  # ts inside a skipped local hour's neighbourhood: belongs to the previous day
        start = calendar.start_of(calendar.trading_date(ts) - timedelta(days=1))
    return start


def ceil(resolution: Resolution, calendar: TradingDayCalendar, ts: datetime) -> datetime:
    """The first bucket boundary at or after ``ts``."""
    start = floor(resolution, calendar, ts)
    return start if start == _utc(ts) else next_boundary(resolution, calendar, start)


def next_boundary(resolution: Resolution, calendar: TradingDayCalendar, start: datetime) -> datetime:
    """The boundary after bucket start ``start``."""
    step = resolution.step
    if step is not None:
        return start + step
    return calendar.start_of(calendar.trading_date(start) + timedelta(days=1))


def boundaries(
    resolution: Resolution, calendar: TradingDayCalendar, start: datetime, end: datetime
) -> list[datetime]:
    """Every bucket boundary from ``floor(start)`` up to and including ``ceil(end)``."""
    out = [floor(resolution, calendar, start)]
    last = ceil(resolution, calendar, end)
    while out[-1] < last:
        out.append(next_boundary(resolution, calendar, out[-1]))
    return out


def venues_by_calendar() -> dict[str, list[str]]:
    """Venue codes per calendar name (the UTC calendar takes every other venue)."""
    out: dict[str, list[str]] = {}
    for venue, calendar in _BY_VENUE.items():
        out.setdefault(calendar.name, []).append(venue)
    return out
