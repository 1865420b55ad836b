"""The persistence writer: a bounded queue drained by a thread that owns its own asyncpg event loop.

The engine thread only appends to a deque (no lock, no I/O). Every ``flush_interval`` the thread turns
what arrived into rows and writes them in one transaction. When the database falls behind and the queue
reaches ``queue_size``, the producer waits (back-pressure, logged once per episode) instead of dropping
anything: a trading system that silently loses fills is worse than one that slows down.

The thread shares the GIL with the engine's. Turning a batch into rows is pure Python (~8 µs an item,
~1.5 ms for a live node's 50 ms of events), and CPython hands the GIL to a waiting thread only when the
holder blocks or after the 5 ms switch interval: an execution report that arrived meanwhile waited for
the whole build. So the build ``breathe``s every ``BREATHE_EVERY`` items: it sleeps ``BREATHE_S``,
which lets a waiting engine thread take the GIL (``os.sched_yield`` does not: the writer takes it
straight back). Measured in ``bench live_fix`` (3,000 sequential orders): of the 60 slowest submit ->
accepted round trips, 38 overlapped a build before, 19-23 after; p99 fell ~6% (alternating pairs, within
this VM's noise: the rest of the tail is every process waiting for one of the two cores). Where the
engine never waits (a backtest with ``--db``: it always holds the GIL), getting the GIL back after a
pause takes a forced switch (~5 ms); the writer then stops breathing for the rest of that batch, and
builds as it did before. A writer with a large batch and an idle engine pays ~5 µs an item for the
pauses (``bench persistence``: 45k -> 35-40k events/s, the target is 20k).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from macrofund.storage.migrations import upgrade
from macrofund.storage.pool import StorageError, connect, mask_dsn
from macrofund.storage.repositories.writes import Batch, prepare_staging, write_batch

log = logging.getLogger("macrofund.storage")

ConnectionTask = Callable[[asyncpg.Connection], Awaitable[object]]
Breathe = Callable[[], None]
# (items, breathe) -> rows and tasks; the builder calls ``breathe()`` every ``BREATHE_EVERY`` items.
BatchBuilder = Callable[[Sequence[Any], Breathe], tuple[Batch, list[ConnectionTask]]]

BREATHE_EVERY = 32  # items between pauses: ~0.25 ms of building
BREATHE_S = 0.0001  # long enough for a waiting thread to be woken and take the GIL
# Getting the GIL back took longer than this: the engine's thread is busy, not waiting for events.
_BUSY_ENGINE_S = 0.002

_TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


@dataclass
class WriterStats:
    """What the writer did; the component's summary section."""

    enqueued: int = 0
    processed: int = 0
    rows_written: int = 0
    batches: int = 0
    max_queue_depth: int = 0
    backpressure_episodes: int = 0
    backpressure_seconds: float = 0.0
    write_retries: int = 0
    failed_rows: int = 0
    breathing_stopped: int = 0  # batches whose build stopped pausing (the engine's thread was busy)


