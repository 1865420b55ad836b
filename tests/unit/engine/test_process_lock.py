"""One process per folder: a second holder is refused with the first one's pid, a dead holder is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from macrofund.errors import FolderLockError
from macrofund.process_lock import LOCK_NAME, ProcessLock

_HOLD = """
import sys, time
from pathlib import Path
from macrofund.process_lock import ProcessLock
lock = ProcessLock.acquire(Path(sys.argv[1]), "test folder")
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_holder_is_refused_until_the_first_releases(tmp_path: Path) -> None:
    first = ProcessLock.acquire(tmp_path / "run", "run r1")
    with pytest.raises(FolderLockError) as refused:
        ProcessLock.acquire(tmp_path / "run", "run r1")
    assert str(refused.value).startswith(f"run r1 is in use by another process (pid {os.getpid()}, lock ")
    first.release()
    first.release()  # idempotent
    again = ProcessLock.acquire(tmp_path / "run", "run r1")
    assert again.held
    again.release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    """The documented restart after a crash must not need anyone to delete a lock file."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderLockError, match=f"pid {holder.pid},"):
            ProcessLock.acquire(tmp_path, "test folder")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    assert (tmp_path / LOCK_NAME).exists()  # the file stays; the lock went with the process
    deadline = time.monotonic() + 5
    while True:
        try:
            lock = ProcessLock.acquire(tmp_path, "test folder")
            break
        except FolderLockError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
    lock.release()


def test_a_folder_that_cannot_be_created_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(FolderLockError, match="cannot create the lock file"):
        ProcessLock.acquire(tmp_path / "file" / "run", "run r2")
