"""The simulator's pure core: seeded GBM quotes (and trades) on each instrument's tick grid, in its sessions.

No Nautilus clock and no Nautilus objects in here: time is whatever ``advance(until_ns)`` is told, prices are
integer tick counts. That keeps the core deterministic (same seed + same start = same events), testable
over weeks of simulated time in a second, and reusable by ``macrofund simulate-prices`` (Kafka) and by the
in-process ``SimFeedDataClient`` alike.

Time model: events sit on one global grid of ``1 / rate`` seconds, handed round-robin to the instruments,
so each instrument gets ``rate / n`` quotes per second. A slot whose instrument is outside its session is
skipped; when every instrument is closed the grid jumps to the next open. Each quote advances its
instrument's latent log price by one step of ``n / rate`` seconds of *trading time* (closed hours carry no
variance: the simulator has no overnight gaps), scaled by the intraday seasonality, plus Merton jumps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from macrofund.venues.sessions import TradingSession

_NS = 1_000_000_000
_TRADING_DAYS_PER_YEAR = 252
_BLOCK = 4096  # random draws are made in blocks: one numpy call per 4096 quotes, not one per quote


@dataclass(frozen=True)
class SimInstrument:
    """One simulated contract: its grid, its session and its GBM parameters.

    ``session`` is ``None`` to quote around the clock. ``day_seconds`` is the length of one trading day in
    trading time (the session window), the unit in which ``volatility`` (annualised, 252 days) accrues.
    """

    instrument_id: str
    tick_size: Decimal
    start_price: Decimal
    volatility: float
    spread_ticks: int
    session: TradingSession | None
    day_seconds: float

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.start_price <= 0:
            raise ValueError(f"{self.instrument_id}: tick size and start price must be positive")
        if self.spread_ticks < 1 or self.day_seconds <= 0 or self.volatility < 0:
            raise ValueError(f"{self.instrument_id}: spread, day length and volatility out of range")


@dataclass(frozen=True)
class GbmParameters:
    """Process parameters shared by every instrument (see ``SimFeedSettings`` for their meaning)."""

    seed: int = 42
    rate: float = 20.0
    drift: float = 0.0
    max_size: int = 50
    jumps_per_day: float = 0.0
    jump_mean: float = 0.0
    jump_std: float = 0.01
    seasonality: float = 0.0
    trade_probability: float = 0.0
    ignore_sessions: bool = False

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate must be a positive number of quotes per second, got {self.rate}")
        if not 0 <= self.seasonality < 2:
            raise ValueError("seasonality must be in [0, 2)")


class SimQuote(NamedTuple):
    """A top-of-book quote: prices in ticks of the instrument (``bid_ticks * tick_size``), sizes in lots."""

    instrument: int  # position in the simulator's instruments
    ts_ns: int
    bid_ticks: int
    ask_ticks: int
    bid_size: int
    ask_size: int


class SimTrade(NamedTuple):
    """A trade printed at the bid (seller aggressor) or at the ask (buyer aggressor) of the last quote."""

    instrument: int
    ts_ns: int
    price_ticks: int
    size: int
    buyer_aggressor: bool


SimEvent = SimQuote | SimTrade


class _Path:
    """One instrument's latent log price (in ticks) and its block of pre-drawn random numbers."""

    __slots__ = ("_normals", "_rng", "_sizes", "_uniforms", "_used", "log_ticks")

    def __init__(self, rng: np.random.Generator, log_ticks: float) -> None:
        self._rng = rng
        self.log_ticks = log_ticks
        self._used = _BLOCK
        self._normals: list[float] = []
        self._uniforms: list[float] = []
        self._sizes: list[int] = []

    def draw(self, max_size: int) -> tuple[float, float, float, int, int, float, int]:
        """(normal, uniform jump, jump normal, bid size, ask size, trade uniform, trade size)."""
        if self._used >= _BLOCK:
            self._normals = self._rng.standard_normal(_BLOCK * 2).tolist()
            self._uniforms = self._rng.random(_BLOCK * 2).tolist()
            self._sizes = self._rng.integers(1, max_size + 1, _BLOCK * 3).tolist()
            self._used = 0
        k = self._used
        self._used = k + 1
        return (
            self._normals[2 * k],
            self._uniforms[2 * k],
            self._normals[2 * k + 1],
            self._sizes[3 * k],
            self._sizes[3 * k + 1],
            self._uniforms[2 * k + 1],
            self._sizes[3 * k + 2],
        )


