"""Risk + audit together: the kernel backtest with pre-trade risk and the audit trail (file) on vs off.

Issue 4's combined target: the EMA-cross backtest of ``bench/backtest_throughput.py`` (~200k GBM bars,
log OFF) with ``[risk]`` (every control configured, none binding: ``bench/risk_chain.py``'s limits)
and ``[audit]`` (file, default fsync policy) on, against both off. Sides alternate, each in a fresh
process; the fastest of ``BENCH_REPEATS`` runs per side is compared (the machine is shared and noisy).
The ratio is of ``engine.run()`` time; the whole run's ratio (set-up, the audit sealer's start and its
drain after the engine stopped) is printed beside it.

    python -m bench controls_overhead
    BENCH_BARS=100000 BENCH_REPEATS=3 python -m bench controls_overhead
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.backtest_throughput import ema_run_config, make_bars
from bench.risk_chain import RISK


def worker(data_path: Path, out_dir: Path, on: bool) -> dict:
    from macrofund.engine.assembly import run

    config = ema_run_config(
        data_path,
        out_dir,
        f"controls-{'on' if on else 'off'}",
        risk=RISK if on else {"enabled": False},
        audit={"enabled": on},
    )
    t0 = time.perf_counter()
    result = run(config)
    total_s = time.perf_counter() - t0
    account = result.summary["accounts"][0]
    return {
        "run_s": result.summary["engine_seconds"],
        # The whole run: also set-up, the audit sealer's start and its drain after the engine stopped.
        "total_s": total_s,
        "orders": account["orders"],
        "net_pnl": account["net_pnl"],
        "audit_records": (result.summary.get("audit") or {}).get("last_seq", 0),
        "risk_denied": sum((result.summary.get("risk") or {}).get("denied_by_reason", {}).values()),
    }


def _spawn(data_path: Path, out_dir: Path, on: bool) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.controls_overhead",
            "--worker",
            str(data_path),
            str(out_dir),
            str(int(on)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    bars = int(os.environ.get("BENCH_BARS", "200000"))
    repeats = int(os.environ.get("BENCH_REPEATS", "2"))
    runs: dict[bool, list[dict]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="macrofund-bench-controls-") as tmp:
        data_path = Path(tmp) / "bars.parquet"
        make_bars(bars).to_parquet(data_path)
        for attempt in range(repeats):
            for on in (False, True):
                result = _spawn(data_path, Path(tmp) / f"runs-{attempt}-{int(on)}", on)
                runs[on].append(result)
                label = "risk+audit on " if on else "risk+audit off"
                print(
                    f"{label}  {bars / result['run_s']:>9,.0f} bars/s  orders={result['orders']} "
                    f"pnl={result['net_pnl']} audit_records={result['audit_records']}",
                    flush=True,
                )
    off = min(runs[False], key=lambda r: r["run_s"])
    on_best = min(runs[True], key=lambda r: r["run_s"])
    ratio = off["run_s"] / on_best["run_s"]
    same = off["orders"] == on_best["orders"] and off["net_pnl"] == on_best["net_pnl"]
    per_record_us = (on_best["run_s"] - off["run_s"]) / max(on_best["audit_records"], 1) * 1e6
    total_ratio = min(r["total_s"] for r in runs[False]) / min(r["total_s"] for r in runs[True])
    print(
        f"throughput ratio on/off {ratio:.3f}; extra per audit record incl. risk {per_record_us:.1f} µs; "
        f"whole run (set-up, sealer start and drain included) {total_ratio:.3f}"
    )
    print(
        json.dumps(
            {
                "name": "risk_audit_kernel_ratio",
                "bars": bars,
                "off_bars_per_s": round(bars / off["run_s"]),
                "on_bars_per_s": round(bars / on_best["run_s"]),
                "ratio": round(ratio, 3),
                "whole_run_ratio": round(total_ratio, 3),
                "orders": off["orders"],
                "audit_records": on_best["audit_records"],
                "same_orders_and_pnl": same,
                "target": ">= 0.9",
                "met": ratio >= 0.9 and same,
            }
        )
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        print(json.dumps(worker(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "1")))
    else:
        sys.exit(main())
