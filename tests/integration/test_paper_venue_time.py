"""A paper order's events never run backwards in time: the venue receives an order after it was created."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from macrofund.audit.file_sink import read_records
from macrofund.config.run_config import load_run_config
from macrofund.engine.assembly import run

ROOT = Path(__file__).resolve().parents[2]
# The venue's events of an order, after the strategy's OrderInitialized.
VENUE_EVENTS = {"OrderSubmitted", "OrderAccepted", "OrderFilled", "OrderCanceled", "OrderUpdated"}


def test_order_events_in_the_audit_trail_are_in_time_order(
    tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MACROFUND_DATABASE_URL", postgres_dsn)
    # A fast feed and fast EMAs: many orders, and the node always has data queued (feed lag).
    overrides = {"run.output_dir": str(tmp_path), "run.run_id": "paper", "feed.sim.rate": 3000}
    fast = [("strategies.0.config.fast_period", 2), ("strategies.0.config.slow_period", 4)]
    config = load_run_config(ROOT / "configs" / "paper-6e-ema.toml", overrides, fast)
    result = run(config, paper_options={"duration": timedelta(seconds=3)})

    per_order: dict[str, list[tuple[str, int]]] = defaultdict(list)
    venue_times: list[tuple[int, str, str]] = []
    for _, record in read_records(result.output_dir / "audit.jsonl"):
        assert isinstance(record, dict)
        kind, payload = record["type"], record["payload"]
        if kind == "OrderInitialized" or kind in VENUE_EVENTS:
            per_order[payload["client_order_id"]].append((kind, record["ts_event"]))
        if kind in VENUE_EVENTS:
            venue_times.append((record["ts_event"], kind, payload["client_order_id"]))
    fills = sum(1 for events in per_order.values() for kind, _ in events if kind == "OrderFilled")
    assert len(per_order) >= 5 and fills >= 5, "the session must trade for the check to mean anything"

    for order_id, events in per_order.items():
        assert events[0][0] == "OrderInitialized", (order_id, events)
        times = [ts for _, ts in events]
        assert times == sorted(times), f"{order_id}: events out of time order: {events}"
    # One venue, one clock: what it reports, in the order it reported it, never goes back.
    backwards = [(a, b) for a, b in pairwise(venue_times) if b[0] < a[0]]
    assert not backwards, f"{len(backwards)} venue events earlier than the one before, e.g. {backwards[:2]}"
