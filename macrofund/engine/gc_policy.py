"""Keep CPython's full garbage collections short: freeze what the run holds when it starts.

A live node holds ~150k Python objects once NautilusTrader, pandas, pyarrow, asyncpg and the run's
own components are imported and built. CPython's generation-2 collection walks every one of them, and
it runs every few thousand surviving allocations: in ``bench live_fix`` four of them during the order
phases took 61-79 ms each and found 0-20 objects to free. For those tens of milliseconds the engine's
thread reads no execution report and no market data. What is alive when the run starts (modules,
classes, the kernel) mostly lives as long as the process, so ``gc.freeze`` moves it out of the
collector's walk (CPython's documented use of it). What the run creates afterwards is still collected
as before, and a frozen object that loses its last reference is still freed at once (only the cycle
collector skips it).

It happens when the trader starts (``TraderStartFreeze``, the first actor added): after the kernel was
built and, in a live node, after the venue clients connected; before any strategy starts. Installed the
same way in every mode. Measured in ``bench live_fix``: the one full collection of the freeze took
~40 ms before the first order; the full collections during the order phases then took 15-27 ms instead
of 61-79 ms (what the run itself creates, 6,100 orders and their events in the cache, is still walked).
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig

if TYPE_CHECKING:
    from macrofund.engine.components import KernelHandle


def freeze_startup_objects() -> int:
    """Collect once, then exempt every surviving object from later collections; returns how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class TraderStartFreeze(Actor):
    """Freezes what exists when the trader starts (actors start before strategies, in the order added)."""

    def __init__(self) -> None:
        super().__init__(ActorConfig(component_id="MacrofundGcFreeze"))

    def on_start(self) -> None:
        freeze_startup_objects()


def install(handle: KernelHandle) -> None:
    """Add the freeze actor; no run component (nothing to flush, write or summarise)."""
    handle.add_actor(TraderStartFreeze())
