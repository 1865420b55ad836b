"""The Almgren-Chriss execution algorithm and the shortfall report, through real backtests.

Each test writes a run config, runs it with ``macrofund.engine.assembly.run`` (or the CLI) over the
packaged 6E 1-minute sample, and checks the run outputs: the children the algorithm sent, what the
strategy received, and ``execution.parquet`` against ``fills.parquet``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from macrofund.config.run_config import load_run_config
from macrofund.engine.assembly import RunResult, run
from macrofund.venues.impact import AlmgrenChriss, round_to_lots
from tests.e2e.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "macrofund" / "sample_data" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
PROBE = ROOT / "tests" / "unit" / "execution" / "probe_strategy.py"
MULTIPLIER = Decimal(125_000)
NS = 1_000_000_000

# Linear model (beta = alpha = 1) so the expected schedule is the paper's closed form.
LINEAR = {"sigma": 0.0055, "eta": 2e-6, "gamma": 1e-8, "epsilon": 4e-5, "trading_day_hours": 23.0}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


RunFn = Callable[..., tuple[RunResult, dict[str, Any]]]


@pytest.fixture
def run_probe(tmp_path: Path) -> RunFn:
    """Run the scripted probe strategy with the given parent orders; returns the result and its record."""
    counter = iter(range(100))

    def go(
        orders: list[dict[str, Any]],
        impact: dict[str, float] | None = LINEAR,
        start: str = "2024-01-02T00:00:00Z",
        end: str = "2024-01-02T06:00:00Z",
        stop_at_bar: int | None = None,
        extra: list[str] | None = None,
    ) -> tuple[RunResult, dict[str, Any]]:
        n = next(counter)
        record = tmp_path / f"record-{n}.json"
        lines = [
            "[run]",
            f'start = "{start}"',
            f'end = "{end}"',
            f'output_dir = "{tmp_path / "runs"}"',
            f'run_id = "run-{n}"',
            "[[venues]]",
            'name = "CME"',
            'starting_balances = ["1_000_000 USD"]',
            'fees = { "6E" = "2.10" }',
        ]
        if impact is not None:
            lines += ["[venues.fill_model.impact.6E]"] + [
                f"{k} = {_toml_value(v)}" for k, v in impact.items()
            ]
        lines += [
            "[[instruments]]",
            'id = "6EH4.CME"',
            "[[data]]",
            f'path = "{SAMPLE}"',
            'instrument_id = "6EH4.CME"',
            "[[strategies]]",
            f'path = "{PROBE}:ExecutionProbe"',
            "[strategies.config]",
            'instrument_id = "6EH4.CME"',
            'bar_type = "6EH4.CME-1-MINUTE-LAST-EXTERNAL"',
            f'record_path = "{record}"',
            f"orders = {_toml_value(orders)}",
        ]
        if stop_at_bar is not None:
            lines.append(f"stop_at_bar = {stop_at_bar}")
        lines += extra or []
        path = tmp_path / f"run-{n}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = run(load_run_config(path))
        return result, json.loads(record.read_text())

    return go


def _orders(result: RunResult) -> pd.DataFrame:
    return pd.read_parquet(result.output_dir / "orders.parquet")


def _fills(result: RunResult) -> pd.DataFrame:
    return pd.read_parquet(result.output_dir / "fills.parquet")


def _execution(result: RunResult) -> pd.DataFrame:
    return pd.read_parquet(result.output_dir / "execution.parquet")


def _slices_of(result: RunResult, parent: str) -> pd.DataFrame:
    """Children in the order they were sent: E1, E2, ... then the parent itself (the last slice).

    ``sent_ts`` is when the slice went out: a child's ``ts_init``; for the parent (whose ``ts_init`` is
    its arrival) the time of its first fill, which in backtest is the time it was submitted.
    """
    orders = _orders(result)
    fills = _fills(result)
    mine = orders[orders["exec_spawn_id"] == parent].copy()
    mine["seq"] = [int(c.rsplit("-E", 1)[1]) if "-E" in c else 10**9 for c in mine["client_order_id"]]
    first_fill = fills.groupby("client_order_id")["ts_event"].min()
    mine["sent_ts"] = [
        int(t) if "-E" in c else int(first_fill.get(c, -1))
        for c, t in zip(mine["client_order_id"], mine["ts_init"], strict=True)
    ]
    return mine.sort_values("seq").reset_index(drop=True)


def _closes() -> pd.Series:
    with gzip.open(SAMPLE, "rt") as fh:
        frame = pd.read_csv(fh, dtype={"close": str})
    ts = pd.to_datetime(frame["timestamp_utc"], utc=True).astype("int64")
    return pd.Series([Decimal(c) for c in frame["close"]], index=ts)


def _expected_schedule(quantity: int, sell: bool, horizon_s: int, slices: int, lam: float) -> list[int]:
    model = AlmgrenChriss(LINEAR["sigma"], LINEAR["eta"], LINEAR["gamma"], LINEAR["epsilon"])
    days = horizon_s / (LINEAR["trading_day_hours"] * 3600)
    plan = model.optimal_trajectory(quantity if sell else -quantity, days, slices, lam)
    return [int(n) for n in round_to_lots(plan.trades, 1)]


@pytest.mark.parametrize(("side", "lam"), [("BUY", 20.0), ("SELL", 20.0), ("BUY", 3.0)])
def test_children_follow_the_rounded_trajectory_in_quantity_and_time(
    run_probe: RunFn, side: str, lam: float
) -> None:
    params = {"horizon": "20m", "slices": 8, "risk_aversion": lam}
    result, record = run_probe([{"at_bar": 30, "side": side, "quantity": 25, "params": params}])
    parent = record["parents"]["0"]
    schedule = _expected_schedule(25, side == "SELL", 1200, 8, lam)
    assert sum(schedule) == (25 if side == "SELL" else -25)
    slices = _slices_of(result, parent)
    arrival = int(_execution(result).loc[0, "start_ts"])
    expected = [(arrival + (k - 1) * 1200 * NS // 8, abs(n)) for k, n in enumerate(schedule, start=1) if n]
    assert [
        (int(t), int(q)) for t, q in zip(slices["sent_ts"], slices["filled_qty"], strict=True)
    ] == expected
    assert slices["filled_qty"].sum() == 25
    assert set(slices["side"]) == {side} and set(slices["status"]) == {"FILLED"}
    assert len(expected) > 2 and expected[0][1] > expected[-1][1]  # front-loaded: risk aversion at work


def test_zero_risk_aversion_gives_twap_slices(run_probe: RunFn) -> None:
    params = {"horizon": 600, "slices": 5, "risk_aversion": 0}
    result, record = run_probe([{"at_bar": 10, "side": "SELL", "quantity": 20, "params": params}])
    slices = _slices_of(result, record["parents"]["0"])
    assert list(slices["filled_qty"].astype(int)) == [4, 4, 4, 4, 4]
    gaps = slices["sent_ts"].diff().dropna()
    assert set(gaps) == {120 * NS}


def test_uneven_twap_rounds_to_whole_lots_and_sums_exactly(run_probe: RunFn) -> None:
    params = {"horizon": "10m", "slices": 4, "risk_aversion": 0.0}
    result, record = run_probe([{"at_bar": 10, "side": "BUY", "quantity": 7, "params": params}])
    quantities = list(_slices_of(result, record["parents"]["0"])["filled_qty"].astype(int))
    assert sum(quantities) == 7 and sorted(quantities) == [1, 2, 2, 2]


def test_shortfall_report_agrees_with_fills_recomputed_by_hand(run_probe: RunFn) -> None:
    orders = [
        {
            "at_bar": 20,
            "side": "BUY",
            "quantity": 30,
            "params": {"horizon": "30m", "slices": 6, "risk_aversion": 5},
        },
        {
            "at_bar": 120,
            "side": "SELL",
            "quantity": 12,
            "params": {"horizon": "15m", "slices": 3, "risk_aversion": 0},
        },
    ]
    result, record = run_probe(orders)
    execution, fills = _execution(result), _fills(result)
    closes = _closes()
    assert list(execution["parent_order_id"]) == [record["parents"]["0"], record["parents"]["1"]]
    totals = Decimal(0)
    for row in execution.to_dict("records"):
        parent = row["parent_order_id"]
        mine = fills[
            (fills["client_order_id"] == parent) | fills["client_order_id"].str.startswith(parent + "-E")
        ]
        side = 1 if row["side"] == "BUY" else -1
        # The arrival price is the close of the bar on which the strategy sent the parent.
        assert row["arrival_price"] == closes[closes.index <= row["start_ts"]].iloc[-1]
        assert row["arrival_price_type"] == "LAST"
        qty = sum(mine["quantity"], Decimal(0))
        notional = sum((p * q for p, q in zip(mine["price"], mine["quantity"], strict=True)), Decimal(0))
        shortfall = side * (notional - row["arrival_price"] * qty) * MULTIPLIER
        assert row["filled_qty"] == qty == row["quantity"]
        assert row["avg_fill_price"] == pytest.approx(notional / qty, abs=Decimal("1e-8"))
        assert row["shortfall"] == shortfall
        bps = (shortfall / (row["arrival_price"] * qty * MULTIPLIER) * 10_000).quantize(Decimal("0.01"))
        assert row["shortfall_bps"] == bps
        assert row["commission"] == sum(mine["commission"], Decimal(0)) == Decimal("2.10") * qty
        assert row["children_filled"] == mine["client_order_id"].nunique() == row["slices"]
        assert row["end_ts"] == mine["ts_event"].max()
        assert row["status"] == "COMPLETED"
        assert row["expected_cost"] > 0
        totals += shortfall
    section = result.summary["execution"]
    assert section["parents"] == 2 and section["completed"] == 2
    assert section["total_shortfall"] == f"{totals:.2f} USD"
    mean_bps = (sum(execution["shortfall_bps"], Decimal(0)) / 2).quantize(Decimal("0.01"))
    assert section["mean_shortfall_bps"] == str(mean_bps)
    # The same section is what summary.json holds (and what the CLI prints).
    saved = json.loads((result.output_dir / "summary.json").read_text())
    assert saved["execution"] == section


def test_expected_cost_is_the_models_e_of_the_rounded_schedule(run_probe: RunFn) -> None:
    params = {"horizon": "10m", "slices": 5, "risk_aversion": 0}
    result, _ = run_probe([{"at_bar": 10, "side": "BUY", "quantity": 20, "params": params}])
    row = _execution(result).iloc[0]
    model = AlmgrenChriss(LINEAR["sigma"], LINEAR["eta"], LINEAR["gamma"], LINEAR["epsilon"])
    twap = model.twap_cost(20, 600 / (23 * 3600), 5).expected_cost  # 20 splits evenly: rounding is exact
    assert row["expected_cost"] == Decimal(repr(twap * 125_000)).quantize(Decimal("0.01"))
    expected_bps = (row["expected_cost"] / (row["arrival_price"] * 20 * MULTIPLIER) * 10_000).quantize(
        Decimal("0.01")
    )
    assert row["expected_cost_bps"] == expected_bps


@pytest.mark.parametrize(
    ("spec", "reason_part"),
    [
        ({"params": {"horizon": "10m", "slices": 0, "risk_aversion": 1}}, "slices"),
        ({"params": {"slices": 5, "risk_aversion": 1}}, "horizon: required key is missing"),
        ({"params": {"horizon": "ten minutes", "slices": 5, "risk_aversion": 1}}, "horizon"),
        ({"params": {"horizon": "10m", "slices": 5, "risk_aversion": -1}}, "risk_aversion"),
        ({"params": {"horizon": "10m", "slices": 5, "risk_aversion": 1, "lambda": 2}}, "lambda: unknown key"),
        ({}, "exec_algorithm_params missing"),
        ({"type": "LIMIT", "params": {"horizon": "10m", "slices": 5, "risk_aversion": 1}}, "only MARKET"),
    ],
)
def test_bad_parent_is_denied_with_a_reason_and_the_run_continues(
    run_probe: RunFn, spec: dict[str, Any], reason_part: str
) -> None:
    good = {
        "at_bar": 40,
        "side": "SELL",
        "quantity": 6,
        "params": {"horizon": "6m", "slices": 3, "risk_aversion": 0},
    }
    result, record = run_probe([{"at_bar": 10, "side": "BUY", "quantity": 5, **spec}, good])
    bad_id, good_id = record["parents"]["0"], record["parents"]["1"]
    reason = record["denials"][bad_id]
    assert reason.startswith("AC: ") and reason_part in reason and "\n" not in reason
    orders = _orders(result)
    assert orders.loc[orders["client_order_id"] == bad_id, "status"].item() == "DENIED"
    assert not orders["client_order_id"].str.startswith(bad_id + "-E").any()
    # The run went on: the later parent was executed in full.
    execution = _execution(result)
    assert list(execution["parent_order_id"]) == [good_id]
    assert execution.loc[0, "status"] == "COMPLETED" and execution.loc[0, "filled_qty"] == 6


def test_missing_model_parameters_deny_unless_the_order_brings_them(run_probe: RunFn) -> None:
    base = {"horizon": "6m", "slices": 3, "risk_aversion": 0}
    orders = [
        {"at_bar": 10, "side": "BUY", "quantity": 3, "params": base},
        {"at_bar": 20, "side": "BUY", "quantity": 3, "params": {**base, **LINEAR}},
    ]
    result, record = run_probe(orders, impact=None)
    first, second = record["parents"]["0"], record["parents"]["1"]
    assert "no Almgren-Chriss parameters for 6EH4.CME" in record["denials"][first]
    assert second not in record["denials"]
    assert list(_execution(result)["parent_order_id"]) == [second]


def test_impossible_grid_is_denied_with_the_models_reason(run_probe: RunFn) -> None:
    # Permanent impact outweighing temporary impact on this grid (eta_tilde < 0): the model refuses.
    params = {"horizon": "1h", "slices": 2, "risk_aversion": 1, "gamma": 1.0}
    _, record = run_probe([{"at_bar": 10, "side": "BUY", "quantity": 4, "params": params}])
    reason = record["denials"][record["parents"]["0"]]
    assert reason.startswith("AC: ") and "eta" in reason


def test_canceling_the_parent_stops_the_remaining_slices(run_probe: RunFn) -> None:
    params = {"horizon": "30m", "slices": 10, "risk_aversion": 0}
    # Slices every 3 minutes from bar 10; cancel at bar 17, after slices 1-3 (minutes 0, 3, 6).
    result, record = run_probe(
        [{"at_bar": 10, "side": "BUY", "quantity": 20, "params": params, "cancel_at_bar": 17}]
    )
    parent = record["parents"]["0"]
    slices = _slices_of(result, parent)
    children = slices[slices["client_order_id"] != parent]
    assert list(children["filled_qty"].astype(int)) == [2, 2, 2]
    assert slices.loc[slices["client_order_id"] == parent, "status"].item() == "CANCELED"
    assert parent in record["canceled"]
    row = _execution(result).iloc[0]
    assert row["status"] == "CANCELED" and row["slices_sent"] == 3 and row["filled_qty"] == 6


def test_kill_switch_drill_cancels_the_parent_and_no_more_slices_go_out(run_probe: RunFn) -> None:
    params = {"horizon": "30m", "slices": 10, "risk_aversion": 0}
    # Parent at bar 10 (00:09); slices at 00:09, 00:12; the drill pulls the switch at 00:13:30.
    result, record = run_probe(
        [{"at_bar": 10, "side": "SELL", "quantity": 20, "params": params}],
        extra=["[risk.kill_switch]", 'drill_at = "2024-01-02T00:13:30Z"', "control = false"],
    )
    parent = record["parents"]["0"]
    slices = _slices_of(result, parent)
    assert int(slices["filled_qty"].sum()) == 4
    assert slices.loc[slices["client_order_id"] == parent, "status"].item() == "CANCELED"
    assert parent in record["canceled"]
    row = _execution(result).iloc[0]
    assert row["status"] == "CANCELED" and row["slices_sent"] == 2


def test_a_denied_slice_ends_the_program_and_cancels_the_parent(run_probe: RunFn) -> None:
    # Long 4, then a reduce-only sale of 10 in slices of 2: the RiskEngine denies the third slice, which
    # would open a short; the algorithm must not send the remaining two.
    orders = [
        {
            "at_bar": 5,
            "side": "BUY",
            "quantity": 4,
            "params": {"horizon": 60, "slices": 1, "risk_aversion": 0},
        },
        {
            "at_bar": 20,
            "side": "SELL",
            "quantity": 10,
            "reduce_only": True,
            "params": {"horizon": "10m", "slices": 5, "risk_aversion": 0},
        },
    ]
    result, record = run_probe(orders)
    parent = record["parents"]["1"]
    slices = _slices_of(result, parent)
    assert list(slices["status"]) == ["FILLED", "FILLED", "DENIED", "CANCELED"]
    assert int(slices["filled_qty"].sum()) == 4
    denied = slices.loc[2, "client_order_id"]
    assert "Reduce only" in record["denials"][denied]
    assert parent in record["canceled"] and parent not in record["denials"]
    row = _execution(result).iloc[1]
    assert row["status"] == "ABORTED" and "denied: Reduce only" in row["reason"] and row["slices_sent"] == 3


def test_strategy_stop_drops_the_remaining_slices(run_probe: RunFn) -> None:
    params = {"horizon": "30m", "slices": 10, "risk_aversion": 0}
    result, record = run_probe(
        [{"at_bar": 10, "side": "SELL", "quantity": 20, "params": params}], stop_at_bar=14
    )
    parent = record["parents"]["0"]
    slices = _slices_of(result, parent)
    assert int(slices["filled_qty"].sum()) == 4  # minutes 0 and 3; the strategy stopped at minute 4
    row = _execution(result).iloc[0]
    assert row["status"] == "STOPPED" and "stopped" in row["reason"]
    orders = _orders(result)
    assert orders.loc[orders["client_order_id"] == parent, "status"].item() == "CANCELED"


def test_same_config_twice_gives_identical_execution(run_probe: RunFn) -> None:
    orders = [
        {
            "at_bar": 15,
            "side": "BUY",
            "quantity": 17,
            "params": {"horizon": "25m", "slices": 7, "risk_aversion": 8},
        },
        {
            "at_bar": 90,
            "side": "SELL",
            "quantity": 9,
            "params": {"horizon": "9m", "slices": 9, "risk_aversion": 0},
        },
    ]
    first, _ = run_probe(orders)
    second, _ = run_probe(orders)
    pd.testing.assert_frame_equal(_execution(first), _execution(second))
    pd.testing.assert_frame_equal(_fills(first), _fills(second))
    pd.testing.assert_frame_equal(_orders(first), _orders(second))
    assert first.summary["execution"] == second.summary["execution"]


def test_run_without_algorithm_orders_has_no_execution_output(run_probe: RunFn) -> None:
    result, _ = run_probe([])
    assert "execution" not in result.summary
    assert not (result.output_dir / "execution.parquet").exists()


def test_example_config_runs_from_the_cli_and_prints_the_execution_section(tmp_path: Path) -> None:
    config = ROOT / "configs" / "backtest-ac-execution.toml"
    result = run_cli(
        "run", "--config", str(config), "--output-dir", str(tmp_path), "--run-id", "ac", "--end", "2024-01-03"
    )
    assert result.code == 0, result.stderr
    assert "Execution" in result.stdout and "mean shortfall bps" in result.stdout
    summary = json.loads((tmp_path / "ac" / "summary.json").read_text())
    execution = pd.read_parquet(tmp_path / "ac" / "execution.parquet")
    assert summary["execution"]["parents"] == len(execution) > 0
    assert (execution["filled_qty"] == execution["quantity"]).all()
