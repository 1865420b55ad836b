"""Ctrl-C and SIGTERM during a backtest: stop between two data points and keep what ran.

Python's default (``KeyboardInterrupt`` raised wherever the main thread happens to be) can cut one of
our components in the middle of a step: measured, an interrupt that landed in the audit hand-over lost
the record being queued, the sealer's count no longer matched and the run ended with exit 2 and no
outputs at all. SIGTERM's default killed the process on the spot. So the first signal only records the
request; the engine's next equity sample (the run recorder's timer, every ``[run] equity_interval`` of
simulated time, between two data points) raises ``StopRequested``, which ends the run the way an
exception escaping a strategy's handler does: the engine is ended and every output written, for the
period up to there. A second signal abandons at once (``KeyboardInterrupt``: no outputs promised), for
an operator who really means it.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(Exception):
    """Raised between two data points once a stop signal arrived."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(f"{signal_name} received")
        self.signal_name = signal_name


class SignalStop:
    """Records the first stop signal; ``check`` turns it into ``StopRequested`` at a safe point."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self, signum: int, frame: FrameType | None = None) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
            print(
                f"{self.signal_name}: stopping at the next equity sample (simulated time) and writing the "
                "outputs; press Ctrl-C again to abandon the run without them",
                file=sys.stderr,
                flush=True,
            )
            return
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise ``StopRequested`` if a stop signal arrived (call only between two data points)."""
        if self.signal_name is not None:
            raise StopRequested(self.signal_name)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM while the engine runs (main thread only; a signal the process was
        started with ignored, as a shell does for background jobs, stays ignored)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, self)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
