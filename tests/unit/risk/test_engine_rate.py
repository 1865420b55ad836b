"""``[risk] engine_max_order_submit_rate`` / ``engine_max_order_modify_rate``: Nautilus's own throttle.

NautilusTrader's RiskEngine denies orders past 100 per second by default, after our chain; the run config
sets that rate for every mode. Bad values are one-line config errors; good ones reach the kernel's risk
engine in backtest, paper and live, and change which orders are denied.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from macrofund.config.run_config import load_run_config
from macrofund.engine.live import LIVE_VENUES
from macrofund.engine.paper import PAPER_VENUES, VenueSide, _build_node
from macrofund.errors import ConfigError
from tests.unit.risk.harness import make_config, run_backtest
from tests.unit.risk.test_config_and_limits import load

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"100/1s"', "'100/1s' is not 'N/HH:MM:SS'"),
        ('"fast"', "'fast' is not 'N/HH:MM:SS'"),
        ('"100/00:61:00"', "is not 'N/HH:MM:SS'"),
        ('"0/00:00:01"', "'0/00:00:01': the count and the interval must both be positive"),
        ('"100/00:00:00"', "'100/00:00:00': the count and the interval must both be positive"),
    ],
)
@pytest.mark.parametrize("key", ["engine_max_order_submit_rate", "engine_max_order_modify_rate"])
def test_a_bad_engine_rate_is_a_one_line_error_naming_the_key(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"[risk]\n{key} = {value}\n")
    text = str(err.value)
    assert "\n" not in text
    assert f"{tmp_path / 'run.toml'}: risk.{key}: " in text
    assert message in text


def test_the_default_is_nautilus_own_100_per_second(tmp_path: Path) -> None:
    risk = load(tmp_path, "").risk
    assert (risk.engine_max_order_submit_rate, risk.engine_max_order_modify_rate) == (
        "100/00:00:01",
        "100/00:00:01",
    )


def _burst(n: int) -> list[dict[str, object]]:
    """``n`` resting buy limits in one bar (far below the 4000 close: nothing fills)."""
    order = {"bar": 1, "do": "submit", "side": "BUY", "type": "LIMIT", "qty": "1", "price": "3000"}
    return [{**order, "label": f"b{i}"} for i in range(n)]


def test_backtest_denies_past_the_default_rate(tmp_path: Path) -> None:
    run = run_backtest(make_config(tmp_path, {}, _burst(120)))
    denied = [label for _, label, reason in run.strategy.denials if "MAX_ORDER_SUBMIT_RATE" in reason]
    assert denied == [f"b{i}" for i in range(100, 120)]


def test_backtest_with_a_raised_rate_denies_none_of_the_same_burst(tmp_path: Path) -> None:
    risk = {"engine_max_order_submit_rate": "500/00:00:01"}
    run = run_backtest(make_config(tmp_path, risk, _burst(120)))
    assert run.strategy.denials == []
    assert run.open_orders == 120


@pytest.mark.parametrize(
    ("config_file", "venue_side"),
    [("paper-6e-ema.toml", PAPER_VENUES), ("live-b3-local.toml", LIVE_VENUES)],
    ids=["paper", "live"],
)
def test_the_configured_rates_reach_the_trading_node_risk_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: str, venue_side: VenueSide
) -> None:
    monkeypatch.setenv("B3_SIM_PASSWORD", "unused")  # the live FIX client reads it when built
    overrides = {
        "run.output_dir": str(tmp_path),
        "risk.engine_max_order_submit_rate": "5000/00:00:01",
        "risk.engine_max_order_modify_rate": "250/00:00:02",
        "venues.0.fix.session.store.path": str(tmp_path / "fix") if venue_side is LIVE_VENUES else None,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    config = load_run_config(ROOT / "configs" / config_file, overrides)
    loop = asyncio.new_event_loop()
    built = _build_node(config, "rates", tmp_path, [], loop, venue_side)
    try:
        risk_engine = built.node.kernel.risk_engine
        assert risk_engine.max_order_submit_rate() == (5000, timedelta(seconds=1))
        assert risk_engine.max_order_modify_rate() == (250, timedelta(seconds=2))
    finally:
        for component in built.components:
            component.close()
        built.node.dispose()
        loop.close()