class PersistenceWriter:
    """Owns one connection on its own thread; ``put`` is all the engine thread ever calls.

    ``build`` turns queued items into a ``Batch`` (plus connection tasks to run after it) on the
    writer thread. ``on_connect`` runs once per (re)connection before any write, after migrations.
    """

    def __init__(
        self,
        dsn: str,
        build: BatchBuilder,
        *,
        flush_interval_s: float = 0.05,
        queue_size: int = 200_000,
        batch_max: int = 20_000,
        on_connect: ConnectionTask | None = None,
        name: str = "macrofund-persistence",
    ) -> None:
        self.dsn = dsn
        self.stats = WriterStats()
        self._build = build
        self._flush_interval = flush_interval_s
        self._queue_size = queue_size
        self._batch_max = batch_max
        self._on_connect = on_connect
        self._name = name
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._ready = threading.Event()
        self._stopping = False
        self._give_up_at: float | None = None
        self._start_error: BaseException | None = None
        self._pressured = False
        self._conn: asyncpg.Connection | None = None
        self._thread: threading.Thread | None = None
        self._breathing = True

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> None:
        """Connect, migrate and start draining; raises ``StorageError`` (one line) if the DB is unusable."""
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            self._stopping = True
            raise StorageError(f"PostgreSQL at {mask_dsn(self.dsn)} did not answer within {timeout_s:.0f}s")
        if self._start_error is not None:
            if isinstance(self._start_error, StorageError):
                raise self._start_error
            raise StorageError(
                f"cannot use PostgreSQL at {mask_dsn(self.dsn)}: {self._start_error}"
            ) from self._start_error

    def put(self, item: Any) -> None:
        """Queue one item. Never does I/O; waits only when the queue is full (back-pressure)."""
        queue = self._queue
        queue.append(item)
        self.stats.enqueued += 1
        depth = len(queue)
        if depth >= self._batch_max and depth % self._batch_max == 0:
            self._wake.set()
        if depth >= self._queue_size:
            self._back_pressure()

    def flush(self, timeout_s: float = 60.0) -> bool:
        """Wait until everything queued so far is written (or given up on); False on timeout."""
        target = self.stats.enqueued
        self._wake.set()
        deadline = time.monotonic() + timeout_s
        with self._done:
            while self.stats.processed < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._alive():
                    return self.stats.processed >= target
                self._done.wait(min(remaining, 0.1))
        return True

    def close(self, timeout_s: float = 30.0) -> int:
        """Write what is queued (retrying for at most ``timeout_s``), stop; returns items left unwritten."""
        if self._thread is None:
            return 0
        self._give_up_at = time.monotonic() + timeout_s
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout_s + 5)
        self._thread = None
        return self.stats.enqueued - self.stats.processed

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    # -- engine side ----------------------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _back_pressure(self) -> None:
        if not self._pressured:
            self._pressured = True
            self.stats.backpressure_episodes += 1
            log.warning(
                "persistence queue full (%d events): the engine waits for PostgreSQL at %s",
                self._queue_size,
                mask_dsn(self.dsn),
            )
        started = time.monotonic()
        self._wake.set()
        while len(self._queue) >= self._queue_size:
            if not self._alive():
                raise StorageError("the persistence writer stopped; events can no longer be stored")
            time.sleep(0.001)
        self.stats.backpressure_seconds += time.monotonic() - started

    # -- writer thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            try:
                loop.run_until_complete(self._connect(migrate=True))
            except BaseException as exc:
                self._start_error = exc
                return
            finally:
                self._ready.set()
            self._drain_forever(loop)
        finally:
            if self._conn is not None and not self._conn.is_closed():
                loop.run_until_complete(self._conn.close())
            loop.close()
            with self._done:
                self._done.notify_all()

    def _breathe(self) -> None:
        """A pause in building a batch, so the engine's thread can take the GIL (module docstring)."""
        if self._breathing:
            started = time.perf_counter()
            time.sleep(BREATHE_S)
            if time.perf_counter() - started > _BUSY_ENGINE_S:
                self._breathing = False
                self.stats.breathing_stopped += 1

    async def _connect(self, migrate: bool) -> asyncpg.Connection:
        conn = await connect(self.dsn)
        try:
            if migrate:
                await upgrade(conn)
            await prepare_staging(conn)
            if self._on_connect is not None:
                await self._on_connect(conn)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn

    def _drain_forever(self, loop: asyncio.AbstractEventLoop) -> None:
        queue = self._queue
        next_take = 0.0
        while True:
            stopping = self._stopping
            if not queue:
                if stopping:
                    return
                self._wake.wait(self._flush_interval)
                self._wake.clear()
                if not queue:
                    continue
            elif not stopping and len(queue) < self._batch_max:
                # At most one batch per interval while events keep coming: taking whatever arrived
                # during the last write meant back-to-back batches of a few rows, each ~1 ms of this
                # thread's Python (transaction, statements) under the GIL, taken from the engine's
                # thread (a live node's submit -> accepted p50 +30%). ``flush``/``close`` wake it early.
                pause = next_take - time.monotonic()
                if pause > 0:
                    self._wake.wait(pause)
                    self._wake.clear()
            next_take = time.monotonic() + self._flush_interval
            depth = len(queue)
            self.stats.max_queue_depth = max(self.stats.max_queue_depth, depth)
            take = min(depth, self._batch_max)
            items = [queue.popleft() for _ in range(take)]
            if self._pressured and len(queue) < self._queue_size // 2:
                self._pressured = False
                log.warning("persistence queue drained below half: back-pressure episode over")
            ok = loop.run_until_complete(self._write(items))
            with self._done:
                self.stats.processed += take
                self._done.notify_all()
            if not ok:
                return

    async def _write(self, items: list[Any]) -> bool:
        """Write one batch, reconnecting on connection loss; False once closing has given up."""
        self._breathing = True
        batch, tasks = self._build(items, self._breathe)
        attempt = 0
        while True:
            try:
                conn = self._conn
                if conn is None or conn.is_closed():
                    conn = await self._connect(migrate=False)
                if len(batch):
                    self.stats.rows_written += await write_batch(conn, batch)
                    self.stats.batches += 1
                for task in tasks:
                    await task(conn)
                return True
            except _TRANSIENT as exc:
                attempt += 1
                self.stats.write_retries += 1
                if attempt == 1:
                    log.error("persistence: lost PostgreSQL at %s (%s); retrying", mask_dsn(self.dsn), exc)
                if self._conn is not None and not self._conn.is_closed():
                    self._conn.terminate()
                self._conn = None
                if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                    self.stats.failed_rows += len(batch)
                    log.error("persistence: gave up on %d rows after %d attempts", len(batch), attempt)
                    return False
                await asyncio.sleep(min(5.0, 0.1 * 2 ** min(attempt, 6)))
            except StorageError as exc:  # reconnect failed: same as a transient loss
                attempt += 1
                self.stats.write_retries += 1
                if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                    self.stats.failed_rows += len(batch)
                    log.error("persistence: gave up on %d rows: %s", len(batch), exc)
                    return False
                await asyncio.sleep(min(5.0, 0.1 * 2 ** min(attempt, 6)))
            except asyncpg.PostgresError as exc:
                # Not a connection problem: retrying the same rows would fail forever. Keep going.
                self.stats.failed_rows += len(batch)
                log.error("persistence: PostgreSQL rejected a batch of %d rows: %s", len(batch), exc)
                return True
