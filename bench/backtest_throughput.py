"""Kernel throughput: ``macrofund run``'s assembled engine vs a raw Nautilus ``BacktestEngine``.

The same always-in-market EMA(10)/EMA(30) cross runs on N seeded GBM 1-minute bars (N = 100k and 1M),
(a) through ``macrofund.engine.assembly.run`` and (b) through a bare ``BacktestEngine`` with the same
strategy, instrument and data. Each side runs in a fresh process so peak RSS is its own. Only
``engine.run()`` is timed on both sides. Both must produce the same orders and the same final P&L.

    python -m bench backtest_throughput            # N = 100k and 1M
    BENCH_SIZES=20000,100000 python -m bench backtest_throughput
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

INSTRUMENT = "ES.CME"
BAR_TYPE = f"{INSTRUMENT}-1-MINUTE-LAST-EXTERNAL"
START = pd.Timestamp("2022-01-03T00:00:00Z")


def make_bars(n: int, seed: int = 7) -> pd.DataFrame:
    """Seeded GBM closes on the 0.25 tick grid with consistent OHLC; one bar per minute."""
    rng = np.random.default_rng(seed)
    sigma = 0.0006  # per-minute log volatility
    log_ret = rng.normal(0.0, sigma, n)
    close = 4000.0 * np.exp(np.cumsum(log_ret))
    close = np.round(close / 0.25) * 0.25
    open_ = np.concatenate([[4000.0], close[:-1]])
    wiggle = np.round(np.abs(rng.normal(0.0, 1.0, (2, n))) / 0.25) * 0.25
    high = np.maximum(open_, close) + wiggle[0]
    low = np.minimum(open_, close) - wiggle[1]
    ts = START + pd.to_timedelta(np.arange(1, n + 1), unit="min")
    volume = rng.integers(1, 500, n)
    return pd.DataFrame(
        {"timestamp": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ema_run_config(data_path: Path, out_dir: Path, run_id: str, **sections: Any) -> Any:
    """The benchmarks' common run: EMA(10)/EMA(30) on ``INSTRUMENT`` bars, no fees, log OFF.

    ``sections`` replace or add top-level config sections (``risk``, ``audit``...); ``venue`` entries
    (e.g. ``fill_model``) are merged into the one venue.
    """
    from macrofund.config.run_config import RunConfig

    venue: dict[str, Any] = {
        "name": "CME",
        "base_currency": "USD",
        "starting_balances": ["10_000_000 USD"],
        "fees": {"ES": "0"},
        **sections.pop("venue", {}),
    }
    return RunConfig.model_validate(
        {
            "run": {"run_id": run_id, "output_dir": str(out_dir), "log_level": "OFF"},
            "venues": [venue],
            "instruments": [{"id": INSTRUMENT}],
            "data": [{"kind": "bars", "path": str(data_path), "instrument_id": INSTRUMENT}],
            "strategies": [
                {
                    "path": "macrofund.strategies.ema_cross:EmaCross",
                    "config": {
                        "instrument_id": INSTRUMENT,
                        "bar_type": BAR_TYPE,
                        "fast_period": 10,
                        "slow_period": 30,
                    },
                }
            ],
            **sections,
        }
    )


def worker_macrofund(data_path: Path, out_dir: Path) -> dict:
    from macrofund.engine.assembly import run

    config = ema_run_config(data_path, out_dir, "bench")
    result = run(config)
    account = result.summary["accounts"][0]
    return {
        "run_s": result.summary["engine_seconds"],
        "orders": account["orders"],
        "net_pnl": account["net_pnl"],
        "rss_mb": _peak_rss_mb(),
    }


def worker_raw(data_path: Path) -> dict:
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money

    from macrofund.adapters.files import load_bars
    from macrofund.strategies.ema_cross import EmaCross, EmaCrossConfig
    from macrofund.venues.contracts import futures_contract

    instrument = futures_contract(INSTRUMENT)
    bar_type = BarType.from_str(BAR_TYPE)
    bars = load_bars(data_path, instrument, bar_type)
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(
        Venue("CME"),
        OmsType.NETTING,
        AccountType.MARGIN,
        [Money(10_000_000, instrument.quote_currency)],
        base_currency=instrument.quote_currency,
    )
    engine.add_instrument(instrument)
    engine.add_data(bars)
    del bars
    engine.add_strategy(EmaCross(EmaCrossConfig(instrument_id=instrument.id, bar_type=bar_type)))
    t0 = time.perf_counter()
    engine.run()
    run_s = time.perf_counter() - t0
    account = engine.portfolio.account(Venue("CME"))
    balance = account.balance_total(instrument.quote_currency).as_decimal()
    unrealized = engine.portfolio.unrealized_pnl(instrument.id)
    net = balance - Decimal(10_000_000) + (unrealized.as_decimal() if unrealized is not None else Decimal(0))
    result = {
        "run_s": run_s,
        "orders": len(engine.cache.orders()),
        "net_pnl": str(net.quantize(Decimal("0.01"))),
        "rss_mb": _peak_rss_mb(),
    }
    engine.dispose()
    return result


def _spawn(side: str, data_path: Path, out_dir: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.backtest_throughput", "--worker", side, str(data_path), str(out_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
    results: dict[int, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="macrofund-bench-") as tmp:
        for n in sizes:
            data_path = Path(tmp) / f"gbm_{n}.parquet"
            make_bars(n).to_parquet(data_path)
            a = _spawn("macrofund", data_path, Path(tmp) / f"runs_{n}")
            b = _spawn("raw", data_path, Path(tmp))
            results[n] = {"a": a, "b": b}
            print(
                f"N={n:>9,}  (a) macrofund {n / a['run_s']:>9,.0f} bars/s {a['rss_mb']:>7.0f} MB peak  "
                f"orders={a['orders']} pnl={a['net_pnl']}"
            )
            print(
                f"{'':12} (b) raw       {n / b['run_s']:>9,.0f} bars/s {b['rss_mb']:>7.0f} MB peak  "
                f"orders={b['orders']} pnl={b['net_pnl']}  ratio (a)/(b) = {b['run_s'] / a['run_s']:.2f}x",
                flush=True,
            )
    big, small = max(sizes), min(sizes)
    a_big, b_big = results[big]["a"], results[big]["b"]
    ratio = b_big["run_s"] / a_big["run_s"]
    same = all(
        r["a"]["orders"] == r["b"]["orders"] and r["a"]["net_pnl"] == r["b"]["net_pnl"]
        for r in results.values()
    )
    growth = (a_big["run_s"] / big) / (results[small]["a"]["run_s"] / small) - 1.0
    print(f"per-event cost growth {small:,} → {big:,} bars: (a) {growth * 100:+.1f}%", end="")
    raw_growth = (b_big["run_s"] / big) / (results[small]["b"]["run_s"] / small) - 1.0
    print(f", (b) {raw_growth * 100:+.1f}%; same orders and P&L on both sides: {same}")
    lines = [
        {
            "name": "backtest_throughput_ratio",
            "bars": big,
            "macrofund_bars_per_s": round(big / a_big["run_s"]),
            "raw_bars_per_s": round(big / b_big["run_s"]),
            "ratio": round(ratio, 3),
            "same_orders_and_pnl": same,
            "target": ">= 3.0",
            "met": ratio >= 3.0 and same,
        },
        {
            "name": "backtest_per_event_cost_growth",
            "from_bars": small,
            "to_bars": big,
            "growth_pct": round(growth * 100, 2),
            "raw_growth_pct": round(raw_growth * 100, 2),
            "target": "<= 10%",
            "met": growth <= 0.10,
        },
        {
            "name": "backtest_peak_rss",
            "bars": big,
            "macrofund_mb": round(a_big["rss_mb"]),
            "raw_mb": round(b_big["rss_mb"]),
            "target": "macrofund <= raw",
            "met": a_big["rss_mb"] <= b_big["rss_mb"],
        },
    ]
    for line in lines:
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        side, data = sys.argv[2], Path(sys.argv[3])
        out = worker_macrofund(data, Path(sys.argv[4])) if side == "macrofund" else worker_raw(data)
        print(json.dumps(out))
    else:
        sys.exit(main())
