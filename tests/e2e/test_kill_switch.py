"""The kill switch in a backtest: cancels, denies, flattens, publishes each step, and is idempotent.

The last test drives it as an operator does: ``macrofund kill`` against a running ``macrofund run``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import run_cli
from tests.unit.risk.harness import BAR_TYPE, INSTRUMENT, make_config, run_backtest, write_bars

HALTED, ACTIVE = 2, 1


def step(bar: int, action: str, **extra: Any) -> dict[str, Any]:
    return {"bar": bar, "do": action, **extra}


def order(bar: int, side: str, qty: str, label: str, price: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"bar": bar, "do": "submit", "side": side, "qty": qty, "label": label}
    if price is not None:
        entry.update(type="LIMIT", price=price)
    return entry


OPEN_BOOK = [
    order(2, "BUY", "2", "long"),  # fills: long 2
    order(2, "SELL", "1", "working-sell", "4010"),
    order(3, "BUY", "1", "working-buy", "3990"),
]


def test_drill_cancels_working_orders_flattens_and_denies_new_orders(tmp_path: Path) -> None:
    risk = {"kill_switch": {"drill_at": "2024-01-02T00:05:30Z", "flatten": True}}
    run = run_backtest(make_config(tmp_path, risk, OPEN_BOOK, resubmit=True))
    strategy = run.strategy
    assert strategy.status("working-sell") == "CANCELED" and strategy.status("working-buy") == "CANCELED"
    assert run.open_orders == 0 and run.open_positions == 0 and strategy.net() == 0
    assert run.trading_state == HALTED
    after = [reason for bar, _, reason in strategy.denials if bar >= 6]
    assert len(after) == strategy.bars - 5  # the strategy kept trying every bar; every try was denied
    assert all(
        r.startswith("KILL_SWITCH: trading halted for scope all by the kill switch (drill") for r in after
    )
    steps = [(s.step, s.detail.split(" by ")[0]) for s in run.risk.kill_switch.steps]
    assert [s for s, _ in steps] == ["triggered", "cancel", "flatten", "trading_state", "halted"]
    assert steps[3][1] == "HALTED"
    assert json.loads(run.outputs["kill_switch"].read_text())[0]["trigger"] == "drill"
    assert run.summary is not None and run.summary["kill_switch_actions"] == ["kill all (drill): halted"]


def test_without_flatten_positions_stay_and_orders_go(tmp_path: Path) -> None:
    risk = {"kill_switch": {"drill_at": "2024-01-02T00:05:30Z", "flatten": False}}
    run = run_backtest(make_config(tmp_path, risk, OPEN_BOOK))
    assert run.open_orders == 0 and run.strategy.net() == 2 and run.trading_state == HALTED


def test_calling_it_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    script = [*OPEN_BOOK, step(5, "kill", flatten=True), step(7, "kill", flatten=True)]
    run = run_backtest(make_config(tmp_path, {}, script))
    ks = run.risk.kill_switch
    assert [a["outcome"] for a in ks.actions] == ["halted", "noop"]
    second = ks.actions[1]["action_id"]
    assert [s.step for s in ks.steps if s.action_id == second] == ["noop"]
    flatten_orders = [o for o in run.strategy.cache.orders() if o.tags and "KILL_SWITCH" in o.tags]
    assert len(flatten_orders) == 1 and run.open_positions == 0


def test_reenable_is_explicit_and_trading_resumes(tmp_path: Path) -> None:
    script = [
        *OPEN_BOOK,
        step(5, "kill"),
        order(6, "BUY", "1", "while-killed"),
        step(7, "reenable"),
        order(8, "BUY", "1", "after"),
    ]
    run = run_backtest(make_config(tmp_path, {}, script))
    assert run.strategy.status("while-killed") == "DENIED" and run.strategy.status("after") == "FILLED"
    assert run.trading_state == ACTIVE
    assert [s.step for s in run.risk.kill_switch.steps][-2:] == ["trading_state", "reenabled"]


def test_instrument_scope_halts_that_instrument_only_via_the_gate(tmp_path: Path) -> None:
    script = [*OPEN_BOOK, step(5, "kill", scope=f"instrument:{INSTRUMENT}"), order(6, "BUY", "1", "denied")]
    run = run_backtest(make_config(tmp_path, {}, script))
    assert run.strategy.status("denied") == "DENIED"
    assert run.trading_state == ACTIVE  # Nautilus's state is global: narrower kills live in the gate
    assert run.open_orders == 0 and run.strategy.net() == 2


def test_a_scope_naming_nothing_in_the_run_is_refused_and_trading_goes_on(tmp_path: Path) -> None:
    # Typos an operator makes: a strategy id, an instrument of another month, an account not traded.
    script = [
        *OPEN_BOOK,
        step(5, "kill", scope="strategy:ScriptedStrategy-01"),
        step(5, "kill", scope="instrument:ESH9.CME"),
        step(5, "kill", scope="account:B3"),
        order(6, "BUY", "1", "after"),
        step(7, "kill", scope="account:CME-001"),
    ]
    run = run_backtest(make_config(tmp_path, {}, script))
    ks = run.risk.kill_switch
    assert [a["outcome"] for a in ks.actions] == ["refused", "refused", "refused", "halted"]
    details = [s.detail for s in ks.steps if s.step == "refused"]
    assert details == [
        "no strategy ScriptedStrategy-01 in this run (strategies: ScriptedStrategy-000); "
        "nothing was halted (test)",
        f"no instrument ESH9.CME in this run (instruments: {INSTRUMENT}); nothing was halted (test)",
        "no account B3 in this run (accounts: CME); nothing was halted (test)",
    ]
    assert run.strategy.status("after") == "FILLED"  # nothing was halted by the refused kills
    assert run.strategy.status("working-sell") == "CANCELED"  # the account id form names the venue
    assert run.summary is not None
    assert run.summary["kill_switch_actions"][0] == "kill strategy:ScriptedStrategy-01 (program): refused"


def test_flatten_closes_each_strategys_own_position_on_a_shared_instrument(tmp_path: Path) -> None:
    # Strategy A long 2 and strategy B short 1 on one instrument (net +1). Each flatten order reduces its
    # own strategy's position; judged against the instrument's net, B's buy looked risk-increasing and
    # A's sell of 2 larger than the net: both were denied and the kill stayed "reducing" for ever.
    script = [order(2, "BUY", "2", "a-long"), step(5, "kill", flatten=True)]
    run = run_backtest(make_config(tmp_path, {}, script, other_scripts=[[order(3, "SELL", "1", "b-short")]]))
    assert run.open_positions == 0 and run.trading_state == HALTED
    assert run.summary is not None and run.summary["denied_by_reason"] == {}
    assert run.summary["kill_switch_actions"] == ["kill all (program): halted"]


def test_flatten_with_ac_falls_back_to_market_when_the_algorithm_refuses(tmp_path: Path) -> None:
    # No [venues.fill_model.impact.ES] parameters: the AC algorithm denies the parent order.
    risk = {
        "kill_switch": {"flatten_with": "AC", "ac_params": {"horizon": "3m", "slices": 3, "risk_aversion": 0}}
    }
    script = [order(2, "BUY", "3", "long"), step(4, "kill", flatten=True)]
    run = run_backtest(make_config(tmp_path, risk, script))
    flatten = [s.detail for s in run.risk.kill_switch.steps if s.step == "flatten"]
    assert any("with the AC algorithm" in d for d in flatten)
    assert any(
        "denied (AC: no Almgren-Chriss parameters" in d and "closing with market orders" in d for d in flatten
    )
    assert run.open_positions == 0 and run.trading_state == HALTED


def _write_cli_config(tmp_path: Path, bars: int, sleep_ms: int) -> Path:
    data = write_bars(tmp_path / "bars.parquet", [4000.0] * bars)
    config = tmp_path / "slow.toml"
    entries = [order(2, "BUY", "2", "long"), order(3, "SELL", "1", "working", "4010")]
    script = (
        "["
        + ", ".join("{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in e.items()) + " }" for e in entries)
        + "]"
    )
    config.write_text(
        f"""
