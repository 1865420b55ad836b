"""Sequence-number and message stores: a restart continues the FIX sequence instead of resetting it.

A store keeps, per session, the next outgoing and the next expected incoming MsgSeqNum, the time the
sequence was last reset (for the schedule's daily reset), and the outgoing application messages (to
answer a ResendRequest). Outgoing messages are persisted *before* they reach the socket, so a crash
never leaves the venue holding a sequence number we do not remember.

Two implementations, chosen by config:

- ``FileSessionStore`` (default): three small files per session. Writes are one ``pwrite``/``write``
  syscall into the OS page cache (a few microseconds, survives a process kill; ``fsync = true`` also
  survives a power loss, one disk flush per message). That is cheaper than a thread hop, so the session
  writes on the event loop (``immediate = True``).
- ``PostgresSessionStore``: two tables. Writes are awaited (asyncpg, never blocking the loop); the
  session batches the messages queued during one round trip into one transaction and writes them to the
  socket only after it commits.

The expected incoming sequence is written lazily: losing its last increments in a crash makes us ask for
a resend of messages we already processed, which arrive with PossDupFlag=Y (at-least-once, never lost).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from macrofund.adapters.fix.errors import FixStoreError
from macrofund.errors import FolderLockError
from macrofund.process_lock import ProcessLock


@dataclass(frozen=True)
class StoredSequence:
    """What a store holds for one session when it is opened."""

    next_sender_seq: int
    next_target_seq: int
    created_ns: int  # UTC ns of the last reset (or first use)


class SessionStore(ABC):
    """Persistent sequence numbers and outgoing messages of one FIX session."""

    #: True when ``save_outbound`` is a cheap synchronous write the session may do on the loop.
    immediate: bool = True

    @abstractmethod
    async def open(self) -> StoredSequence:
        """Load (or create) the session's state."""

    @abstractmethod
    async def close(self) -> None:
        """Flush and release files/connections."""

    def save_outbound(self, seq: int, raw: bytes | None) -> None:
        """Record outgoing ``seq`` (``raw`` for application messages, ``None`` for admin ones).

        Only for ``immediate`` stores; others implement ``persist_outbound``.
        """
        raise NotImplementedError

    async def persist_outbound(self, batch: list[tuple[int, bytes | None]]) -> None:
        """Record several outgoing messages in order (the default writes them one by one)."""
        for seq, raw in batch:
            self.save_outbound(seq, raw)

    @abstractmethod
    def set_next_target(self, seq: int) -> None:
        """The next expected incoming MsgSeqNum (may be written lazily, see the module docstring)."""

    @abstractmethod
    async def set_next_sender(self, seq: int) -> None:
        """Force the next outgoing MsgSeqNum (operator action, or a SequenceReset we send)."""

    @abstractmethod
    async def get_outbound(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """Stored application messages with ``begin <= seq <= end``, in order."""

    @abstractmethod
    async def reset(self, created_ns: int) -> None:
        """Both sequences back to 1 and the message log emptied (Logon with 141=Y, daily reset)."""


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def session_key(sender_comp_id: str, target_comp_id: str) -> str:
    """The name a session's files and rows are kept under."""
    return f"{_SAFE.sub('_', sender_comp_id)}-{_SAFE.sub('_', target_comp_id)}"


class FileSessionStore(SessionStore):
    """Files under ``<directory>/<sender>-<target>/``: ``seqnums``, ``messages``, ``created``.

    ``seqnums`` is one fixed-width record rewritten in place; ``messages`` is append-only
    (``<seq> <length>\\n<raw>\\n``) and indexed in memory on open.
    """

    immediate = True
    _RECORD = b"%020d %020d\n"

    def __init__(
        self, directory: Path, sender_comp_id: str, target_comp_id: str, fsync: bool = False
    ) -> None:
        self._dir = Path(directory) / session_key(sender_comp_id, target_comp_id)
        self._fsync = fsync
        self._seq_fd = -1
        self._msg_fd = -1
        self._msg_size = 0
        self._index: dict[int, tuple[int, int]] = {}
        self._next_sender = 1
        self._next_target = 1
        self._lock: ProcessLock | None = None

    @property
    def directory(self) -> Path:
        """Where this session's files are."""
        return self._dir

    async def open(self) -> StoredSequence:
        try:
            # One process per session identity: two writing these files would overwrite each other's
            # sequence numbers, and the next logon would be refused for one too low.
            self._lock = ProcessLock.acquire(self._dir, f"FIX store {self._dir}")
        except FolderLockError as exc:
            raise FixStoreError(str(exc)) from None
        try:
            created_path = self._dir / "created"
            if not created_path.exists():
                created_path.write_text(str(time.time_ns()))
            created_ns = int(created_path.read_text().strip())
            self._seq_fd = os.open(self._dir / "seqnums", os.O_RDWR | os.O_CREAT, 0o600)
            record = os.pread(self._seq_fd, 42, 0)
            if record:
                sender, target = record.split()
                self._next_sender, self._next_target = int(sender), int(target)
            else:
                self._write_seqnums()
            self._msg_fd = os.open(self._dir / "messages", os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            self._load_index()
        except (OSError, ValueError) as exc:
            await self.close()  # the files opened so far, and the lock
            raise FixStoreError(f"FIX store {self._dir}: cannot open: {exc}") from exc
        return StoredSequence(self._next_sender, self._next_target, created_ns)

    def _load_index(self) -> None:
        data = os.pread(self._msg_fd, os.fstat(self._msg_fd).st_size, 0)
        pos = 0
        self._index.clear()
        while pos < len(data):
            line_end = data.find(b"\n", pos)
            if line_end < 0:
                break  # a torn last record (killed mid-write): it was never sent, drop it
            seq_text, length_text = data[pos:line_end].split()
            start = line_end + 1
            length = int(length_text)
            if start + length + 1 > len(data):
                break
            self._index[int(seq_text)] = (start, length)
            pos = start + length + 1
        self._msg_size = pos
        if pos < len(data):
            os.ftruncate(self._msg_fd, pos)

    async def close(self) -> None:
        for fd in (self._seq_fd, self._msg_fd):
            if fd >= 0:
                os.close(fd)
        self._seq_fd = self._msg_fd = -1
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _write_seqnums(self) -> None:
        os.pwrite(self._seq_fd, self._RECORD % (self._next_sender, self._next_target), 0)
        if self._fsync:
            os.fsync(self._seq_fd)

    def save_outbound(self, seq: int, raw: bytes | None) -> None:
        if raw is not None:
            header = b"%d %d\n" % (seq, len(raw))
            os.write(self._msg_fd, header + raw + b"\n")
            self._index[seq] = (self._msg_size + len(header), len(raw))
            self._msg_size += len(header) + len(raw) + 1
            if self._fsync:
                os.fsync(self._msg_fd)
        self._next_sender = seq + 1
        self._write_seqnums()

    def set_next_target(self, seq: int) -> None:
        self._next_target = seq
        self._write_seqnums()

    async def set_next_sender(self, seq: int) -> None:
        self._next_sender = seq
        self._write_seqnums()

    async def get_outbound(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        return [
            (seq, os.pread(self._msg_fd, length, offset))
            for seq, (offset, length) in sorted(self._index.items())
            if begin <= seq <= end
        ]

    async def reset(self, created_ns: int) -> None:
        os.ftruncate(self._msg_fd, 0)
        self._index.clear()
        self._msg_size = 0
        self._next_sender = self._next_target = 1
        self._write_seqnums()
        (self._dir / "created").write_text(str(created_ns))


_SCHEMA = """
create table if not exists fix_session_state (
    session_id text primary key,
    next_sender_seq bigint not null,
    next_target_seq bigint not null,
    created_ns bigint not null
);
create table if not exists fix_session_messages (
    session_id text not null,
    seq bigint not null,
    raw bytea not null,
    primary key (session_id, seq)
);
"""


# NULL when the lock was taken; else the backend pid holding it.
_TRY_LOCK = """
select case when pg_try_advisory_lock(hashtext($1)) then null else (
    select pid from pg_locks where locktype = 'advisory' and granted
    and objid = hashtext($1)::oid limit 1) end
"""


class PostgresSessionStore(SessionStore):
    """Rows in ``fix_session_state`` and ``fix_session_messages`` (created on first use).

    One asyncpg connection per session; the expected incoming sequence is written by a background
    task that coalesces increments (only the latest value matters).
    """

    immediate = False

    def __init__(self, dsn: str, sender_comp_id: str, target_comp_id: str) -> None:
        self._dsn = dsn
        self._id = session_key(sender_comp_id, target_comp_id)
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._target_pending: int | None = None
        self._target_wake = asyncio.Event()
        self._target_task: asyncio.Task[None] | None = None

    async def open(self) -> StoredSequence:
        from macrofund.storage.pool import StorageError, connect

        try:
            conn = await connect(self._dsn)
        except StorageError as exc:
            raise FixStoreError(f"FIX store for {self._id}: {exc}") from exc
        # One process per session identity (see ``FileSessionStore.open``): a session-level advisory
        # lock, held by this connection and dropped by PostgreSQL when it closes or its process dies.
        holder = await conn.fetchval(_TRY_LOCK, f"macrofund-fix:{self._id}")
        if holder is not None:
            await conn.close()
            raise FixStoreError(
                f"FIX store for {self._id} in PostgreSQL is in use by another process (PostgreSQL backend "
                f"pid {holder}); stop that process first: only one may use it at a time"
            )
        self._conn = conn
        await conn.execute(_SCHEMA)
        row = await conn.fetchrow(
            "insert into fix_session_state values ($1, 1, 1, $2) on conflict (session_id) do update"
            " set session_id = excluded.session_id returning next_sender_seq, next_target_seq, created_ns",
            self._id,
            time.time_ns(),
        )
        self._target_task = asyncio.get_running_loop().create_task(self._write_target_forever())
        return StoredSequence(int(row[0]), int(row[1]), int(row[2]))

    @property
    def _c(self) -> asyncpg.Connection:
        if self._conn is None:
            raise FixStoreError(f"FIX store for {self._id} is not open")
        return self._conn

    async def close(self) -> None:
        if self._target_task is not None:
            self._target_task.cancel()
            self._target_task = None
        await self._flush_target()
        if self._conn is not None:
            await self._c.close()
            self._conn = None

    async def persist_outbound(self, batch: list[tuple[int, bytes | None]]) -> None:
        rows = [(self._id, seq, raw) for seq, raw in batch if raw is not None]
        async with self._lock, self._c.transaction():
            if rows:
                await self._c.executemany(
                    "insert into fix_session_messages values ($1, $2, $3)"
                    " on conflict (session_id, seq) do update set raw = excluded.raw",
                    rows,
                )
            await self._c.execute(
                "update fix_session_state set next_sender_seq = $2 where session_id = $1",
                self._id,
                batch[-1][0] + 1,
            )

    def set_next_target(self, seq: int) -> None:
        self._target_pending = seq
        self._target_wake.set()

    async def _write_target_forever(self) -> None:
        while True:
            await self._target_wake.wait()
            self._target_wake.clear()
            await self._flush_target()

    async def _flush_target(self) -> None:
        if self._target_pending is None or self._conn is None:
            return
        seq, self._target_pending = self._target_pending, None
        async with self._lock:
            await self._c.execute(
                "update fix_session_state set next_target_seq = $2 where session_id = $1", self._id, seq
            )

    async def set_next_sender(self, seq: int) -> None:
        async with self._lock:
            await self._c.execute(
                "update fix_session_state set next_sender_seq = $2 where session_id = $1", self._id, seq
            )

    async def get_outbound(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        async with self._lock:
            rows = await self._c.fetch(
                "select seq, raw from fix_session_messages where session_id = $1 and seq between $2 and $3"
                " order by seq",
                self._id,
                begin,
                end,
            )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def reset(self, created_ns: int) -> None:
        self._target_pending = None
        async with self._lock, self._c.transaction():
            await self._c.execute("delete from fix_session_messages where session_id = $1", self._id)
            await self._c.execute(
                "update fix_session_state set next_sender_seq = 1, next_target_seq = 1, created_ns = $2"
                " where session_id = $1",
                self._id,
                created_ns,
            )
