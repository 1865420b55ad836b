"""Messages the live engines accepted but have not queued yet: the part of a node's backlog no
``qsize`` shows.

NautilusTrader 1.221's live data, risk and execution engines put every message on their asyncio queue
through ``ThrottledEnqueuer.enqueue``, which does not put it there but schedules the put with
``loop.call_soon_threadsafe``. Until the loop runs that callback the message is in neither queue, so
"every queue is empty" can be true while a quote, the bar it completes or the order that bar causes is
still on its way. ``SettledMarketData`` waits for a datum's consequences before handing over the next
one (the paper/backtest parity rests on it); it must count these messages too, or a burst of data goes
through unsettled and data recorded just before a stop may never reach the strategies.

``InFlight.watch`` wraps one enqueuer (instance attributes only; Nautilus is pinned) so that each
scheduled put is counted when scheduled and uncounted when it lands in the queue.
"""

from __future__ import annotations

from typing import Any


class InFlight:
    """How many scheduled queue puts have not run yet, across the enqueuers it watches."""

    def __init__(self) -> None:
        self.count = 0
        self.enqueued = 0  # every message ever handed to a watched enqueuer
        self._idle_at = -1  # ``enqueued`` when the engines were last seen idle
        self._deques: list[Any] = []  # the watched enqueuers' queues, as asyncio.Queue's own deques

    def busy(self) -> bool:
        """Whether any watched message is scheduled or still queued (the engines' whole backlog).

        Called once or twice per market datum, and most data trigger nothing: every message reaches a
        queue through ``enqueue``, so when nothing was enqueued since the engines were last seen idle
        they still are, and the queues need not be looked at. Otherwise the queues' deques are read
        directly (``qsize`` through each engine's accessor cost a third of a paper node's time per quote).
        """
        enqueued = self.enqueued
        if enqueued == self._idle_at:
            return False
        if self.count > 0 or any(map(len, self._deques)):
            return True
        self._idle_at = enqueued
        return False

    def watch(self, enqueuer: Any) -> None:
        """Count ``enqueuer``'s scheduled puts (its full-queue fallback shows in ``qsize`` already)."""
        enqueue = enqueuer.enqueue
        put_now = enqueuer._enqueue_nowait_safely
        queue = enqueuer._queue
        self._deques.append(queue._queue)

        def counted_enqueue(message: Any) -> None:
            self.enqueued += 1
            # The same test ThrottledEnqueuer.enqueue makes to choose call_soon_threadsafe.
            if queue.qsize() < queue.maxsize:
                self.count += 1
            enqueue(message)

        def counted_put(target: Any, message: Any) -> None:
            self.count -= 1
            put_now(target, message)

        enqueuer.enqueue = counted_enqueue
        enqueuer._enqueue_nowait_safely = counted_put


def watch_live_engines(kernel: Any) -> InFlight:
    """An ``InFlight`` over every enqueuer of the kernel's live data, risk and execution engines."""
    in_flight = InFlight()
    engines = (kernel.data_engine, kernel.risk_engine, kernel.exec_engine)
    for engine in engines:
        for name in ("_data_enqueuer", "_cmd_enqueuer", "_req_enqueuer", "_res_enqueuer", "_evt_enqueuer"):
            enqueuer = getattr(engine, name, None)
            if enqueuer is not None:
                in_flight.watch(enqueuer)
    return in_flight