[run]
run_id = "slow"
output_dir = "{tmp_path / "runs"}"
log_level = "OFF"
[[venues]]
name = "CME"
base_currency = "USD"
starting_balances = ["1_000_000 USD"]
fees = {{ ES = "0" }}
[[instruments]]
id = "{INSTRUMENT}"
[[data]]
kind = "bars"
path = "{data}"
instrument_id = "{INSTRUMENT}"
[[strategies]]
path = "tests.unit.risk.scripted:ScriptedStrategy"
[strategies.config]
instrument_id = "{INSTRUMENT}"
bar_type = "{BAR_TYPE}"
sleep_ms = {sleep_ms}
script = {script}
[risk.kill_switch]
poll_interval = "200ms"
"""
    )
    return config


def test_operator_kill_reaches_a_running_backtest_and_is_acknowledged(tmp_path: Path) -> None:
    config = _write_cli_config(tmp_path, bars=1500, sleep_ms=5)
    run_dir = tmp_path / "runs" / "slow"
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "macrofund", "run", "--config", str(config), "-q"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        deadline = time.monotonic() + 60
        heartbeat = run_dir / "control" / "heartbeat.json"
        while not heartbeat.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert heartbeat.exists(), proc.communicate()[1] if proc.poll() is not None else "no heartbeat"
        bad = run_cli("kill", "--run-dir", str(run_dir), "--scope", "desk", cwd=repo)
        assert bad.code == 2 and "--scope: scope 'desk' is not 'all'" in bad.stderr
        typo_scope = ["--scope", "strategy:Scripted-000", "--reason", "desk typo"]
        typo = run_cli("kill", "--run-dir", str(run_dir), *typo_scope, cwd=repo)
        assert typo.code == 2, typo.stdout + typo.stderr
        assert "acknowledged: refused: no strategy Scripted-000 in this run (strategies: " in typo.stdout
        result = run_cli(
            "kill", "--run-dir", str(run_dir), "--flatten", "--reason", "desk drill", "--wait", "30", cwd=repo
        )
        assert result.code == 0, result.stdout + result.stderr
        # The flatten order fills at the next bar: the switch answers REDUCING, and HALTS once flat.
        assert "acknowledged: reducing: trading reducing only for scope all" in result.stdout
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    steps = json.loads((run_dir / "kill_switch.json").read_text())
    assert {s["trigger"] for s in steps} == {"operator"}
    # The refusal is audited with who asked and why, like every other step.
    assert steps[0]["step"] == "refused"
    assert steps[0]["detail"].startswith("no strategy Scripted-000 in this run")
    assert steps[0]["detail"].endswith(": desk typo)")
    assert "desk drill" in steps[1]["detail"]
    assert [s["step"] for s in steps][-1] == "halted"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["risk"]["kill_switch_actions"] == [
        "kill strategy:Scripted-000 (operator): refused",
        "kill all (operator): halted",  # the typo halted nothing: the real kill still had work to do
    ]
    ended = run_cli("kill", "--run-dir", str(run_dir), cwd=repo)
    assert ended.code == 1 and "has ended" in ended.stdout
