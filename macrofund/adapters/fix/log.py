"""The raw message log: every byte in and out of a session, one file per session per UTC day.

Line format: ``<UTC ISO time with µs> <IN|OUT|SKIP> <message with SOH shown as |>``. Password fields
(554 Password, 925 NewPassword) are masked as ``***`` before anything is written: credentials never reach
a file. Writes go to a buffered file flushed per line (one ``write`` syscall: cheap enough on the loop).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from macrofund.adapters.fix.store import session_key

_SECRET = re.compile(rb"(?:(?<=\x01)|^)(554|925)=[^\x01]*")


def mask_secrets(raw: bytes) -> bytes:
    """``raw`` with the values of Password (554) and NewPassword (925) replaced by ``***``."""
    return _SECRET.sub(rb"\1=***", raw)


class RawMessageLog:
    """Appends raw messages to ``<directory>/<sender>-<target>/<YYYYMMDD>.log``."""

    def __init__(self, directory: Path, sender_comp_id: str, target_comp_id: str) -> None:
        self._dir = Path(directory) / session_key(sender_comp_id, target_comp_id)
        self._day = ""
        self._file: TextIO | None = None

    def path_for(self, day: str) -> Path:
        """The file of UTC day ``YYYYMMDD``."""
        return self._dir / f"{day}.log"

    def write(self, direction: str, raw: bytes, now_ns: int) -> None:
        """Record ``raw`` (``direction`` is ``IN``, ``OUT`` or ``SKIP`` for dropped bytes)."""
        moment = datetime.fromtimestamp(now_ns // 1_000_000_000, tz=UTC).replace(
            microsecond=(now_ns // 1000) % 1_000_000
        )
        day = moment.strftime("%Y%m%d")
        if day != self._day or self._file is None:
            self.close()
            self._dir.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path_for(day), "a", encoding="utf-8")  # noqa: SIM115 - kept open
            self._day = day
        text = mask_secrets(raw).replace(b"\x01", b"|").decode("utf-8", errors="replace").replace("\n", "\\n")
        self._file.write(f"{moment.isoformat().replace('+00:00', 'Z')} {direction} {text}\n")
        self._file.flush()

    def close(self) -> None:
        """Close the current day's file."""
        if self._file is not None:
            self._file.close()
            self._file = None
