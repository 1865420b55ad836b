"""The reference price stream orders match against: the seeded GBM simulator on each wire tick grid.

A local venue is always open, so sessions are ignored (no overnight gaps). The simulator starts at
the venue's start time from each instrument's current mid (the last one saved, after a restart), and
``advance(now_ns)`` hands back the quotes due since the previous call, at most ``max_quotes`` at a
time so a long pause never stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from macrofund.adapters.sim_feed.gbm import GbmParameters, PriceSimulator, SimInstrument, SimQuote

__all__ = ["GbmReference", "ReferenceInstrument", "ReferenceQuote"]

_DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class ReferenceInstrument:
    """One instrument of the stream: wire tick, where it starts, how it moves."""

    instrument_id: str
    tick: Decimal
    start_mid: Decimal
    volatility: float
    spread_ticks: int


@dataclass(frozen=True)
class ReferenceQuote:
    """A reference bid/ask (wire prices, on the tick grid)."""

    instrument_id: str
    ts_ns: int
    bid: Decimal
    ask: Decimal


class GbmReference:
    """``PriceSimulator`` quotes as ``ReferenceQuote``s (deterministic for a seed and a start time)."""

    def __init__(
        self,
        instruments: Sequence[ReferenceInstrument],
        seed: int,
        quotes_per_second: float,
        start_ns: int,
        max_quotes: int = 10_000,
    ) -> None:
        self._instruments = tuple(instruments)
        self._max_quotes = max_quotes
        self._simulator = PriceSimulator(
            [
                SimInstrument(
                    instrument_id=inst.instrument_id,
                    tick_size=inst.tick,
                    start_price=inst.start_mid,
                    volatility=inst.volatility,
                    spread_ticks=inst.spread_ticks,
                    session=None,
                    day_seconds=_DAY_SECONDS,
                )
                for inst in self._instruments
            ],
            GbmParameters(seed=seed, rate=quotes_per_second, ignore_sessions=True),
            start_ns,
        )

    def advance(self, now_ns: int) -> list[ReferenceQuote]:
        """Quotes with ``ts_ns <= now_ns`` not returned before (oldest first)."""
        out: list[ReferenceQuote] = []
        for event in self._simulator.advance(now_ns, limit=self._max_quotes):
            if isinstance(event, SimQuote):
                inst = self._instruments[event.instrument]
                out.append(
                    ReferenceQuote(
                        inst.instrument_id,
                        event.ts_ns,
                        inst.tick * event.bid_ticks,
                        inst.tick * event.ask_ticks,
                    )
                )
        return out
