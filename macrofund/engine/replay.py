"""Record what a paper node's strategies consumed, in files a backtest replays to the same order intents.

``SettledMarketData`` sits on the ``DataEngine.process`` endpoint of a ``TradingNode``. It hands the
data engine one datum at a time and waits until everything that datum caused has settled (the live
data, risk and execution engines' queues are empty) before handing over the next. That is the backtest's
semantics: a strategy's order reaches the simulated venue and its fill is applied before the next
market datum is seen. Without it, a burst of data from the feed reaches a strategy while its order is
still queued in the risk or execution engine, the strategy decides on a stale position, and the paper
session's order intents drift from a replay of the very same data.

Each datum is recorded *after* the data engine processed it, so a recording never contains data the
strategies did not see (a datum in flight when the node stops is left out). Recordings are Parquet
files in the ``[[data]]`` formats of ``docs/data-formats.md`` plus ``recording.json``, which lists them
as ready-to-paste ``[[data]]`` entries.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from nautilus_trader.model.data import Bar, QuoteTick
from nautilus_trader.model.instruments import Instrument

from macrofund.adapters.feed import DATA_BATCH_ENDPOINT
from macrofund.reports.outputs import write_json

RECORDING_DIR = "market_data"


@dataclass
class FeedStats:
    """Feed rate and lag as the strategies experienced them (for the console view)."""

    received: int = 0
    delivered: int = 0
    last_lag_ns: int = 0
    max_lag_ns: int = 0
    # The previous rate() sample (when, delivered then): a count per sample rather than a timestamp per
    # datum, which cost every datum a deque append and capped the rate shown at the deque's length.
    _sampled_ns: int = field(default_factory=time.time_ns)
    _sampled_delivered: int = 0

    def rate(self, now_ns: int) -> float:
        """Data delivered per second since the previous call (the console asks once a second)."""
        elapsed = now_ns - self._sampled_ns
        delivered = self.delivered - self._sampled_delivered
        self._sampled_ns, self._sampled_delivered = now_ns, self.delivered
        return delivered * 1_000_000_000 / elapsed if elapsed > 0 else 0.0


class MarketDataRecorder:
    """Columns of the quotes and bars a node consumed, written as backtest-readable Parquet files.

    Timestamps are the data's ``ts_init`` (what the paper venue's clock follows), raised by 1 ns where
    needed so that they are strictly increasing across all files: the backtest merges its data sources
    by timestamp, and equal stamps in two files could otherwise be replayed in another order.
    """

    def __init__(self) -> None:
        self._quotes: dict[str, dict[str, list[Any]]] = {}
        self._bars: dict[str, dict[str, list[Any]]] = {}
        self._last_ts = 0
        self.skipped: dict[str, int] = {}

    def __len__(self) -> int:
        return sum(len(c["timestamp"]) for c in [*self._quotes.values(), *self._bars.values()])

    def add(self, datum: object) -> None:
        """Record one consumed datum (quotes and bars; other types are counted in ``skipped``)."""
        if isinstance(datum, QuoteTick):
            cols = self._quotes.setdefault(
                datum.instrument_id.value,
                {"timestamp": [], "bid": [], "ask": [], "bid_size": [], "ask_size": []},
            )
            cols["timestamp"].append(self._stamp(datum.ts_init))
            cols["bid"].append(str(datum.bid_price))
            cols["ask"].append(str(datum.ask_price))
            cols["bid_size"].append(str(datum.bid_size))
            cols["ask_size"].append(str(datum.ask_size))
        elif isinstance(datum, Bar):
            cols = self._bars.setdefault(
                str(datum.bar_type),
                {"timestamp": [], "open": [], "high": [], "low": [], "close": [], "volume": []},
            )
            cols["timestamp"].append(self._stamp(datum.ts_init))
            cols["open"].append(str(datum.open))
            cols["high"].append(str(datum.high))
            cols["low"].append(str(datum.low))
            cols["close"].append(str(datum.close))
            cols["volume"].append(str(datum.volume))
        else:
            name = type(datum).__name__
            self.skipped[name] = self.skipped.get(name, 0) + 1

    def _stamp(self, ts: int) -> int:
        ts = max(ts, self._last_ts + 1)
        self._last_ts = ts
        return ts

    def write(self, out_dir: Path) -> dict[str, Path]:
        """Write one file per instrument (quotes) and bar type (bars), and ``recording.json``."""
        folder = out_dir / RECORDING_DIR
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, Path] = {}
        entries: list[dict[str, str]] = []
        for instrument_id, cols in self._quotes.items():
            path = pq_write(cols, folder / f"{instrument_id}.quotes.parquet")
            files[f"quotes:{instrument_id}"] = path
            entries.append({"kind": "quotes", "path": str(path), "instrument_id": instrument_id})
        for bar_type, cols in self._bars.items():
            path = pq_write(cols, folder / f"{bar_type}.bars.parquet")
            files[f"bars:{bar_type}"] = path
            instrument_id, spec = _split_bar_type(bar_type)
            entries.append(
                {"kind": "bars", "path": str(path), "instrument_id": instrument_id, "bar_spec": spec}
            )
        manifest = {"data": entries, "records": len(self), "skipped_types": self.skipped}
        files["recording"] = write_json(manifest, folder / "recording.json")
        return files


def _split_bar_type(bar_type: str) -> tuple[str, str]:
    """``6EH4.CME-1-SECOND-LAST-EXTERNAL`` → (``6EH4.CME``, ``1-SECOND-LAST``)."""
    parts = bar_type.split("-")
    return "-".join(parts[:-4]), "-".join(parts[-4:-1])


def pq_write(cols: dict[str, list[Any]], path: Path) -> Path:
    """Prices and sizes as exact decimal text (the loader parses text exactly), timestamps as int64 ns."""
    arrays = {
        name: pa.array(values, type=pa.int64() if name == "timestamp" else pa.string())
        for name, values in cols.items()
    }
    pq.write_table(pa.table(arrays), path)
    return path


Backlog = Callable[[], bool]
_time_ns = time.time_ns


def process_now(data_engine: Any) -> Callable[[Any], None]:
    """The data engine's synchronous ``process``: the datum has reached the strategies when it returns.

    A live node's ``DataEngine.process`` (``LiveDataEngine.process``) schedules each datum onto its
    queue with ``loop.call_soon_threadsafe`` and handles it a loop iteration or two later. Our data
    clients deliver on the loop thread (where Nautilus documents ``process`` must be called) and
    ``SettledMarketData`` hands over one datum at a time anyway, so the hop buys nothing: a quote that
    triggers nothing settles without a single loop iteration. What a datum triggers (a bar, an order)
    still goes through the engines' queues and is waited for. ``DataEngine.process`` called unbound
    runs the base (Cython) implementation, not the live override.
    """
    from nautilus_trader.data.engine import DataEngine

    base_process = DataEngine.process

    def process(datum: Any) -> None:
        base_process(data_engine, datum)

    return process


class SettledMarketData:
    """The node's ``DataEngine.process`` endpoint: one datum at a time, each settled before the next.

    ``backlog`` says whether the node's engines still hold messages; ``forward`` hands a datum to the
    data engine (``process_now``). Construct, then ``install(msgbus, registered)`` right after the node is
    built, ``registered`` being the handler the kernel put on the endpoint.
    """

    ENDPOINT = "DataEngine.process"

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        forward: Callable[[Any], None],
        backlog: Backlog,
        recorder: MarketDataRecorder | None,
    ) -> None:
        self._loop = loop
        self._forward = forward
        self._backlog = backlog
        self._recorder = recorder
        self._waiting: deque[Any] = deque()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.stats = FeedStats()
        # DataBatch.settled of each batch not yet fully delivered: (received count at its end, its length, it)
        self._settles: deque[tuple[int, int, Callable[[int], None]]] = deque()
        self.on_delivered: Callable[[Any], None] | None = None
        # Called once with the exception a datum's delivery raised (a strategy handler's, say); delivery
        # has stopped by then. None: the exception propagates out of the draining task.
        self.on_error: Callable[[Exception], None] | None = None
        # Until the strategies run (and have subscribed), market data waits here: handed over earlier it
        # would be recorded although no strategy saw it, and a replay would trade on it.
        self.ready: Callable[[], bool] = lambda: True

    def install(self, msgbus: Any, registered: Callable[[Any], None]) -> None:
        """Take over ``DataEngine.process`` from ``registered``, the handler the kernel put there
        (``register`` raises if the endpoint exists, so deregister it first)."""
        msgbus.deregister(self.ENDPOINT, registered)
        msgbus.register(self.ENDPOINT, self.process)
        msgbus.register(DATA_BATCH_ENDPOINT, self.process_batch)

    def process(self, datum: Any) -> None:
        """Accept a datum from a data client (event-loop thread); delivered in arrival order."""
        if self._closed:
            return
        if isinstance(datum, Instrument):  # definitions, not market data: needed before anything runs
            self._forward(datum)
            return
        self.stats.received += 1
        self._waiting.append(datum)
        self._start_draining()

    def process_batch(self, data: list[Any]) -> None:
        """Accept a data client's batch of market data (no instruments), delivered in order like
        ``process`` would deliver each datum; a ``DataBatch``'s ``settled`` is called after its last."""
        if self._closed:
            return
        stats = self.stats
        stats.received += len(data)
        settled = getattr(data, "settled", None)
        if settled is not None and data:
            # Every datum received is delivered in arrival order, so the batch's last one is delivered
            # when the delivered count reaches the received count as of now.
            self._settles.append((stats.received, len(data), settled))
        self._waiting.extend(data)
        self._start_draining()

    def _start_draining(self) -> None:
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._drain(), name="macrofund-settled-data")

    async def _drain(self) -> None:
        # Each engine queue is drained by its own task; yielding lets them run until nothing is left.
        # Inlined rather than a coroutine per wait: this loop runs once per datum.
        waiting, backlog, forward, sleep = self._waiting, self._backlog, self._forward, asyncio.sleep
        while not self.ready() and not self._closed:
            await sleep(0.01)
        # What was in flight before this task started settles first; after that the engines are idle
        # whenever a datum is handed over, since the loop below only moves on once they are.
        while backlog():
            await sleep(0)
        while waiting and not self._closed:
            datum = waiting.popleft()
            try:
                forward(datum)
            except Exception as exc:
                # Stop here, as Nautilus's live data engine stops the node. The datum counts as seen
                # (it reached the strategies): a recording replays the failure, a Kafka restart goes on
                # after it instead of feeding it to the same bug again.
                self._closed = True
                self._delivered(datum)
                if self.on_error is None:
                    raise
                self.on_error(exc)
                return
            # Recorded even when close() was called meanwhile: the strategies are seeing this datum.
            while backlog():
                await sleep(0)
            self._delivered(datum)
            if self.on_delivered is not None:  # a hook may have caused work of its own: let it settle
                while backlog():
                    await sleep(0)

    def _delivered(self, datum: Any) -> None:
        # Once per datum: market data (quotes, trades, bars; no instruments) always has an int ts_event.
        stats = self.stats
        stats.delivered += 1
        now = _time_ns()
        ts_event = datum.ts_event
        if ts_event > 0:
            lag = now - ts_event if now > ts_event else 0
            stats.last_lag_ns = lag
            if lag > stats.max_lag_ns:
                stats.max_lag_ns = lag
        if self._recorder is not None:
            self._recorder.add(datum)
        on_delivered = self.on_delivered
        if on_delivered is not None:
            on_delivered(datum)
        settles = self._settles
        if settles and stats.delivered >= settles[0][0]:
            _, length, settled = settles.popleft()
            settled(length)

    async def close(self) -> None:
        """Stop delivering; wait for the datum in flight to settle (and be recorded) so nothing is lost;
        tell a batch cut short how much of it the strategies saw."""
        self._closed = True
        task = self._task
        if task is not None and not task.done():
            await task
        self._waiting.clear()
        delivered = self.stats.delivered
        while self._settles:
            end, length, settled = self._settles.popleft()
            if delivered > end - length:  # started (a finished one was settled at its last datum)
                settled(delivered - (end - length))


