"""``macrofund run`` with the Almgren-Chriss fill model on the 6E sample, against the default model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult, RunOutputs, read_outputs, run_cli

ROOT = Path(__file__).resolve().parents[2]
AC_CONFIG = ROOT / "configs" / "backtest-6e-ema-ac.toml"
TICK = Decimal("0.00005")


@pytest.fixture(scope="module")
def ac_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliResult, RunOutputs]:
    out = tmp_path_factory.mktemp("ac-runs")
    result = run_cli("run", "--config", str(AC_CONFIG), "--output-dir", str(out), "--run-id", "ac")
    assert result.code == 0, result.stderr
    return result, read_outputs(out / "ac")


def test_ac_run_trades_the_same_orders_at_worse_prices_than_the_default_model(
    ac_run: tuple[CliResult, RunOutputs], default_run: tuple[CliResult, RunOutputs]
) -> None:
    _, ac = ac_run
    _, default = default_run  # the packaged default: the same EMA cross on the same bars
    assert len(ac.orders) == len(default.orders)
    assert len(ac.fills) == len(ac.orders)  # max_levels = 1: one fill per order, as fast as the default
    ac_fills = ac.fills.groupby("client_order_id", sort=False)
    default_fills = default.fills.groupby("client_order_id", sort=False)
    worse = 0
    for order_id, fills in ac_fills:
        base = default_fills.get_group(order_id)
        assert fills["quantity"].sum() == base["quantity"].sum()
        ac_px = sum(q * p for q, p in zip(fills["quantity"], fills["price"], strict=True))
        base_px = sum(q * p for q, p in zip(base["quantity"], base["price"], strict=True))
        side = fills["side"].iloc[0]
        assert all(Decimal(p) % TICK == 0 for p in fills["price"])
        # Buys pay more and sells receive less than at the touch: epsilon + temporary impact > 1 tick.
        assert (ac_px > base_px) if side == "BUY" else (ac_px < base_px)
        worse += 1
    assert worse == len(ac.orders)
    assert Decimal(ac.summary["accounts"][0]["net_pnl"]) < Decimal(default.summary["accounts"][0]["net_pnl"])


def test_missing_impact_parameters_stop_the_run_with_one_line(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "--config",
        str(AC_CONFIG),
        "--output-dir",
        str(tmp_path),
        "--set",
        "venues.0.fill_model.impact={ES={sigma=1.0,eta=0.1,gamma=0.0,epsilon=0.1}}",
    )
    assert result.code == 2
    assert "no Almgren-Chriss parameters for 6EH4.CME" in result.stderr
    assert "macrofund calibrate" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
