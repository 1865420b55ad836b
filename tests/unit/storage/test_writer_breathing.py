"""The persistence writer's pauses while it builds a batch (``macrofund.storage.writer``, module docstring).

They let a live engine's thread take the GIL between slices of the build; where the engine's thread never
waits (a backtest), they must stop, or each pause would cost the writer a forced GIL switch.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from macrofund.storage.persistence import _TASK, build_batch
from macrofund.storage.repositories.writes import Batch
from macrofund.storage.writer import BREATHE_EVERY, Breathe, ConnectionTask, PersistenceWriter


def _no_rows(items: Sequence[Any], breathe: Breathe) -> tuple[Batch, list[ConnectionTask]]:
    return Batch(), []


@pytest.fixture
def long_switch_interval() -> Iterator[None]:
    """A 50 ms GIL switch interval: a busy thread keeps the GIL far past the writer's 2 ms threshold."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.05)
    yield
    sys.setswitchinterval(before)


def test_build_breathes_once_every_so_many_items() -> None:
    calls = 0

    def breathe() -> None:
        nonlocal calls
        calls += 1

    tasks = [(_TASK, f"task-{i}") for i in range(3 * BREATHE_EVERY + 1)]  # connection tasks: no rows to build
    batch, out = build_batch("run", tasks, breathe)
    assert calls == 3
    assert out == [f"task-{i}" for i in range(3 * BREATHE_EVERY + 1)]  # every item still handled, in order
    assert len(batch) == 0


def test_writer_stops_breathing_for_the_batch_when_the_engine_thread_is_busy(
    long_switch_interval: None,
) -> None:
    writer = PersistenceWriter("postgresql://unused@127.0.0.1:1/none", _no_rows)
    stop = threading.Event()
    started = threading.Event()

    def busy_engine() -> None:  # pure Python: holds the GIL until a forced switch
        started.set()
        n = 0
        while not stop.is_set():
            n += 1

    engine = threading.Thread(target=busy_engine, daemon=True)
    engine.start()
    started.wait()
    try:
        writer._breathe()  # the pause hands the GIL over; getting it back waits for the switch interval
        assert writer.stats.breathing_stopped == 1
        for _ in range(10):
            writer._breathe()  # no more pauses in this batch
        assert writer.stats.breathing_stopped == 1
    finally:
        stop.set()
        engine.join()
