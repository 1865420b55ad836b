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
        self._day_number = -1  # days since the epoch of the open file
        self._date_prefix = ""  # "YYYY-MM-DDT" of that day
        self._file: TextIO | None = None

    def path_for(self, day: str) -> Path:
        """The file of UTC day ``YYYYMMDD``."""
        return self._dir / f"{day}.log"

    def write(self, direction: str, raw: bytes, now_ns: int) -> None:
        """Record ``raw`` (``direction`` is ``IN``, ``OUT`` or ``SKIP`` for dropped bytes).

        Runs for every message on the event loop, so the time of day is formatted by arithmetic (the
        same text ``datetime.isoformat`` gives) and the secret mask only runs when a secret tag is there.
        """
        seconds, nanos = divmod(now_ns, 1_000_000_000)
        day_number, second_of_day = divmod(seconds, 86_400)
        if day_number != self._day_number or self._file is None:
            self._open_day(day_number)
        hours, rest = divmod(second_of_day, 3600)
        minutes, secs = divmod(rest, 60)
        micros = nanos // 1000
        fraction = f".{micros:06d}" if micros else ""
        stamp = f"{self._date_prefix}{hours:02d}:{minutes:02d}:{secs:02d}{fraction}Z"
        if b"554=" in raw or b"925=" in raw:
            raw = mask_secrets(raw)
        text = raw.replace(b"\x01", b"|").decode("utf-8", errors="replace")
        if "\n" in text:
            text = text.replace("\n", "\\n")
        file = self._file
        assert file is not None
        file.write(f"{stamp} {direction} {text}\n")
        file.flush()

    def _open_day(self, day_number: int) -> None:
        self.close()
        midnight = datetime.fromtimestamp(day_number * 86_400, tz=UTC)
        day = midnight.strftime("%Y%m%d")
        self._dir.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path_for(day), "a", encoding="utf-8")  # noqa: SIM115 - kept open
        self._day = day
        self._day_number = day_number
        self._date_prefix = midnight.strftime("%Y-%m-%dT")

    def close(self) -> None:
        """Close the current day's file."""
        if self._file is not None:
            self._file.close()
            self._file = None
