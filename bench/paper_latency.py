"""Paper tick-to-order latency: simulator → strategy → paper venue (``python -m bench paper_latency``).

A probe strategy stamps ``perf_counter_ns`` when a quote reaches ``on_quote_tick`` and submits a market
order on every 4th quote (alternating sides, so the position stays small). It stamps again at the
order's ``OrderSubmitted`` and ``OrderFilled``: tick-to-order and tick-to-fill, measured inside the node,
through the live risk and execution engines and the sandbox venue. The baseline, in the same run, is
the bare handler cost: a stamp on entry and exit of ``on_quote_tick`` for quotes that trade nothing.
Target: tick-to-order p99 ≤ 1 ms.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled, OrderSubmitted
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 8
RATE = 1000
TARGET_P99_MS = 1.0

# Filled by the probe inside the node (the assembly builds the strategy; this module is its home).
SAMPLES: dict[str, list[int]] = {"handler": [], "to_submitted": [], "to_filled": []}


class LatencyProbeConfig(StrategyConfig, frozen=True):
    """The instrument to probe and how often to trade."""

    instrument_id: InstrumentId
    every: int = 4


class LatencyProbe(Strategy):
    """Submits a 1-lot market order on every ``every``-th quote and times its path to the fill."""

    def __init__(self, config: LatencyProbeConfig) -> None:
        super().__init__(config)
        self._every = config.every
        self._n = 0
        self._sent: dict[str, int] = {}
        self._side = OrderSide.BUY

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.config.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        t0 = time.perf_counter_ns()
        self._n += 1
        if self._n % self._every:
            SAMPLES["handler"].append(time.perf_counter_ns() - t0)
            return
        order = self.order_factory.market(self.config.instrument_id, self._side, self._qty())
        self._side = OrderSide.SELL if self._side == OrderSide.BUY else OrderSide.BUY
        self._sent[order.client_order_id.value] = t0
        self.submit_order(order)

    def _qty(self):  # type: ignore[no-untyped-def]
        return self.cache.instrument(self.config.instrument_id).make_qty(1)

    def on_order_submitted(self, event: OrderSubmitted) -> None:
        t0 = self._sent.get(event.client_order_id.value)
        if t0 is not None:
            SAMPLES["to_submitted"].append(time.perf_counter_ns() - t0)

    def on_order_filled(self, event: OrderFilled) -> None:
        t0 = self._sent.pop(event.client_order_id.value, None)
        if t0 is not None:
            SAMPLES["to_filled"].append(time.perf_counter_ns() - t0)


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6 if ordered else float("nan")


def main() -> int:
    from macrofund.config.run_config import load_run_config
    from macrofund.engine.assembly import run

    with tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "run.output_dir": tmp,
            "run.run_id": "latency",
            "feed.sim.rate": RATE,
            "feed.record": False,
            "audit.enabled": False,
        }
        strategy = [
            (
                "strategies",
                [
                    {
                        "path": "bench.paper_latency:LatencyProbe",
                        "config_class": "bench.paper_latency:LatencyProbeConfig",
                        "config": {"instrument_id": "6EH7.CME"},
                    }
                ],
            )
        ]
        config = load_run_config(ROOT / "configs" / "paper-6e-ema.toml", overrides, strategy)
        run(config, paper_options={"duration": timedelta(seconds=SECONDS)})
    handler, sub, fill = SAMPLES["handler"], SAMPLES["to_submitted"], SAMPLES["to_filled"]
    p50, p99 = _pct(sub, 0.50), _pct(sub, 0.99)
    base = _pct(handler, 0.50)
    print(f"{len(sub):,} orders over {SECONDS} s at {RATE}/s quotes (persistence on, audit off)")
    print(f"bare on_quote_tick p50 {base * 1000:.1f} µs (baseline)")
    print(f"tick→OrderSubmitted p50 {p50 * 1000:.1f} µs p99 {p99 * 1000:.1f} µs ({p50 / base:.0f}x baseline)")
    print(f"tick→OrderFilled    p50 {_pct(fill, 0.5) * 1000:.1f} µs p99 {_pct(fill, 0.99) * 1000:.1f} µs")
    line = {
        "name": "paper_tick_to_order_p99_ms",
        "orders": len(sub),
        "p50_ms": round(p50, 4),
        "p99_ms": round(p99, 4),
        "fill_p50_ms": round(_pct(fill, 0.5), 4),
        "fill_p99_ms": round(_pct(fill, 0.99), 4),
        "baseline_handler_p50_ms": round(base, 4),
        "target": TARGET_P99_MS,
        "met": bool(sub) and p99 <= TARGET_P99_MS,
    }
    print(json.dumps(line))
    return 0 if line["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
