"""Pre-trade risk cost: the control chain per order, and the kernel backtest with risk on vs off.

(1) Chain cost: a backtest is assembled with every control configured (quantity, notional, collar,
position and account limits, loss limit, throttles, duplicates, self-trade), run briefly so the cache
holds working orders and a position, then ``PreTradeGate.judge`` is timed on 20,000 varied orders
(µs p50/p99). Baseline in the same process: the same gate with an empty chain.
(2) Throughput: the EMA-cross backtest of ``bench/backtest_throughput.py`` on 200k GBM bars, log OFF,
audit off on both sides, with ``[risk]`` (the limits of (1), none of them binding) vs ``enabled = false``.
Each side runs in a fresh process.

    python -m bench risk_chain
    BENCH_BARS=50000 python -m bench risk_chain
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.backtest_throughput import ema_run_config, make_bars

RISK: dict[str, Any] = {
    "defaults": {"max_order_qty": 50, "collar_ticks": 400},
    "instruments": {
        "ES": {"max_order_notional": "50_000_000", "max_long": 100, "max_short": 100, "max_net": 100},
        "ES.CME": {"max_gross": 500},
    },
    "accounts": {"CME": {"max_gross": 1000, "daily_loss_limit": "5_000_000"}},
    "throttle": {"orders_per_second": 1_000_000, "cancels_modifies_per_window": 1_000_000},
    "duplicates": {"window": "1s"},
    "self_trade": {"scope": "account"},
    "kill_switch": {"control": False},
}


def _config(data_path: Path, out_dir: Path, risk: dict[str, Any], run_id: str) -> Any:
    return ema_run_config(data_path, out_dir, run_id, risk=risk, audit={"enabled": False})


def worker_throughput(data_path: Path, out_dir: Path, side: str) -> dict[str, Any]:
    from macrofund.engine.assembly import run

    risk = RISK if side == "on" else {"enabled": False}
    result = run(_config(data_path, out_dir, risk, f"bench-{side}"))
    account = result.summary["accounts"][0]
    return {
        "run_s": result.summary["engine_seconds"],
        "orders": account["orders"],
        "net_pnl": account["net_pnl"],
        "denied": (result.summary.get("risk") or {}).get("denied", 0),
    }


def chain_cost(data_path: Path, out_dir: Path, n: int = 20_000) -> dict[str, Any]:
    """Time ``judge`` on a realistic cache: a position, working orders on both sides, recent bars."""
    from nautilus_trader.model.enums import OrderSide

    from macrofund.engine.backtest import build_backtest, prepare_backtest
    from macrofund.risk.component import RiskComponent
    from macrofund.risk.context import submit_intent
    from macrofund.risk.gate import PreTradeGate

    config = _config(data_path, out_dir, RISK, "bench-chain")
    inputs = prepare_backtest(config)
    out = out_dir / "bench-chain"
    out.mkdir(parents=True)
    built = build_backtest(config, inputs, "bench-chain", out)
    try:
        built.engine.run(start=inputs.start_ns, end=inputs.end_ns, streaming=True)  # stays connected
        risk = next(c for c in built.components if isinstance(c, RiskComponent))
        gate = risk.gate
        strategy = inputs.strategies[0]
        cache = built.engine.kernel.cache
        instrument = cache.instrument(strategy.config.instrument_id)
        last = cache.price(instrument.id, 4)  # PriceType.LAST (falls back to the last bar)
        # Working orders on both sides, as a quoting strategy would have.
        for k in range(5):
            for side, off in ((OrderSide.BUY, -10 - k), (OrderSide.SELL, 10 + k)):
                px = instrument.make_price(last.as_double() + off)
                order = strategy.order_factory.limit(instrument.id, side, instrument.make_qty(1), px)
                strategy.submit_order(order)
        built.engine.run(start=inputs.end_ns, end=inputs.end_ns, streaming=True)  # the venue accepts them
        working = len(cache.orders_open())
        limits = gate._resolver.for_instrument(instrument.id.value)
        rng = np.random.default_rng(1)
        intents = []
        ts = built.engine.kernel.clock.timestamp_ns()
        for i in range(n):
            side = OrderSide.BUY if i % 2 else OrderSide.SELL
            px = instrument.make_price(
                last.as_double() + float(rng.integers(-8, 9)) * 0.25 + (-20 if i % 2 else 20)
            )
            order = strategy.order_factory.limit(instrument.id, side, instrument.make_qty(1 + i % 5), px)
            # 2 s apart: past the 1 s duplicate window, so most orders run the whole chain.
            intents.append(submit_intent("SubmitOrder", order, instrument, limits, ts + i * 2_000_000_000))
        empty = PreTradeGate(
            msgbus=None,
            cache=cache,
            clock=None,
            forward=lambda c: None,
            controls=[],
            context=gate.context,
            resolver=gate._resolver,
            halts=gate.halts,
        )
        full_ns, base_ns = [], []
        for intent in intents:
            t0 = time.perf_counter_ns()
            gate.judge(intent)
            full_ns.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            empty.judge(intent)
            base_ns.append(time.perf_counter_ns() - t0)
        denied = dict(gate.denied)
        return {
            "p50_us": float(np.percentile(full_ns, 50)) / 1000,
            "p99_us": float(np.percentile(full_ns, 99)) / 1000,
            "base_p50_us": float(np.percentile(base_ns, 50)) / 1000,
            "controls": [c.code for c in gate.controls],
            "denied": denied,
            "working_orders": working,
        }
    finally:
        for component in built.components:
            component.close()
        built.engine.dispose()


def _spawn(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.risk_chain", "--worker", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    bars = int(os.environ.get("BENCH_BARS", "200000"))
    with tempfile.TemporaryDirectory(prefix="macrofund-bench-risk-") as tmp:
        small = Path(tmp) / "gbm_small.parquet"
        make_bars(5_000).to_parquet(small)
        chain = _spawn(["chain", str(small), str(Path(tmp) / "chain")])
        print(
            f"risk chain ({len(chain['controls'])} controls): p50 {chain['p50_us']:.1f} µs, "
            f"p99 {chain['p99_us']:.1f} µs per order; empty chain p50 {chain['base_p50_us']:.1f} µs; "
            f"{chain['working_orders']} working orders; denials while timing {chain['denied']}",
            flush=True,
        )
        data = Path(tmp) / f"gbm_{bars}.parquet"
        make_bars(bars).to_parquet(data)
        off = _spawn(["off", str(data), str(Path(tmp) / "off")])
        on = _spawn(["on", str(data), str(Path(tmp) / "on")])
    ratio = off["run_s"] / on["run_s"]
    same = off["orders"] == on["orders"] and off["net_pnl"] == on["net_pnl"] and on["denied"] == 0
    print(
        f"backtest {bars:,} bars: risk off {bars / off['run_s']:,.0f} bars/s, "
        f"risk on {bars / on['run_s']:,.0f} bars/s, ratio on/off {ratio:.3f}x; "
        f"orders {on['orders']} (same orders and P&L: {same})"
    )
    lines = [
        {
            "name": "risk_chain_cost_per_order",
            "p50_us": round(chain["p50_us"], 2),
            "p99_us": round(chain["p99_us"], 2),
            "empty_chain_p50_us": round(chain["base_p50_us"], 2),
            "controls": len(chain["controls"]),
            "target": "tens of µs (p50 <= 50)",
            "met": chain["p50_us"] <= 50,
        },
        {
            "name": "backtest_risk_on_vs_off",
            "bars": bars,
            "risk_off_bars_per_s": round(bars / off["run_s"]),
            "risk_on_bars_per_s": round(bars / on["run_s"]),
            "ratio": round(ratio, 3),
            "same_orders_and_pnl": same,
            "target": ">= 0.9",
            "met": ratio >= 0.9 and same,
        },
    ]
    for line in lines:
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        kind, data_arg, out_arg = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        result = (
            chain_cost(data_arg, out_arg) if kind == "chain" else worker_throughput(data_arg, out_arg, kind)
        )
        print(json.dumps(result, default=str))
    else:
        sys.exit(main())
