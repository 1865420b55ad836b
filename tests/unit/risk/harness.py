"""Run a small backtest through macrofund's own assembly with a ``[risk]`` section and a scripted strategy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from macrofund.config.run_config import RunConfig
from macrofund.engine.backtest import build_backtest, prepare_backtest
from macrofund.risk.component import RiskComponent
from tests.unit.risk.scripted import ScriptedStrategy

INSTRUMENT = "ES.CME"
BAR_TYPE = f"{INSTRUMENT}-1-MINUTE-LAST-EXTERNAL"
START = pd.Timestamp("2024-01-02T00:00:00Z")


def write_bars(path: Path, closes: list[float] | np.ndarray) -> Path:
    """One-minute bars closing at ``closes`` (open = high = low = close: fills happen at the close)."""
    closes = np.asarray(closes, dtype=float)
    ts = START + pd.to_timedelta(np.arange(1, len(closes) + 1), unit="min")
    frame = pd.DataFrame(
        {"timestamp": ts, "open": closes, "high": closes, "low": closes, "close": closes, "volume": 1000}
    )
    frame.to_parquet(path)
    return path


def make_config(
    tmp: Path,
    risk: dict[str, Any],
    script: list[dict[str, Any]],
    closes: list[float] | np.ndarray | None = None,
    *,
    resubmit: bool = False,
    run_id: str = "risk",
    end: str | None = None,
    other_scripts: Sequence[list[dict[str, Any]]] = (),
) -> RunConfig:
    """``script`` runs in ScriptedStrategy-000; each of ``other_scripts`` in one more strategy (-001...)."""
    data = write_bars(tmp / f"bars-{run_id}.parquet", closes if closes is not None else [4000.0] * 30)
    run: dict[str, Any] = {"run_id": run_id, "output_dir": str(tmp / "runs"), "log_level": "OFF"}
    if end is not None:
        run["end"] = end
    return RunConfig.model_validate(
        {
            "run": run,
            "venues": [
                {
                    "name": "CME",
                    "base_currency": "USD",
                    "starting_balances": ["1_000_000 USD"],
                    "fees": {"ES": "0"},
                }
            ],
            "instruments": [{"id": INSTRUMENT}],
            "data": [{"kind": "bars", "path": str(data), "instrument_id": INSTRUMENT}],
            "strategies": [
                {
                    "path": "tests.unit.risk.scripted:ScriptedStrategy",
                    "config": {
                        "instrument_id": INSTRUMENT,
                        "bar_type": BAR_TYPE,
                        "script": steps,
                        "resubmit_every_bar": resubmit and n == 0,
                    },
                }
                for n, steps in enumerate([script, *other_scripts])
            ],
            "risk": risk,
        }
    )


@dataclass
class RiskRun:
    strategy: ScriptedStrategy  # the first; ``strategies`` holds every one
    strategies: list[ScriptedStrategy]
    risk: RiskComponent
    open_orders: int
    open_positions: int
    summary: dict[str, Any] | None
    outputs: dict[str, Path]
    trading_state: int


def run_backtest(config: RunConfig) -> RiskRun:
    """Build with ``build_backtest`` (the same components ``macrofund run`` installs) and run it."""
    inputs = prepare_backtest(config)
    out = config.run.output_dir / (config.run.run_id or "risk")
    out.mkdir(parents=True)
    built = build_backtest(config, inputs, config.run.run_id or "risk", out)
    try:
        end = inputs.end_ns
        if config.run.end is not None:
            end = int(pd.Timestamp(config.run.end).value)
        built.engine.run(start=inputs.start_ns, end=end)
        ts = built.engine.kernel.clock.timestamp_ns()
        for component in built.components:
            component.on_run_end(ts)
        risk = next(c for c in built.components if isinstance(c, RiskComponent))
        strategies = [s for s in inputs.strategies if isinstance(s, ScriptedStrategy)]
        cache = built.engine.kernel.cache
        return RiskRun(
            strategy=strategies[0],
            strategies=strategies,
            risk=risk,
            open_orders=len(cache.orders_open()) + len(cache.orders_inflight()),
            open_positions=len(cache.positions_open()),
            summary=risk.summary(),
            outputs=risk.write_outputs(out),
            trading_state=int(built.engine.kernel.risk_engine.trading_state),
        )
    finally:
        for component in built.components:
            component.close()
        built.engine.dispose()
