"""Cost of the Almgren-Chriss fill model: the kernel benchmark's EMA cross with it on vs Nautilus's default.

The always-in-market EMA(10)/EMA(30) cross of ``bench/backtest_throughput.py`` runs on N seeded GBM
1-minute ES bars through ``macrofund.engine.assembly.run`` (log level OFF), once with the default fill
model and once with the AC model calibrated on the same bars (``macrofund calibrate``'s estimator).
Each run is a fresh process; the pair is repeated interleaved and the target is judged on the best
(minimum) time of each side: on a shared machine noise only ever adds time, so the minimum is the
stable estimate of what each side costs (medians are printed too). A last AC run wraps the hook with a
timer to report the mean time spent in the hook per fill.

    python -m bench ac_fill_model                       # N = 200k, 3 repeats
    BENCH_AC_BARS=50000 BENCH_AC_REPEATS=1 python -m bench ac_fill_model
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.backtest_throughput import INSTRUMENT, ema_run_config, make_bars

TARGET_SLOWDOWN = 0.10


def _params(data_path: Path) -> dict[str, Any]:
    from macrofund.venues.sim.calibration import calibrate

    return calibrate(data_path, INSTRUMENT).params.model_dump(exclude_none=True)


def _config(data_path: Path, out_dir: Path, run_id: str, fill_model: dict[str, Any] | None) -> Any:
    venue = {"fill_model": fill_model} if fill_model is not None else {}
    return ema_run_config(data_path, out_dir, run_id, venue=venue)


def worker(side: str, data_path: Path, out_dir: Path, run_id: str, params_json: str) -> dict[str, Any]:
    """One run in this process: ``default``, ``ac`` or ``ac-timed`` (hook wrapped with a timer)."""
    from macrofund.engine.assembly import run

    fill_model = None
    hook_ns = [0, 0]
    if side != "default":
        fill_model = {"kind": "almgren_chriss", "impact": {"ES": json.loads(params_json)}}
    if side == "ac-timed":
        from macrofund.venues.sim.fill_model import AlmgrenChrissFillModel

        inner = AlmgrenChrissFillModel.get_orderbook_for_fill_simulation

        def timed(self: Any, instrument: Any, order: Any, best_bid: Any, best_ask: Any) -> Any:
            t0 = time.perf_counter_ns()
            book = inner(self, instrument, order, best_bid, best_ask)
            hook_ns[0] += time.perf_counter_ns() - t0
            hook_ns[1] += 1
            return book

        AlmgrenChrissFillModel.get_orderbook_for_fill_simulation = timed  # type: ignore[method-assign]
    cpu_started = time.process_time()
    result = run(_config(data_path, out_dir, run_id, fill_model))
    cpu_s = time.process_time() - cpu_started
    account = result.summary["accounts"][0]
    return {
        "run_s": result.summary["engine_seconds"],
        "cpu_s": cpu_s,
        "orders": account["orders"],
        "fills": account["fills"],
        "net_pnl": account["net_pnl"],
        "hook_ns": hook_ns[0],
        "hook_calls": hook_ns[1],
    }


def _spawn(side: str, data_path: Path, out_dir: Path, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ac_fill_model",
            "--worker",
            side,
            str(data_path),
            str(out_dir),
            run_id,
            json.dumps(params),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} worker failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    n = int(os.environ.get("BENCH_AC_BARS", "200000"))
    repeats = int(os.environ.get("BENCH_AC_REPEATS", "3"))
    runs: dict[str, list[dict[str, Any]]] = {"default": [], "ac": []}
    with tempfile.TemporaryDirectory(prefix="macrofund-bench-ac-") as tmp:
        data_path = Path(tmp) / f"gbm_{n}.parquet"
        make_bars(n).to_parquet(data_path)
        params = _params(data_path)
        print(f"AC parameters calibrated on the bars: {json.dumps(params)}")
        for r in range(repeats):
            for side in ("default", "ac"):  # interleaved so drift on a shared machine hits both
                res = _spawn(side, data_path, Path(tmp) / "runs", f"{side}-{r}", params)
                runs[side].append(res)
                print(
                    f"  {side:<8} run {r + 1}: {res['run_s']:7.2f} s  {n / res['run_s']:>8,.0f} bars/s  "
                    f"(whole run {res['cpu_s']:6.2f} s CPU)  "
                    f"orders={res['orders']} fills={res['fills']} pnl={res['net_pnl']}",
                    flush=True,
                )
        timed = _spawn("ac-timed", data_path, Path(tmp) / "runs", "ac-timed", params)
    default_s = min(r["run_s"] for r in runs["default"])
    ac_s = min(r["run_s"] for r in runs["ac"])
    default_median = statistics.median(r["run_s"] for r in runs["default"])
    ac_median = statistics.median(r["run_s"] for r in runs["ac"])
    slowdown = ac_s / default_s - 1.0
    # CPU time of the whole run (loading + engine + outputs): insensitive to other processes on the machine.
    cpu_ratio = min(r["cpu_s"] for r in runs["ac"]) / min(r["cpu_s"] for r in runs["default"])
    fills_default, fills_ac = runs["default"][0]["fills"], runs["ac"][0]["fills"]
    per_fill_us = timed["hook_ns"] / 1000 / max(timed["fills"], 1)
    per_call_us = timed["hook_ns"] / 1000 / max(timed["hook_calls"], 1)
    print(
        f"N={n:,} bars: default {default_s:.2f} s, AC {ac_s:.2f} s (best of {repeats}); "
        f"AC/default = {ac_s / default_s:.3f} ({slowdown * 100:+.1f}%); "
        f"medians {default_median:.2f} s / {ac_median:.2f} s = {ac_median / default_median:.3f}; "
        f"whole-run CPU time ratio {cpu_ratio:.3f}"
    )
    print(
        f"fills: default {fills_default}, AC {fills_ac} ({fills_ac / max(fills_default, 1):.3f}x); "
        f"hook: {timed['hook_calls']} calls, {per_call_us:.1f} us/call, {per_fill_us:.1f} us per fill"
    )
    line = {
        "name": "ac_fill_model_overhead",
        "bars": n,
        "default_s": round(default_s, 3),
        "ac_s": round(ac_s, 3),
        "ratio": round(ac_s / default_s, 3),
        "median_ratio": round(ac_median / default_median, 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "slowdown_pct": round(slowdown * 100, 2),
        "fills_default": fills_default,
        "fills_ac": fills_ac,
        "hook_us_per_fill": round(per_fill_us, 2),
        "target": f"AC <= {TARGET_SLOWDOWN:.0%} slower",
        "met": slowdown <= TARGET_SLOWDOWN,
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        side, data, out, rid, params_json = sys.argv[2:7]
        print(json.dumps(worker(side, Path(data), Path(out), rid, params_json)))
    else:
        sys.exit(main())
