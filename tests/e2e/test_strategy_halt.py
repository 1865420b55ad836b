"""The shipped EMA cross stops trying while the kill switch has trading halted."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import read_outputs, run_cli

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_ema_cross_stops_submitting_after_a_kill_switch_denial(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "-c",
        str(CONFIGS / "backtest-6e-risk-drill.toml"),
        "--output-dir",
        str(tmp_path),
        "--run-id",
        "d",
        "-q",
    )
    assert result.code == 0, result.stderr
    risk = read_outputs(tmp_path / "d").summary["risk"]
    assert risk["kill_switch_actions"] == ["kill all (drill): halted"]
    # One order meets the halt and is denied; the strategy then waits instead of retrying every bar.
    assert risk["denied_by_reason"] == {"KILL_SWITCH": 1}
    assert risk["orders_checked"] == risk["allowed"] + 1
