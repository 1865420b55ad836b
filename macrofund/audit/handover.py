"""The kernel side of the audit sealer: start it, hand it captured items in batches, stop it.

Each item is encoded (msgspec JSON) as it is captured. The kernel's thread writes a batch down the
sealer's pipe when it holds ``BATCH`` items or the last batch is ``flush_interval_s`` old; a small
thread sends what a quiet engine (a live session between events) has left waiting. Commands are not
written one by one: waking the sealer costs ~0.1 ms, so a command's record can sit here for at most
``flush_interval_s`` (a kill of the process in that window loses it, as the file's buffer could before).
A backtest's engine is never idle while it runs, so it gets no such thread (``idle_flush=False``): each
wake-up took the GIL from the engine's thread, ~4,500 forced switches in a 15 s backtest.
The pipe is enlarged to 1 MiB, so the engine only waits if the sealer falls more than that behind.
With ``fsync_interval_ms = 0`` every item is sent at once and acknowledged by the sealer once it is
written and fsynced.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import msgspec

from macrofund.audit.compact import rebuild_tables
from macrofund.audit.rebuild import Item
from macrofund.audit.record import AuditError
from macrofund.audit.sealer import HEADER

BATCH = 512
PIPE_SIZE = 1 << 20
# JSON, not pickle: msgspec encodes an item in less than half the time, and carries 128-bit raw values.
_encode = msgspec.json.Encoder().encode


class SealerProcess:
    """One run's sealer child. ``send`` is for the kernel's thread; ``flush`` is safe from any thread."""

    def __init__(
        self,
        settings: dict[str, Any],
        flush_interval_s: float,
        acknowledge_each: bool,
        idle_flush: bool = True,
    ) -> None:
        """``idle_flush``: run the thread that sends what an idle engine left queued (False only where
        the engine is never idle while it runs)."""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "macrofund.audit.sealer", json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in: IO[bytes] = self._proc.stdin
        self._out: IO[bytes] = self._proc.stdout
        self._fd = self._in.fileno()
        with contextlib.suppress(OSError):  # Linux only; a smaller pipe just means earlier waits
            fcntl.fcntl(self._fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
        hello = self._reply()
        if "error" in hello:
            self._proc.wait()
            raise AuditError(hello["error"])
        self.start_seq: int = hello["seq"]
        self.start_head: str = hello["head"]
        self._acknowledge_each = acknowledge_each
        # A deque: the kernel's thread appends at the right while a flush (on either thread) pops from
        # the left, so an item appended during a flush is never dropped with a swapped-out list.
        self._items: deque[bytes] = deque()
        self.sent = 0  # items handed over; the sealer must have sealed exactly these (checked at stop)
        self._lock = threading.Lock()
        self._failed: str | None = None
        self._stop = threading.Event()
        self._interval_s = flush_interval_s
        self._due = time.monotonic() + flush_interval_s
        self._flusher = threading.Thread(target=self._flush_loop, name="audit-handover", daemon=True)
        if idle_flush:
            self._flusher.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    # -- kernel thread ------------------------------------------------------------------------------

    def send(self, item: Item) -> None:
        """Encode one item now (a snapshot: nothing the engine changes later can alter it; and bytes are
        not tracked by the garbage collector while they wait) and queue it for the next batch."""
        self.sent += 1
        items = self._items
        items.append(_encode(item))
        n = len(items)
        if (n & 31 == 0 and (n >= BATCH or time.monotonic() >= self._due)) or self._acknowledge_each:
            # A busy engine sends its own batches: the handover thread then never has to take the GIL.
            self.flush()

    def check(self) -> None:
        """Raise ``AuditError`` if the sealer is known to be gone (it exited, or a write to it failed).

        The process is polled once per batch and by the handover thread once per flush interval, not
        here: per command, ``Popen.poll`` cost the engine's thread a system call (~0.1 ms on a busy VM)
        and would not narrow the window in which a dying sealer takes records with it, since a record
        waits up to that interval before it is written anyway."""
        if self._failed is not None:
            raise AuditError(self._failed)

    def _poll(self) -> None:
        if self._failed is None and self._proc.poll() is not None:
            self._failed = (
                f"audit sealer (pid {self._proc.pid}) is gone: it exited with code {self._proc.returncode}"
            )

    def flush(self) -> None:
        """Write queued items to the sealer; raises ``AuditError`` if it is gone."""
        with self._lock:
            self._poll()
            self.check()  # also when the handover thread found it gone and took the queue with it
            batch = self._take()
            if not batch:
                return
            self._due = time.monotonic() + self._interval_s
            self._write(batch)
            if self._acknowledge_each:
                self._write([_encode(("", 0, "ack", None))])
                self._reply()

    def stop(self, ts_ns: int, completed: bool) -> dict[str, Any]:
        """Send what is queued and ``RunStop``; wait for the sealer to finish (file durable, PostgreSQL
        drained) and return its summary."""
        self._stop.set()
        if self._flusher.is_alive():
            self._flusher.join()
        with self._lock:
            batch = self._take()
            batch.append(_encode(("", ts_ns, "stop", completed)))
            self._write(batch)
            with contextlib.suppress(OSError):
                self._in.close()
        summary = self._last_reply()
        self._proc.wait()
        expected = self.start_seq + self.sent + 1  # + RunStop
        if "error" not in summary and summary.get("last_seq") != expected:
            summary["error"] = (
                f"audit: {expected - summary.get('last_seq', 0)} of {self.sent} records handed to the "
                f"sealer were not sealed (last seq {summary.get('last_seq')}, expected {expected})"
            )
        return summary

    def abandon(self) -> dict[str, Any]:
        """Close the pipe without ``RunStop`` (the sealer keeps what it got) and wait for it."""
        self._stop.set()
        if self._flusher.is_alive():
            self._flusher.join()
        with contextlib.suppress(OSError, AuditError):
            self.flush()
        with contextlib.suppress(OSError):
            self._in.close()
        summary = self._last_reply()
        self._proc.wait()
        return summary

    # -- internals ----------------------------------------------------------------------------------

    def _take(self) -> list[bytes]:
        """Everything queued so far, oldest first (call with the lock held)."""
        pop = self._items.popleft
        return [pop() for _ in range(len(self._items))]

    def _write(self, batch: list[bytes]) -> None:
        if self._failed is not None:
            raise AuditError(self._failed)
        body = b"[" + b",".join(batch) + b"]"  # one JSON array of the encoded items
        data = memoryview(HEADER.pack(len(body)) + body)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            self._failed = f"audit sealer (pid {self._proc.pid}) is gone: {exc.strerror or exc}"
            raise AuditError(self._failed) from None

    def _reply(self) -> dict[str, Any]:
        line = self._out.readline()
        if not line:
            code = self._proc.wait()
            raise AuditError(f"audit sealer exited (code {code}) without answering")
        return dict(json.loads(line))

    def _last_reply(self) -> dict[str, Any]:
        last: dict[str, Any] = {}
        for line in self._out:
            with contextlib.suppress(ValueError):
                last = json.loads(line)
        return last

    def _flush_loop(self) -> None:
        # Sends what a quiet engine (a live session between events) has queued, every ``interval_s``.
        while not self._stop.wait(self._interval_s):
            self._poll()
            if time.monotonic() < self._due:
                continue
            try:
                self.flush()
            except AuditError:
                return  # the kernel's thread sees it on its next command


def sealer_settings(
    run_id: str, path: Path, config_hash: str, audit: Any
) -> dict[str, Any]:  # audit: AuditConfig
    """The sealer's JSON settings from the run's ``[audit]`` section."""
    return {
        "run_id": run_id,
        "path": str(path),
        "config_hash": config_hash,
        "fsync_interval_ms": audit.fsync_interval_ms,
        "database_url": audit.database_url,
        "db_queue_size": audit.db_queue_size,
        "db_batch_size": audit.db_batch_size,
        "db_retry_interval_s": audit.db_retry_interval.total_seconds(),
        "db_drain_timeout_s": audit.db_drain_timeout.total_seconds(),
        "tables": rebuild_tables(),
    }
