"""The persistence writer takes at most one batch per flush interval while events keep coming.

Each batch costs its thread ~1 ms of Python under the GIL, time the engine's thread then waits for; it
used to take whatever had arrived during its previous write at once, i.e. back-to-back batches of a
few events (a live node's submit -> accepted p50 +30%, docs/storage.md). Real PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from macrofund.storage.repositories.writes import Batch
from macrofund.storage.writer import Breathe, ConnectionTask, PersistenceWriter


def test_a_steady_stream_is_taken_once_per_interval_and_nothing_is_left_behind(postgres_dsn: str) -> None:
    taken: list[list[Any]] = []

    def build(items: Sequence[Any], breathe: Breathe) -> tuple[Batch, list[ConnectionTask]]:
        taken.append(list(items))
        time.sleep(0.005)  # a write takes longer than the gap between two events, as in a live run
        return Batch(), []

    writer = PersistenceWriter(postgres_dsn, build, flush_interval_s=0.2)
    writer.start()
    try:
        sent = 0
        started = time.monotonic()
        while time.monotonic() - started < 1.0:  # one event every 1 ms for a second
            writer.put(sent)
            sent += 1
            time.sleep(0.001)
        assert writer.flush(10.0)  # a flush does not wait for the interval
        flushed_in = time.monotonic() - started
    finally:
        writer.close()
    assert [item for batch in taken for item in batch] == list(range(sent))  # all of it, in order
    # ~5 intervals in the second, plus the flush: never the ~hundreds of batches of a few events.
    assert len(taken) <= 8, [len(b) for b in taken]
    assert flushed_in < 1.15