# -- the replay config --------------------------------------------------------------------------------

REPLAY_CONFIG = "replay.toml"


def replay_config(
    paper_config: dict[str, Any], recording: list[dict[str, str]], base_dir: Path | None
) -> dict[str, Any]:
    """The backtest twin of a paper run: same venues, instruments, strategies and risk, recorded data.

    Database URLs are dropped (a replay is a file-based backtest unless asked otherwise) and relative
    strategy files are made absolute, since the replay config lives in the run folder.
    """
    raw = {k: v for k, v in paper_config.items() if k != "source"}
    run = {k: v for k, v in raw.get("run", {}).items() if k not in ("run_id", "start", "end")}
    run["mode"] = "backtest"
    raw["run"] = run
    raw["data"] = recording
    for section in ("storage", "audit"):
        if isinstance(raw.get(section), dict):
            raw[section] = {k: v for k, v in raw[section].items() if k != "database_url"}
    strategies = []
    for entry in raw.get("strategies", []):
        entry = dict(entry)
        module, _, name = str(entry["path"]).rpartition(":")
        if (module.endswith(".py") or "/" in module) and not Path(module).is_absolute() and base_dir:
            entry["path"] = f"{(base_dir / module).resolve()}:{name}"
        strategies.append(entry)
    raw["strategies"] = strategies
    return raw


