"""The once-a-second status line of a paper or live run (``-q`` off, no terminal)."""

from __future__ import annotations

from decimal import Decimal

from macrofund.cli.live_view import status_line
from macrofund.engine.paper import AccountLine, PaperStatus


def _status(sessions: list[tuple[str, str]]) -> PaperStatus:
    return PaperStatus(
        run_id="r1", elapsed_seconds=12.0, positions=[], working_orders=[],
        accounts=[AccountLine("B3", "BRL", Decimal("100"), Decimal("5"), Decimal("105"))],
        orders=3, fills=2, data_delivered=40, feed_rate=100.0, feed_lag_ms=0.5, feed_max_lag_ms=1.0,
        sessions=sessions,
    )  # fmt: skip


def test_a_venue_session_that_is_down_is_on_every_status_line() -> None:
    line = status_line(_status([("B3", "DOWN 12s")]))
    assert line.endswith("working 0 FIX B3 DOWN 12s B3:BRL=105.00"), line


def test_a_run_without_venue_sessions_shows_none() -> None:
    assert "FIX" not in status_line(_status([]))
