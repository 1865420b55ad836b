"""When a FIX session may be connected, and when its sequence numbers reset (daily).

A schedule is a daily window in the venue's time zone, e.g. B3 ``07:30``-``18:30`` America/Sao_Paulo,
or an overnight one such as CME Globex ``17:00``-``16:00`` America/Chicago (start after end means the
window crosses midnight). ``days`` restricts the days a window may *start* on (Monday=0). Sequence
numbers reset at the first logon of each window when ``reset_daily`` is set: the store remembers when
it was last reset, and a reset older than the current window's start means a new trading day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class SessionSchedule:
    """A daily session window; all inputs and outputs are UTC nanoseconds."""

    def __init__(
        self,
        start: time,
        end: time,
        timezone: str = "UTC",
        days: frozenset[int] = frozenset(range(7)),
        reset_daily: bool = True,
    ) -> None:
        self.start = start
        self.end = end
        self.zone = ZoneInfo(timezone)
        self.days = days
        self.reset_daily = reset_daily

    def _window_for_start_day(self, day: date) -> tuple[datetime, datetime]:
        opened = datetime.combine(day, self.start, tzinfo=self.zone)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        closed = datetime.combine(end_day, self.end, tzinfo=self.zone)
        return opened, closed

    def current_window(self, now_ns: int) -> tuple[int, int] | None:
        """``(start_ns, end_ns)`` of the window containing ``now_ns``, or ``None`` when closed."""
        now = datetime.fromtimestamp(now_ns / 1e9, tz=UTC).astimezone(self.zone)
        for back in (0, 1):
            day = now.date() - timedelta(days=back)
            if day.weekday() not in self.days:
                continue
            opened, closed = self._window_for_start_day(day)
            if opened <= now < closed:
                return _ns(opened), _ns(closed)
        return None

    def is_open(self, now_ns: int) -> bool:
        """Whether the session may be connected at ``now_ns``."""
        return self.current_window(now_ns) is not None

    def next_open_ns(self, now_ns: int) -> int:
        """``now_ns`` when open, else the start of the next window."""
        if self.is_open(now_ns):
            return now_ns
        now = datetime.fromtimestamp(now_ns / 1e9, tz=UTC).astimezone(self.zone)
        for ahead in range(0, 8):
            day = now.date() + timedelta(days=ahead)
            if day.weekday() in self.days:
                opened, _ = self._window_for_start_day(day)
                if opened > now:
                    return _ns(opened)
        raise ValueError("session schedule has no open day")

    def needs_reset(self, last_reset_ns: int, now_ns: int) -> bool:
        """Whether the sequence numbers last reset at ``last_reset_ns`` belong to an earlier window."""
        if not self.reset_daily:
            return False
        window = self.current_window(now_ns)
        return window is not None and last_reset_ns < window[0]


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