def write_replay_config(
    paper_config: dict[str, Any], recording: list[dict[str, str]], base_dir: Path | None, out_dir: Path
) -> Path:
    """Write ``replay.toml`` into the run folder: ``macrofund run --config <it>`` replays the session."""
    header = (
        "# Backtest of the market data this paper session consumed (written by macrofund).\n"
        f"#   macrofund run --config {out_dir / REPLAY_CONFIG}\n"
    )
    path = out_dir / REPLAY_CONFIG
    path.write_text(header + to_toml(replay_config(paper_config, recording, base_dir)), encoding="utf-8")
    return path


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for run configs (tables, arrays of tables, inline values); ``None`` is left out."""
    lines: list[str] = []
    for key, value in data.items():
        if not isinstance(value, dict | list) and value is not None:
            lines.append(f"{_key(key)} = {_inline(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"\n[{_key(key)}]")
            lines.extend(f"{_key(k)} = {_inline(v)}" for k, v in value.items() if v is not None)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                lines.append(f"\n[[{_key(key)}]]")
                lines.extend(f"{_key(k)} = {_inline(v)}" for k, v in item.items() if v is not None)
        elif isinstance(value, list):
            lines.append(f"{_key(key)} = {_inline(value)}")
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _inline(value: Any) -> str:
    if isinstance(value, timedelta):
        ms = round(value.total_seconds() * 1000)
        return json.dumps(f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms")
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value if v is not None) + "]"
    return json.dumps(str(value))
