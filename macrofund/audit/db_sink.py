"""The PostgreSQL copy of the audit trail, written from its own thread and event loop.

The kernel's thread only appends a row to a bounded in-memory queue (never waits). The writer thread
drains it in batches. Whenever the next record it has is not the one PostgreSQL needs next (the queue
overflowed, or the server was unreachable and queued rows were dropped), it reads the missing records
back from the audit file, which always holds the truth. So the database ends up with exactly the
file's records, each once, whatever happened in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import asyncpg

from macrofund.audit.file_sink import FileTail
from macrofund.audit.record import AuditConflictError
from macrofund.audit.store import Row, append_rows, last_seq, row_from_record
from macrofund.storage.migrations import upgrade

# What the kernel's thread queues: a ``Row`` whose body is still bytes (decoded on the writer thread).
QueuedRow = tuple[int, str, int, int, str, str, bytes]

log = logging.getLogger("macrofund.audit")

IDLE_POLL_S = 0.01


class AuditDatabaseWriter:
    """Mirrors one run's audit records into ``audit_records``; start with ``start()``, end with ``stop()``."""

    def __init__(
        self,
        dsn: str,
        run_id: str,
        file_path: Path,
        flush_file: Callable[[], None],
        *,
        queue_size: int,
        batch_size: int,
        retry_interval_s: float,
    ) -> None:
        self._dsn = dsn
        self._run_id = run_id
        self._tail = FileTail(file_path)
        self._flush_file = flush_file
        self._queue: deque[QueuedRow] = deque()
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._retry_s = retry_interval_s
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._thread_main, name="audit-db", daemon=True)
        self.offered_seq = 0  # last seq handed in by the engine
        self.db_seq = 0  # every record up to this seq is in PostgreSQL
        self.rows_written = 0  # rows this writer inserted (not counting ones already there)
        self.backfilled = 0  # of which read back from the file
        self.dropped = 0  # rows not queued (queue full or server down): back-filled from the file
        self.outages = 0
        self.status = "connecting"
        self._failed = False
        self._prefix_checked = False

    # -- kernel thread ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def offer(self, row: QueuedRow) -> None:
        """Queue one record for PostgreSQL; never blocks (a full queue means a later file back-fill)."""
        if len(self._queue) < self._queue_size and not self._failed:
            self._queue.append(row)
        else:
            self.dropped += 1
        self.offered_seq = row[0]

    def stop(self, timeout_s: float) -> None:
        """Finish writing (after the file is flushed) for at most ``timeout_s``, then stop the thread."""
        self._deadline = time.monotonic() + timeout_s
        self._stopping.set()
        self._thread.join(timeout_s + 10)

    @property
    def behind(self) -> int:
        """Records in the file that PostgreSQL does not hold yet."""
        return max(self.offered_seq - self.db_seq, 0)

    # -- writer thread ------------------------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # never let the writer take the run down; the file has the truth
            self._failed = True
            self.status = f"failed: {exc}"
            log.error("audit.db status=failed error=%r", exc)

    async def _main(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                if self._stopping.is_set() and (
                    (not self._queue and self.db_seq >= self.offered_seq) or time.monotonic() > self._deadline
                ):
                    break
                if conn is None:
                    conn = await self._connect()
                    if conn is None:
                        await asyncio.sleep(self._retry_s)
                        continue
                try:
                    progressed = await self._step(conn)
                except AuditConflictError as exc:
                    self._failed = True
                    self._queue.clear()
                    self.db_seq = 0  # nothing of *this* trail is known to be stored
                    self.status = f"conflict: {exc}"
                    log.error("audit.db status=conflict run_id=%s error=%s", self._run_id, exc)
                    return
                except Exception as exc:  # connection lost mid-batch: the file back-fills the batch
                    self._lost(f"{type(exc).__name__}: {exc}")
                    with contextlib.suppress(Exception):
                        conn.terminate()
                    conn = None
                    continue
                if not progressed:
                    await asyncio.sleep(IDLE_POLL_S)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
            if not self._failed:
                self.status = "in sync" if self.behind == 0 else f"behind by {self.behind} records"

    async def _connect(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5, command_timeout=30)
        except Exception as exc:
            self._lost(f"{type(exc).__name__}: {exc}")
            return None
        try:
            await upgrade(conn)
            self.db_seq = await last_seq(conn, self._run_id)
        except Exception as exc:
            self._lost(f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                conn.terminate()
            return None
        if self._tail.last_seq > self.db_seq:
            self._tail.rewind()
        if self.status != "writing":
            log.info("audit.db status=connected run_id=%s db_seq=%d", self._run_id, self.db_seq)
        self.status = "writing"
        return conn

    def _lost(self, reason: str) -> None:
        """The server is unreachable: drop queued rows (the file keeps them) and say so once."""
        self.dropped += len(self._queue)
        self._queue.clear()
        if not self.status.startswith("unreachable"):
            self.outages += 1
            log.warning("audit.db status=unreachable run_id=%s error=%s", self._run_id, reason)
        self.status = f"unreachable ({reason})"

    async def _step(self, conn: asyncpg.Connection) -> bool:
        """Write one batch (back-filling any gap before it first); False when there was nothing to do."""
        if not self._prefix_checked:
            if self.offered_seq == 0:
                return False
            await self._check_prefix(conn)
        before = self.db_seq
        batch: list[Row] = []
        while self._queue and len(batch) < self._batch_size:
            seq, kind, ts_event, ts_recorded, prev_hash, digest, body = self._queue.popleft()
            if seq > self.db_seq:
                batch.append((seq, kind, ts_event, ts_recorded, prev_hash, digest, body.decode()))
        offered = self.offered_seq
        gap_end = batch[0][0] - 1 if batch else offered
        if gap_end > self.db_seq:
            await self._backfill(conn, gap_end)
        batch = [row for row in batch if row[0] > self.db_seq]
        if batch:
            self.rows_written += await append_rows(conn, self._run_id, batch)
            self.db_seq = batch[-1][0]
        return self.db_seq > before

    async def _check_prefix(self, conn: asyncpg.Connection) -> None:
        """Records of this run id already in PostgreSQL must be this file's (same hash at the same seq)."""
        check = min(self.db_seq, self.offered_seq)
        if check > 0:
            self._flush_file()
            if self._tail.last_seq > check:
                self._tail.rewind()
            self._tail.read_until(check)
            stored = await conn.fetchval(
                "select hash from audit_records where run_id = $1 and seq = $2", self._run_id, check
            )
            if self._tail.last_seq != check or stored != self._tail.last_hash:
                raise AuditConflictError(
                    f"audit: PostgreSQL already holds a different trail for run {self._run_id} "
                    f"(seq {check} differs); choose another run id"
                )
        self._prefix_checked = True

    async def _backfill(self, conn: asyncpg.Connection, up_to: int) -> None:
        """Copy records (db_seq, up_to] from the audit file into PostgreSQL."""
        self._flush_file()
        if self._tail.last_seq < self.db_seq:
            self._tail.read_until(self.db_seq)  # skip what is stored already
        while self.db_seq < up_to:
            records = self._tail.read_until(min(up_to, self.db_seq + self._batch_size))
            rows = [row_from_record(r) for r in records if int(r["seq"]) > self.db_seq]
            if not rows:
                return  # not in the file yet: the next step tries again
            inserted = await append_rows(conn, self._run_id, rows)
            self.rows_written += inserted
            self.backfilled += inserted
            self.db_seq = rows[-1][0]
