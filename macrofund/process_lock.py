"""One process at a time per folder: a run's outputs, a FIX session's sequence store, a venue's state.

Two processes writing one run folder append two hash chains to one audit file and move each other's
outputs; two processes on one FIX sequence store overwrite each other's sequence numbers, and the next
logon is refused for a sequence number too low. The second process must refuse to start, and say who
holds the folder.

An exclusive ``flock`` on a file in the folder does that. The kernel releases it when the holding
process ends, however it ends (a SIGKILL included), so a crash never leaves a stale lock that an
operator has to delete by hand before the documented restart. The pid written into the file is only
for the error message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from macrofund.errors import FolderLockError

LOCK_NAME = ".lock"


class ProcessLock:
    """An exclusive lock on ``<folder>/.lock``, held by this process until ``release`` or its exit."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def acquire(cls, folder: Path, what: str) -> ProcessLock:
        """Lock ``folder`` (created if missing) or raise ``FolderLockError`` naming ``what`` and the holder.

        The lock belongs to the open file, not to the process: a second ``acquire`` of the same folder
        in this process is refused too, as it would be from another process."""
        path = folder / LOCK_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            why = exc.strerror or exc
            raise FolderLockError(f"{what}: cannot create the lock file {path}: {why}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise FolderLockError(
                f"{what} is in use by another process (pid {holder}, lock {path}); "
                "stop that process first: only one may use it at a time"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        """Give the folder back (closing the file drops the lock). Idempotent."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
