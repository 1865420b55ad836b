"""The audit sealer: a child process that numbers, hashes and writes the run's audit records.

Sealing (canonical JSON, SHA-256), formatting decimals, the file and the PostgreSQL copy used to run on
the kernel's thread under the GIL. Here they run on the machine's other core. The kernel's process only
captures each event (``macrofund.audit.compact``) and writes batches of items down a pipe.

Protocol: the parent starts ``python -m macrofund.audit.sealer`` with the settings as one JSON argument.
The sealer opens (or continues) the file, starts the PostgreSQL writer and prints one JSON line:
``{"ok": true, "seq": S, "head": H}`` or ``{"error": "<one line>"}``. Then it reads frames from stdin:
a 4-byte little-endian length and a JSON list of items ``(type, ts_event, kind, data)`` or controls
``("", 0, "ack", None)`` (answer ``{"ack": seq}`` once everything before it is written) and
``("", ts, "stop", completed)`` (seal ``RunStop``, finish, print the summary, exit).

On end of input without ``stop`` (the parent died, even by SIGKILL) the sealer writes out everything it
received, fsyncs, gives PostgreSQL its drain time and exits: records already in the pipe are kept, and
it never outlives its parent. SIGINT/SIGTERM are ignored so a Ctrl-C on the terminal's process group
lets the parent stop the run and the trail in order.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from macrofund.audit.db_sink import AuditDatabaseWriter
from macrofund.audit.file_sink import AuditFile, last_record
from macrofund.audit.rebuild import Rebuilder
from macrofund.audit.record import AuditChain, AuditError

HEADER = struct.Struct("<I")


class Sealer:
    """The chain, the file and the PostgreSQL writer of one run, fed with captured items."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.run_id: str = settings["run_id"]
        self.path = Path(settings["path"])
        self.config_hash: str = settings["config_hash"]
        self.drain_timeout_s: float = settings["db_drain_timeout_s"]
        last = last_record(self.path) if self.path.exists() else None
        if last is not None and last.get("run_id") != self.run_id:
            raise AuditError(
                f"{self.path} holds the audit trail of run {last.get('run_id')!r}, not {self.run_id!r}"
            )
        self.chain = AuditChain(
            self.run_id,
            int(last["seq"]) if last is not None else 0,
            str(last["hash"]) if last is not None else None,
        )
        self.file = AuditFile(self.path, settings["fsync_interval_ms"])
        if self.file.torn_bytes_dropped:
            sys.stderr.write(
                f"warning: {self.path}: cut {self.file.torn_bytes_dropped} bytes of a record a crash left "
                f"half-written after seq {self.chain.seq}; the trail continues from seq {self.chain.seq}\n"
            )
        self.db: AuditDatabaseWriter | None = None
        if settings.get("database_url"):
            self.db = AuditDatabaseWriter(
                settings["database_url"],
                self.run_id,
                self.path,
                self.file.flush,
                queue_size=settings["db_queue_size"],
                batch_size=settings["db_batch_size"],
                retry_interval_s=settings["db_retry_interval_s"],
            )
            self.db.start()
        self.rebuilder = Rebuilder(settings["tables"])
        self.stopped = False

    def record(self, record_type: str, ts_event: int, payload: Any) -> None:
        sealed = self.chain.seal(record_type, ts_event, time.time_ns(), payload)
        self.file.append(sealed.line)
        if self.db is not None:
            self.db.offer(
                (
                    sealed.seq,
                    record_type,
                    ts_event,
                    sealed.ts_recorded,
                    sealed.prev_hash,
                    sealed.hash,
                    sealed.body,
                )
            )

    def feed(self, items: list, out: BinaryIO) -> None:
        payload_of = self.rebuilder.payload
        for record_type, ts_event, kind, data in items:
            if record_type:
                self.record(record_type, ts_event, payload_of(record_type, kind, data))
            elif kind == "ack":
                _reply(out, {"ack": self.chain.seq})
            elif kind == "stop":
                self.stop(ts_event, completed=bool(data))

    def stop(self, ts_ns: int, completed: bool) -> None:
        if self.stopped:
            return
        self.record(
            "RunStop",
            ts_ns,
            {"completed": completed, "config_hash": self.config_hash, "records": self.chain.seq + 1},
        )
        self.stopped = True

    def close(self) -> dict[str, Any]:
        """Make the file durable, let PostgreSQL catch up, and report what was written."""
        self.file.close()
        if self.db is not None:
            self.db.stop(self.drain_timeout_s)
        section: dict[str, Any] = {
            "records_file": self.file.records_written,
            "last_seq": self.chain.seq,
            "chain_head": self.chain.head,
        }
        if self.db is not None:
            section.update(
                records_db=self.db.db_seq,
                db_status=self.db.status,
                db_backfilled=self.db.backfilled,
                db_outages=self.db.outages,
            )
        return section


def _reply(out: BinaryIO, message: dict[str, Any]) -> None:
    try:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()
    except OSError:
        pass  # the parent is gone; the file holds the truth


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = sys.stdout.buffer
    try:
        sealer = Sealer(json.loads(argv[0]))
    except Exception as exc:
        _reply(out, {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__})
        return 2
    _reply(out, {"ok": True, "seq": sealer.chain.seq, "head": sealer.chain.head})
    fd = sys.stdin.buffer.fileno()
    decode = msgspec.json.Decoder().decode
    try:
        while not sealer.stopped:
            header = _read_exact(fd, HEADER.size)
            if header is None:
                break  # the parent is gone: keep what it sent
            body = _read_exact(fd, HEADER.unpack(header)[0])
            if body is None:
                break
            sealer.feed(decode(body), out)
    except BaseException as exc:
        summary = sealer.close()
        _reply(out, {"error": f"audit sealer failed: {type(exc).__name__}: {exc}", **summary})
        return 1
    summary = sealer.close()
    _reply(out, {"done": True, **summary})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
