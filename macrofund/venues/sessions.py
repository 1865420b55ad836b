"""Trading sessions and business-day calendars: *when* a market trades.

Two different questions live here, on purpose kept apart:

- ``TradingSession`` answers "is the order book open at this nanosecond?" from a weekly pattern of open
  windows in the venue's local time zone. It is called per generated tick, so it precomputes the UTC
  open/close instants of each year once and then answers with a bisect (no pandas, no tz maths per call).
  It does not know exchange holidays: a simulated feed that must skip holidays asks the business-day
  calendar first.
- ``BusinessCalendar`` answers "is this date a business day of the exchange?" from ``exchange_calendars``
  (no hand-written holiday lists); contract expiry rules are built on it.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from macrofund.errors import UnknownInstrumentError

__all__ = [
    "B3_FX_SESSION",
    "B3_INDEX_SESSION",
    "CME_GLOBEX_SESSION",
    "BusinessCalendar",
    "SessionWindow",
    "TradingSession",
    "business_calendar",
]

_NS = 1_000_000_000

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)


@dataclass(frozen=True)
class SessionWindow:
    """One weekly open window in local time, e.g. Sunday 17:00 to Monday 16:00.

    ``open_day``/``close_day`` are ``date.weekday()`` numbers (Monday=0). A window whose close is not
    after its open on the same day (``close_day == open_day`` and ``close_time <= open_time``) would be
    ambiguous, so the close is always taken to be the first such instant *after* the open: a window may
    cross midnight and end on a later weekday, but it never lasts a week or more.
    """

    open_day: int
    open_time: time
    close_day: int
    close_time: time

    def __post_init__(self) -> None:
        if not (0 <= self.open_day <= 6 and 0 <= self.close_day <= 6):
            raise ValueError(f"weekday out of range in {self!r}")

    def days_to_close(self) -> int:
        """Whole local days from the open date to the close date (0 = same day)."""
        days = (self.close_day - self.open_day) % 7
        if days == 0 and self.close_time <= self.open_time:
            days = 7
        if days == 7:
            raise ValueError(f"a session window must be shorter than a week: {self!r}")
        return days


@dataclass(eq=False)
class TradingSession:
    """A venue's weekly trading hours in its local time zone, with fast UTC lookups.

    DST is handled by anchoring every window at its *local* wall-clock open and close, so a CME session
    that opens 17:00 Chicago time opens at 22:00 UTC in winter and 23:00 UTC in summer. Exchange holidays
    are not modelled here (see the module docstring).
    """

    name: str
    timezone: str
    windows: tuple[SessionWindow, ...]
    _tz: ZoneInfo = field(init=False, repr=False)
    _years: set[int] = field(init=False, repr=False, default_factory=set)
    _opens: list[int] = field(init=False, repr=False, default_factory=list)
    _closes: list[int] = field(init=False, repr=False, default_factory=list)
    _last: tuple[int, int] = field(init=False, repr=False, default=(0, 0))
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError(f"session {self.name!r} has no open windows")
        self._tz = ZoneInfo(self.timezone)
        for window in self.windows:
            window.days_to_close()  # validates

    def is_open(self, ts_ns: int) -> bool:
        """Whether the venue is in a continuous-trading window at ``ts_ns`` (UTC ns); close is exclusive."""
        last_open, last_close = self._last
        if last_open <= ts_ns < last_close:  # ticks arrive in order: most calls hit the same window
            return True
        index = self._window_index(ts_ns)
        if index >= 0 and ts_ns < self._closes[index]:
            self._last = (self._opens[index], self._closes[index])
            return True
        return False

    def next_open(self, ts_ns: int) -> int:
        """The first instant at or after ``ts_ns`` at which the session is open (``ts_ns`` if open now)."""
        if self.is_open(ts_ns):
            return ts_ns
        index = self._window_index(ts_ns) + 1
        self._ensure_year(_year_of(ts_ns) + 1)
        if index >= len(self._opens):  # pragma: no cover - every session opens at least once a year
            raise ValueError(f"session {self.name!r} never opens after {ts_ns}")
        return self._opens[index]

    def next_close(self, ts_ns: int) -> int:
        """The close of the window open at ``ts_ns``, or of the next window if closed now."""
        start = self.next_open(ts_ns)
        index = self._window_index(start)
        return self._closes[index]

    def _window_index(self, ts_ns: int) -> int:
        """Index of the last window opening at or before ``ts_ns`` (-1 if none), loading years as needed."""
        year = _year_of(ts_ns)
        # A window that opened late in the previous year can still be open in this one.
        self._ensure_year(year - 1)
        self._ensure_year(year)
        return bisect.bisect_right(self._opens, ts_ns) - 1

    def _ensure_year(self, year: int) -> None:
        if year in self._years:
            return
        with self._lock:
            if year in self._years:
                return
            intervals = list(zip(self._opens, self._closes, strict=True))
            intervals.extend(self._intervals_opening_in(year))
            intervals.sort()
            merged: list[tuple[int, int]] = []
            for open_ns, close_ns in intervals:
                if merged and open_ns <= merged[-1][1]:  # contiguous or overlapping windows merge
                    merged[-1] = (merged[-1][0], max(merged[-1][1], close_ns))
                else:
                    merged.append((open_ns, close_ns))
            self._opens = [o for o, _ in merged]
            self._closes = [c for _, c in merged]
            self._years.add(year)

    def _intervals_opening_in(self, year: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        day = date(year, 1, 1)
        end = date(year + 1, 1, 1)
        while day < end:
            weekday = day.weekday()
            for window in self.windows:
                if window.open_day != weekday:
                    continue
                open_dt = datetime.combine(day, window.open_time, tzinfo=self._tz)
                close_day = day + timedelta(days=window.days_to_close())
                close_dt = datetime.combine(close_day, window.close_time, tzinfo=self._tz)
                out.append((_to_ns(open_dt), _to_ns(close_dt)))
            day += timedelta(days=1)
        return out


def _to_ns(moment: datetime) -> int:
    # Integer arithmetic on the UTC offset keeps nanoseconds exact (timestamp() is a float).
    utc = moment.astimezone(UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    delta = utc - epoch
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1_000


def _year_of(ts_ns: int) -> int:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_ns // 1_000)).year


def local_time_ns(day: date, at: time, timezone: str) -> int:
    """UTC nanoseconds of wall-clock ``at`` on ``day`` in ``timezone`` (used for expiry instants)."""
    return _to_ns(datetime.combine(day, at, tzinfo=ZoneInfo(timezone)))


def _weekdays(open_time: time, close_time: time) -> tuple[SessionWindow, ...]:
    return tuple(SessionWindow(day, open_time, day, close_time) for day in range(MONDAY, SATURDAY))


#: CME Globex: Sunday 17:00 to Friday 16:00 Chicago time with a daily 16:00-17:00 halt, i.e. one window
#: per trading day opening 17:00 the evening before (Sun..Thu) and closing 16:00.
CME_GLOBEX_SESSION = TradingSession(
    name="CME Globex",
    timezone="America/Chicago",
    windows=tuple(
        SessionWindow(day, time(17, 0), (day + 1) % 7, time(16, 0))
        for day in (SUNDAY, MONDAY, TUESDAY, WEDNESDAY, THURSDAY)
    ),
)

#: B3 index futures (WIN, IND) regular session, 09:00-18:25 Sao Paulo time, Monday-Friday.
B3_INDEX_SESSION = TradingSession(
    name="B3 index futures", timezone="America/Sao_Paulo", windows=_weekdays(time(9, 0), time(18, 25))
)

#: B3 US-dollar futures (DOL, WDO) regular session, 09:00-18:30 Sao Paulo time, Monday-Friday.
B3_FX_SESSION = TradingSession(
    name="B3 FX futures", timezone="America/Sao_Paulo", windows=_weekdays(time(9, 0), time(18, 30))
)


class BusinessCalendar:
    """Business days of one exchange, from ``exchange_calendars``, as a set of dates for O(1) lookups.

    ``exchange_calendars`` computes future holidays from rules, so the range reaches well past today; a
    date outside it raises ``UnknownInstrumentError`` (it only ever comes from a contract code).
    """

    FIRST_YEAR = 2000
    LAST_YEAR = 2045

    def __init__(self, name: str) -> None:
        import exchange_calendars  # deferred: building a calendar costs ~0.4 s, only pay it when used

        calendar = exchange_calendars.get_calendar(
            name, start=f"{self.FIRST_YEAR}-01-01", end=f"{self.LAST_YEAR}-12-31"
        )
        self.name = name
        self._days = frozenset(ts.date() for ts in calendar.sessions)

    def _check(self, day: date) -> None:
        if not (self.FIRST_YEAR <= day.year <= self.LAST_YEAR):
            raise UnknownInstrumentError(
                f"{day.isoformat()} is outside the {self.name} calendar range "
                f"{self.FIRST_YEAR}-{self.LAST_YEAR}"
            )

    def is_business_day(self, day: date) -> bool:
        """Whether the exchange holds a trading session on ``day``."""
        self._check(day)
        return day in self._days

    def next_business_day(self, day: date, include: bool = True) -> date:
        """``day`` if it is a business day (when ``include``), else the next one."""
        current = day if include else day + timedelta(days=1)
        while not self.is_business_day(current):
            current += timedelta(days=1)
        return current

    def previous_business_day(self, day: date, include: bool = True) -> date:
        """``day`` if it is a business day (when ``include``), else the previous one."""
        current = day if include else day - timedelta(days=1)
        while not self.is_business_day(current):
            current -= timedelta(days=1)
        return current

    def last_business_day_of_month(self, year: int, month: int) -> date:
        """The last business day of the calendar month."""
        return self.previous_business_day(_month_end(year, month))

    def first_business_day_of_month(self, year: int, month: int) -> date:
        """The first business day of the calendar month."""
        return self.next_business_day(date(year, month, 1))


@cache
def business_calendar(name: str) -> BusinessCalendar:
    """The shared ``BusinessCalendar`` for an ``exchange_calendars`` name ("CMES", "BVMF")."""
    return BusinessCalendar(name)


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)
