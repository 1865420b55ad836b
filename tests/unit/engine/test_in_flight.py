"""``InFlight`` sees a live engine's backlog, including messages scheduled but not yet queued, and a
message enqueued after the engines were last seen idle (which its shortcut must never miss)."""

from __future__ import annotations

import asyncio

from nautilus_trader.common.component import LiveClock, Logger
from nautilus_trader.live.enqueue import ThrottledEnqueuer

from macrofund.engine.in_flight import InFlight


def _enqueuer(loop: asyncio.AbstractEventLoop) -> tuple[ThrottledEnqueuer, asyncio.Queue]:
    queue: asyncio.Queue = asyncio.Queue(maxsize=100)
    return ThrottledEnqueuer("test_queue", queue, loop, LiveClock(), Logger("test")), queue


def test_busy_from_the_moment_a_message_is_enqueued_until_the_engine_took_it() -> None:
    loop = asyncio.new_event_loop()
    try:
        enqueuer, queue = _enqueuer(loop)
        in_flight = InFlight()
        in_flight.watch(enqueuer)
        assert not in_flight.busy()
        assert not in_flight.busy()  # asked again with nothing new: still idle

        enqueuer.enqueue("first")
        assert queue.qsize() == 0  # scheduled with call_soon_threadsafe, in no queue yet
        assert in_flight.busy()
        loop.run_until_complete(asyncio.sleep(0))  # the scheduled put runs
        assert queue.qsize() == 1
        assert in_flight.busy()
        queue.get_nowait()  # the engine takes it
        assert not in_flight.busy()

        # Enqueued right after the engines were seen idle: the idle shortcut must not hide it.
        enqueuer.enqueue("second")
        assert in_flight.busy()
        loop.run_until_complete(asyncio.sleep(0))
        assert in_flight.busy()
        queue.get_nowait()
        assert not in_flight.busy()
    finally:
        loop.close()


def test_a_full_queue_keeps_the_engine_busy() -> None:
    loop = asyncio.new_event_loop()
    try:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)
        enqueuer = ThrottledEnqueuer("test_queue", queue, loop, LiveClock(), Logger("test"))
        in_flight = InFlight()
        in_flight.watch(enqueuer)
        enqueuer.enqueue("a")
        loop.run_until_complete(asyncio.sleep(0))
        assert not in_flight.count  # queued, no longer scheduled
        enqueuer.enqueue("b")  # the queue is full: Nautilus schedules an asynchronous put instead
        assert in_flight.busy()
        queue.get_nowait()
        loop.run_until_complete(asyncio.sleep(0.01))  # the pending put lands
        assert in_flight.busy()
        queue.get_nowait()
        assert not in_flight.busy()
    finally:
        loop.close()