class PriceSimulator:
    """Seeded, deterministic GBM quote generator over simulated (or wall) time.

    ``advance(until_ns)`` returns every event with ``ts_ns <= until_ns`` not returned before, in time
    order. Two simulators with the same instruments, parameters and ``start_ns`` return the same events.
    """

    def __init__(self, instruments: Sequence[SimInstrument], params: GbmParameters, start_ns: int) -> None:
        if not instruments:
            raise ValueError("the simulator needs at least one instrument")
        self.instruments = tuple(instruments)
        self.params = params
        self._n = len(self.instruments)
        self._interval_ns = max(1, round(_NS / params.rate))
        self._start_ns = start_ns
        self._step = 0
        self._skipped = 0
        seeds = np.random.SeedSequence(params.seed).spawn(self._n)
        self._paths = [
            _Path(np.random.default_rng(seed), math.log(float(inst.start_price / inst.tick_size)))
            for seed, inst in zip(seeds, self.instruments, strict=True)
        ]
        # Per-instrument constants of one step (dt in years of trading time).
        step_seconds = self._n / params.rate
        self._dt = [step_seconds / (_TRADING_DAYS_PER_YEAR * inst.day_seconds) for inst in self.instruments]
        self._jump_p = [params.jumps_per_day * step_seconds / inst.day_seconds for inst in self.instruments]
        self.quotes_emitted = 0
        self.trades_emitted = 0

    @property
    def next_ts_ns(self) -> int:
        """Grid time of the next slot (an event is emitted there only if its instrument trades)."""
        return self._start_ns + self._step * self._interval_ns

    def advance(self, until_ns: int, limit: int | None = None) -> list[SimEvent]:
        """Events up to ``until_ns`` inclusive (at most ``limit`` quotes, to bound one call's work)."""
        out: list[SimEvent] = []
        params = self.params
        n = self._n
        quotes = 0
        while True:
            ts = self._start_ns + self._step * self._interval_ns
            if ts > until_ns or (limit is not None and quotes >= limit):
                break
            index = self._step % n
            inst = self.instruments[index]
            session = None if params.ignore_sessions else inst.session
            if session is not None and not session.is_open(ts):
                self._step += 1
                self._skipped += 1
                if self._skipped >= n:  # a whole round closed: jump to the earliest next open
                    self._jump_to_next_open(ts)
                continue
            self._skipped = 0
            self._step += 1
            quote, trade = self._tick(index, inst, session, ts)
            out.append(quote)
            quotes += 1
            if trade is not None:
                out.append(trade)
        self.quotes_emitted += quotes
        self.trades_emitted += len(out) - quotes
        return out

    def _jump_to_next_open(self, ts: int) -> None:
        self._skipped = 0
        opens = [inst.session.next_open(ts) for inst in self.instruments if inst.session is not None]
        target = min(opens) if opens else ts
        steps = -(-(target - self._start_ns) // self._interval_ns)  # ceil: first grid slot at/after open
        # Land on a slot of the instrument that opens first so it is not skipped for a round.
        first = min(
            range(self._n),
            key=lambda i: s.next_open(ts) if (s := self.instruments[i].session) is not None else ts,
        )
        steps += (first - steps) % self._n
        self._step = max(self._step, steps)

    def _variance_weight(self, inst: SimInstrument, session: TradingSession | None, ts: int) -> float:
        a = self.params.seasonality
        if a == 0.0 or session is None or not session.is_open(ts):
            return 1.0
        elapsed = 1.0 - (session.next_close(ts) - ts) / (inst.day_seconds * _NS)
        f = min(1.0, max(0.0, elapsed))
        u = 2.0 * f - 1.0
        return 1.0 + a * (3.0 * u * u - 1.0) / 2.0  # mean 1 over the day, U-shaped

    def _tick(
        self, index: int, inst: SimInstrument, session: TradingSession | None, ts: int
    ) -> tuple[SimQuote, SimTrade | None]:
        params = self.params
        path = self._paths[index]
        z, u_jump, z_jump, bid_size, ask_size, u_trade, trade_size = path.draw(params.max_size)
        dt = self._dt[index]
        var = inst.volatility * inst.volatility * self._variance_weight(inst, session, ts)
        step = (params.drift - 0.5 * var) * dt + math.sqrt(var * dt) * z
        if u_jump < self._jump_p[index]:
            step += params.jump_mean + params.jump_std * z_jump
        path.log_ticks += step
        mid_ticks = math.exp(path.log_ticks)
        bid = max(1, round(mid_ticks - inst.spread_ticks / 2))
        ask = bid + inst.spread_ticks
        quote = SimQuote(index, ts, bid, ask, bid_size, ask_size)
        trade = None
        if params.trade_probability > 0.0 and u_trade < params.trade_probability:
            buyer = u_trade < params.trade_probability / 2.0  # half the trades lift the ask, half hit the bid
            size = min(trade_size, ask_size if buyer else bid_size)
            trade = SimTrade(index, ts, ask if buyer else bid, size, buyer)
        return quote, trade
