"""A strategy handler that raises stops the run in order, in every mode: one error line, exit 1, the run's
outputs written, working orders cancelled (paper/live), the audit trail sealed and the database complete.

Before: a paper or live node died at once (Nautilus 1.221 calls ``os._exit(1)`` when an exception escapes
a live engine's queue) with nothing written and orders left working; a backtest ended in a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pandas as pd
import pytest

from tests.e2e.conftest import read_outputs, run_cli

ROOT = Path(__file__).resolve().parents[2]
STRATEGY = [
    "--set",
    'strategies.0.path="tests.e2e.strategies.failing:FailingStrategy"',
    "--set",
    'strategies.0.config_class="tests.e2e.strategies.failing:FailingStrategyConfig"',
]


def _error_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


def _audit_verifies(folder: Path) -> list[dict]:
    check = run_cli("audit", "verify", str(folder / "audit.jsonl"))
    assert check.code == 0, check.stdout + check.stderr
    return [json.loads(line) for line in (folder / "audit.jsonl").read_text().splitlines()]


def _paper(tmp_path: Path, dsn: str, run_id: str, config: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "macrofund", "run", "--mode", "paper"]
    command += ["--config", str(ROOT / "configs" / "paper-6e-ema.toml"), "--output-dir", str(tmp_path)]
    command += ["--run-id", run_id, "-q", "--duration", "20s", "--set", "feed.sim.rate=200", *STRATEGY]
    command += ["--set", f"strategies.0.config={config}"]
    env = {**os.environ, "MACROFUND_DATABASE_URL": dsn, "COLUMNS": "200"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def _fills_stored(dsn: str, run_id: str) -> int:
    async def go() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval("select count(*) from fills where run_id = $1", run_id))
        finally:
            await conn.close()

    return asyncio.run(go())


def test_paper_order_event_handler_raising_stops_in_order(tmp_path: Path, postgres_dsn: str) -> None:
    proc = _paper(tmp_path, postgres_dsn, "h1", '{instrument_id="6EH7.CME", fail_in="on_order_filled"}')
    assert proc.returncode == 1, proc.stderr[-2000:]
    line = _error_line(proc.stderr)
    assert line.startswith("error: the node stopped itself: ") and "RuntimeError" in line
    assert "strategy bug in on_order_filled" in line
    out = tmp_path / "h1"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"].startswith("shutdown requested") and "RuntimeError" in summary["error"]
    orders = pd.read_parquet(out / "orders.parquet").set_index("type")
    assert orders.loc["MARKET", "status"] == "FILLED"
    assert orders.loc["LIMIT", "status"] == "CANCELED"  # nothing left working at the venue
    records = _audit_verifies(out)
    assert records[-1]["type"] == "RunStop"
    assert [r["type"] for r in records].count("OrderFilled") == 1
    assert _fills_stored(postgres_dsn, "h1") == 1


def test_paper_market_data_handler_raising_stops_at_that_quote(tmp_path: Path, postgres_dsn: str) -> None:
    proc = _paper(tmp_path, postgres_dsn, "h2", '{instrument_id="6EH7.CME", fail_in="on_quote_tick"}')
    assert proc.returncode == 1, proc.stderr[-2000:]
    line = _error_line(proc.stderr)
    assert "Unexpected exception in data processing" in line and "strategy bug in on_quote_tick #3" in line
    # Once, not once per quote for the rest of the session.
    assert proc.stderr.count("strategy bug in on_quote_tick") <= 3
    summary = json.loads((tmp_path / "h2" / "summary.json").read_text())
    assert summary["data_points"] == 3  # delivery stopped at the quote that raised
    orders = pd.read_parquet(tmp_path / "h2" / "orders.parquet").set_index("type")
    assert orders.loc["LIMIT", "status"] == "CANCELED"
    assert _audit_verifies(tmp_path / "h2")[-1]["type"] == "RunStop"


def test_a_strategy_asking_for_the_end_stops_the_session_without_an_error(
    tmp_path: Path, postgres_dsn: str
) -> None:
    proc = _paper(tmp_path, postgres_dsn, "h4", '{instrument_id="6EH7.CME", fail_in="shutdown"}')
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "h4" / "summary.json").read_text())
    assert summary["stopped_by"].endswith(": done for the day") and "error" not in summary
    orders = pd.read_parquet(tmp_path / "h4" / "orders.parquet").set_index("type")
    assert orders.loc["LIMIT", "status"] == "CANCELED"


def _failing_backtest(tmp_path: Path, run_id: str, strategy: str) -> tuple[str, str]:
    """Run the default backtest with ``FailingStrategy`` on its bars (``strategy``: extra config keys);
    check it exited 1 with a verified audit trail; returns (its error line, all of stderr)."""
    bar_type = "6EH4.CME-1-MINUTE-LAST-EXTERNAL"
    config = f'{{instrument_id="6EH4.CME", bar_type="{bar_type}", {strategy}}}'
    result = run_cli(
        "run", "--output-dir", str(tmp_path), "--run-id", run_id, "-q", *STRATEGY,
        "--set", f"strategies.0.config={config}",
    )  # fmt: skip
    assert result.code == 1, result.stderr[-2000:]
    assert _audit_verifies(tmp_path / run_id)[-1]["type"] == "RunStop"
    return _error_line(result.stderr), result.stderr


def test_backtest_handler_raising_ends_the_run_with_its_outputs(tmp_path: Path) -> None:
    line, stderr = _failing_backtest(tmp_path, "h3", 'fail_in="on_bar", fail_after=5')
    assert line.startswith("error: the run stopped at 2024-01-0") and "strategy bug in on_bar #5" in line
    assert "Traceback" not in stderr.split("strategy bug in on_bar #5")[-1]  # no CLI traceback
    outputs = read_outputs(tmp_path / "h3")
    assert "on_bar #5" in outputs.summary["error"]
    assert len(outputs.fills) == 1 and set(outputs.orders["type"]) == {"LIMIT", "MARKET"}


def test_backtest_on_start_raising_ends_before_the_first_bar_with_an_empty_period(tmp_path: Path) -> None:
    line, _ = _failing_backtest(tmp_path, "h6", 'fail_in="on_start"')
    assert "RuntimeError('strategy bug in on_start')" in line
    outputs = read_outputs(tmp_path / "h6")
    period = outputs.summary["period"]
    assert period["start"] == period["end"]  # it ended before the first bar, not before it began
    assert outputs.orders.empty and outputs.fills.empty


def test_backtest_on_stop_raising_still_writes_the_outputs(tmp_path: Path) -> None:
    line, _ = _failing_backtest(tmp_path, "h5", 'fail_in="on_stop"')
    assert "RuntimeError('strategy bug in on_stop')" in line
    outputs = read_outputs(tmp_path / "h5")
    assert len(outputs.fills) == 1 and "on_stop" in outputs.summary["error"]


@pytest.mark.parametrize(
    ("sig", "name", "code"), [(signal.SIGINT, "SIGINT", 130), (signal.SIGTERM, "SIGTERM", 143)]
)
def test_backtest_stopped_by_a_signal_keeps_what_ran(tmp_path: Path, sig: int, name: str, code: int) -> None:
    """Ctrl-C on a long backtest used to leave a run folder with a config and an unsealed audit trail
    only (and Nautilus's InvalidStateTrigger errors); SIGTERM killed it on the spot."""
    marker = tmp_path / "running"
    bar_type = "6EH4.CME-1-MINUTE-LAST-EXTERNAL"
    config = f'{{instrument_id="6EH4.CME", bar_type="{bar_type}", marker="{marker}", marker_after=300}}'
    command = [sys.executable, "-m", "macrofund", "run", "--output-dir", str(tmp_path), "--run-id", "sig"]
    command += ["-q", "--set", 'strategies.0.path="tests.e2e.strategies.slow_bars:SlowBars"']
    command += ["--set", 'strategies.0.config_class="tests.e2e.strategies.slow_bars:SlowBarsConfig"']
    command += ["--set", f"strategies.0.config={config}"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a shell without job control starts background jobs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)  # ~30k bars x 2 ms left: it did not run to its end
    assert proc.returncode == code, stderr
    line = _error_line(stderr)
    verb = "interrupted" if name == "SIGINT" else "stopped by SIGTERM"
    assert line.startswith(f"error: {verb} at 2024-01-0"), line
    assert f"{name}: stopping at the next equity sample" in stderr
    assert "InvalidStateTrigger" not in stderr
    outputs = read_outputs(tmp_path / "sig")
    assert outputs.summary["interrupted_by"] == name
    # The period ends where it stopped, and the orders of the bars before it are all there.
    assert outputs.summary["period"]["end"] < "2024-01-31"
    assert len(outputs.orders) >= 300 // 50 and len(outputs.fills) == len(outputs.orders)
    records = _audit_verifies(tmp_path / "sig")
    assert records[-1]["type"] == "RunStop"
