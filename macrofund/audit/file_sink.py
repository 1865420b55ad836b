"""The append-only JSONL audit file: the run's source of truth.

The kernel's thread only appends to a buffered file. Durability follows ``fsync_interval_ms``: 0 writes
and fsyncs every record before returning (slowest, nothing can be lost); N > 0 lets a small flusher
thread write the buffer out and fsync it every N ms, so a power cut loses at most N ms of records
while the engine never waits for the disk.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from macrofund.audit.record import AuditError, decode

FILE_NAME = "audit.jsonl"


class AuditFile:
    """Appends sealed lines to ``path``; ``flush`` is safe from any thread."""

    def __init__(self, path: Path, fsync_interval_ms: int) -> None:
        self.path = path
        try:
            self.torn_bytes_dropped = drop_torn_tail(path)
            self._fh: BinaryIO = open(path, "ab", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise AuditError(f"cannot open audit file {path}: {exc.strerror}") from None
        self._every_record = fsync_interval_ms == 0
        self._interval_s = fsync_interval_ms / 1000
        self._lock = threading.Lock()  # one flush+fsync at a time
        self._stop = threading.Event()
        self.records_written = 0
        self.records_durable = 0
        self._flusher: threading.Thread | None = None
        if not self._every_record:
            self._flusher = threading.Thread(target=self._flush_loop, name="audit-fsync", daemon=True)
            self._flusher.start()

    def append(self, line: bytes) -> None:
        """Append one line (and make it durable first when fsync is per record)."""
        self._fh.write(line)
        self.records_written += 1
        if self._every_record:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.records_durable = self.records_written

    def flush(self) -> None:
        """Hand buffered lines to the OS and fsync them; afterwards readers of the file see them."""
        with self._lock:
            if self._fh.closed:
                return
            written = self.records_written
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.records_durable = max(self.records_durable, written)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            if self.records_durable != self.records_written:
                self.flush()

    def close(self) -> None:
        """Flush, fsync and close; idempotent."""
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
            self._flusher = None
        if not self._fh.closed:
            self.flush()
            with self._lock:
                self._fh.close()


def drop_torn_tail(path: Path) -> int:
    """Cut a last line that a crash left without its newline; returns the bytes cut (0: none).

    A record is durable only with its ``\n``; a fragment after the last one was never a record, and
    appending after it would glue the next record to it and break the chain for ``audit verify``.
    """
    if not path.exists():
        return 0
    with open(path, "r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return 0
        end = size
        while end > 0:
            start = max(0, end - (1 << 16))
            fh.seek(start)
            newline = fh.read(end - start).rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        fh.truncate(keep)
        return size - keep


def last_record(path: Path) -> dict | None:
    """The last complete record of an existing file (to continue its chain), or ``None`` if empty."""
    last: dict | None = None
    for _, record in read_records(path):
        if isinstance(record, dict):
            last = record
    return last


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line_number, raw line)`` for every complete line (a torn last line without ``\\n`` is skipped)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise AuditError(f"cannot read audit file {path}: {exc.strerror or exc}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if raw.endswith(b"\n"):
                yield number, raw


def read_records(path: Path) -> Iterator[tuple[int, object]]:
    """``(line_number, parsed JSON or None when the line is not JSON)`` for every complete line."""
    for number, raw in read_lines(path):
        try:
            yield number, decode(raw)
        except msgspec.DecodeError:
            yield number, None


class FileTail:
    """Reads records appended to a file since the last call (for back-filling PostgreSQL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.last_seq = 0
        self.last_hash: str | None = None

    def rewind(self) -> None:
        self._offset = 0
        self.last_seq = 0
        self.last_hash = None

    def read_until(self, seq: int) -> list[dict]:
        """Records after the last one returned, up to and including ``seq`` (complete lines only)."""
        out: list[dict] = []
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            while self.last_seq < seq:
                raw = fh.readline()
                if not raw.endswith(b"\n"):
                    break
                self._offset += len(raw)
                record = decode(raw)
                self.last_seq = int(record["seq"])
                self.last_hash = str(record["hash"])
                out.append(record)
        return out
