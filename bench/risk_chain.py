"""Pre-trade risk cost: the control chain per order, and the kernel backtest with risk on vs off.

(1) Chain cost: a backtest is assembled with every control configured (quantity, notional, collar,
position and account limits, loss limit, throttles, duplicates, self-trade), run briefly so the cache
holds resting orders and a position, then ``PreTradeGate.judge`` is timed on 20,000 varied orders
(µs p50/p99), twice: with 10 resting orders and with 1,000 (issue #7's live node). Baselines in the
same process, on the same orders: the same controls reading a ``ScanningBook`` (what the code did
before the working-order book: walk the cache's working orders per order), and an empty chain.
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
from decimal import Decimal
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


# The 1,000-resting-orders case (issue #7's live node): limits raised so that none binds on the
# resting orders or the timed ones, the collar wide enough for 500 price levels a side, and Nautilus's
# own submit throttle out of the way so all 1,000 reach the venue at one timestamp.
RISK_1000: dict[str, Any] = {
    **RISK,
    "defaults": {"max_order_qty": 50, "collar_ticks": 4000},
    "instruments": {
        "ES": {"max_order_notional": "50_000_000", "max_long": 5000, "max_short": 5000, "max_net": 5000},
        "ES.CME": {"max_gross": 10_000},
    },
    "accounts": {"CME": {"max_gross": 20_000, "daily_loss_limit": "5_000_000"}},
    "engine_max_order_submit_rate": "100000/00:00:01",
}


class ScanningBook:
    """Before the working-order book (commit b155330^): every query walks the cache's working orders.

    Kept here only as the benchmark's baseline: the open, in-flight and emulated lists summed (an
    order pending cancel/update counted in two of them, as that code did) and the self-trade scan of
    the resting opposite orders.
    """

    def __init__(self, cache: Any, scope: str) -> None:
        from nautilus_trader.model.identifiers import InstrumentId, Venue

        self._cache = cache
        self._scope = scope
        self._ids: dict[str, Any] = {}
        self._instrument_id = InstrumentId.from_str
        self._venue = Venue

    def _sum(self, **query: Any) -> tuple[Decimal, Decimal]:
        buy = sell = Decimal(0)
        cache = self._cache
        for orders in (
            cache.orders_open(**query),
            cache.orders_inflight(**query),
            cache.orders_emulated(**query),
        ):
            for order in orders:
                if order.is_buy:
                    buy += order.leaves_qty.as_decimal()
                else:
                    sell += order.leaves_qty.as_decimal()
        return buy, sell

    def _id(self, text: str) -> Any:
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = self._instrument_id(text)
        return found

    def instrument(self, instrument_id: str) -> tuple[Decimal, Decimal]:
        return self._sum(instrument_id=self._id(instrument_id))

    def account(self, venue: str) -> tuple[Decimal, Decimal]:
        return self._sum(venue=self._venue(venue))

    def crossing(
        self,
        instrument_id: str,
        is_buy: bool,
        price: Decimal | None,
        strategy_id: str,
        exclude: Any = None,
        first_only: bool = True,
    ) -> list[Any]:
        from nautilus_trader.model.enums import OrderSide

        from macrofund.risk.working_orders import RESTING_TYPES

        opposite = OrderSide.SELL if is_buy else OrderSide.BUY
        crossed = []
        for resting in self._cache.orders_open(instrument_id=self._id(instrument_id), side=opposite):
            if resting.order_type not in RESTING_TYPES or resting.is_pending_cancel:
                continue
            if self._scope == "strategy" and resting.strategy_id.value != strategy_id:
                continue
            rest_px = resting.price.as_decimal()
            if price is None or (price >= rest_px if is_buy else price <= rest_px):
                crossed.append(resting)
        return crossed[:1] if first_only else crossed


def _percentiles(samples: list[int]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)) / 1000, float(np.percentile(samples, 99)) / 1000


def chain_cost(data_path: Path, out_dir: Path, resting_per_side: int = 5, n: int = 20_000) -> dict[str, Any]:
    """Time ``judge`` on a realistic cache: a position, resting orders on both sides, recent bars.

    Each intent is judged by three gates in turn: the installed one (working-order book), one with the
    same controls reading a ``ScanningBook`` (the code before the book), and an empty chain.
    """
    from dataclasses import replace

    from nautilus_trader.model.enums import OrderSide

    from macrofund.engine.backtest import build_backtest, prepare_backtest
    from macrofund.risk.component import RiskComponent, build_controls
    from macrofund.risk.context import submit_intent
    from macrofund.risk.gate import PreTradeGate

    risk_section = RISK if resting_per_side <= 5 else RISK_1000
    run_id = f"bench-chain-{resting_per_side}"
    config = _config(data_path, out_dir, risk_section, run_id)
    inputs = prepare_backtest(config)
    out = out_dir / run_id
    out.mkdir(parents=True)
    built = build_backtest(config, inputs, run_id, out)
    try:
        built.engine.run(start=inputs.start_ns, end=inputs.end_ns, streaming=True)  # stays connected
        risk = next(c for c in built.components if isinstance(c, RiskComponent))
        gate = risk.gate
        strategy = inputs.strategies[0]
        cache = built.engine.kernel.cache
        instrument = cache.instrument(strategy.config.instrument_id)
        last = cache.price(instrument.id, 4)  # PriceType.LAST (falls back to the last bar)
        # Resting orders on both sides, as a quoting strategy would have, 10 points and more away.
        for k in range(resting_per_side):
            for side, off in ((OrderSide.BUY, -10 - k * 0.25), (OrderSide.SELL, 10 + k * 0.25)):
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
            # 2 s apart (and after the resting ones): past the 1 s duplicate window, so most orders
            # run the whole chain.
            at = ts + (i + 1) * 2_000_000_000
            intents.append(submit_intent("SubmitOrder", order, instrument, limits, at))

        def gate_with(controls: list[Any], context: Any) -> PreTradeGate:
            return PreTradeGate(
                msgbus=None,
                cache=cache,
                clock=None,
                forward=lambda c: None,
                controls=controls,
                context=context,
                resolver=gate._resolver,
                halts=gate.halts,
            )

        # Its own control instances: throttles and the duplicate check remember what they allowed.
        scan_controls, _, _ = build_controls(config.risk, risk.kill_switch, lambda venue, sentence: None)
        scanning = gate_with(
            scan_controls, replace(gate.context, book=ScanningBook(cache, config.risk.self_trade.scope))
        )
        empty = gate_with([], gate.context)
        book_ns, scan_ns, base_ns = [], [], []
        same = 0
        for intent in intents:
            t0 = time.perf_counter_ns()
            mine = gate.judge(intent)
            book_ns.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            theirs = scanning.judge(intent)
            scan_ns.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            empty.judge(intent)
            base_ns.append(time.perf_counter_ns() - t0)
            same += mine == theirs
        p50, p99 = _percentiles(book_ns)
        scan_p50, scan_p99 = _percentiles(scan_ns)
        return {
            "p50_us": p50,
            "p99_us": p99,
            "scan_p50_us": scan_p50,
            "scan_p99_us": scan_p99,
            "base_p50_us": _percentiles(base_ns)[0],
            "controls": [c.code for c in gate.controls],
            "denied": dict(gate.denied),
            "same_decisions": same == len(intents),
            "working_orders": working,
            "book_working_orders": gate.context.book.working_orders(),
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
        chain = _spawn(["chain", str(small), str(Path(tmp) / "chain"), "5"])
        many = _spawn(["chain", str(small), str(Path(tmp) / "chain1000"), "500"])
        for label, case in (("", chain), (" with 1,000 resting", many)):
            print(
                f"risk chain{label} ({len(case['controls'])} controls, {case['working_orders']} working "
                f"orders): p50 {case['p50_us']:.1f} µs, p99 {case['p99_us']:.1f} µs per order; scanning "
                f"the cache instead (before the book): p50 {case['scan_p50_us']:.1f} µs, p99 "
                f"{case['scan_p99_us']:.1f} µs; empty chain p50 {case['base_p50_us']:.1f} µs; same "
                f"decisions: {case['same_decisions']}; denials while timing {case['denied']}",
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
            "name": "risk_chain_cost_1000_resting",
            "working_orders": many["working_orders"],
            "p50_us": round(many["p50_us"], 2),
            "p99_us": round(many["p99_us"], 2),
            "scanning_p50_us": round(many["scan_p50_us"], 2),
            "scanning_p99_us": round(many["scan_p99_us"], 2),
            "same_decisions": many["same_decisions"],
            "target": "p50 <= 50 µs with 1,000 resting orders, same decisions as scanning",
            "met": many["p50_us"] <= 50 and many["same_decisions"],
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
            chain_cost(data_arg, out_arg, int(sys.argv[5]))
            if kind == "chain"
            else worker_throughput(data_arg, out_arg, kind)
        )
        print(json.dumps(result, default=str))
    else:
        sys.exit(main())
