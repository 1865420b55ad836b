"""Each control allows an order at its limit and denies one past it, with a reason the strategy sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.risk.harness import make_config, run_backtest


def buy(bar: int, qty: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"bar": bar, "do": "submit", "side": "BUY", "qty": qty, "label": label, **extra}


def sell(bar: int, qty: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"bar": bar, "do": "submit", "side": "SELL", "qty": qty, "label": label, **extra}


def limit(price: str) -> dict[str, Any]:
    return {"type": "LIMIT", "price": price}


def denied(run: Any) -> dict[str, str]:
    return {label: reason for _, label, reason in run.strategy.denials}


def test_max_order_qty_allows_the_limit_and_denies_one_more(tmp_path: Path) -> None:
    run = run_backtest(
        make_config(tmp_path, {"defaults": {"max_order_qty": 10}}, [buy(2, "10", "at"), buy(3, "11", "past")])
    )
    assert run.strategy.status("at") == "FILLED"
    assert denied(run) == {"past": "MAX_ORDER_QTY: order 11 > limit 10 for ES.CME"}
    assert run.summary is not None and run.summary["denied_by_reason"] == {"MAX_ORDER_QTY": 1}


def test_max_order_qty_by_instrument_id_overrides_the_root(tmp_path: Path) -> None:
    risk = {"instruments": {"ES": {"max_order_qty": 10}, "ES.CME": {"max_order_qty": 2}}}
    run = run_backtest(make_config(tmp_path, risk, [buy(2, "2", "at"), buy(3, "3", "past")]))
    assert list(denied(run)) == ["past"]
    limits = json.loads(run.outputs["risk_limits"].read_text())
    assert limits["instruments"]["ES.CME"]["max_order_qty"] == "2"
    assert limits["instruments"]["ES.CME"]["sources"] == ["defaults", "ES", "ES.CME"]


def test_max_order_notional_uses_the_contract_multiplier(tmp_path: Path) -> None:
    # ES: 50 USD per point; 2 contracts at 4000 = 400,000 USD.
    risk = {"instruments": {"ES": {"max_order_notional": "400000"}}}
    run = run_backtest(make_config(tmp_path, risk, [buy(2, "2", "at"), buy(3, "3", "past")]))
    assert run.strategy.status("at") == "FILLED"
    reason = denied(run)["past"]
    assert reason.startswith(
        "MAX_ORDER_NOTIONAL: order notional 600000 USD (3 x 4000 x 50) > limit 400000 USD"
    )


@pytest.mark.parametrize(
    ("collar", "at_price", "past_price", "unit"),
    [({"collar_ticks": 4}, "4001.00", "4001.25", "ticks"), ({"collar_bps": 10}, "4004.00", "4004.25", "bps")],
)
def test_price_collar_in_ticks_and_bps_around_the_last_bar_close(
    tmp_path: Path, collar: dict[str, Any], at_price: str, past_price: str, unit: str
) -> None:
    risk = {"instruments": {"ES": collar}}
    script = [sell(2, "1", "at", **limit(at_price)), sell(3, "2", "past", **limit(past_price))]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert run.strategy.status("at") == "ACCEPTED"
    reason = denied(run)["past"]
    assert reason.startswith(f"PRICE_COLLAR: limit price {past_price.rstrip('0').rstrip('.')} is ")
    assert "from the last bar close 4000" in reason and unit in reason


def test_market_order_without_a_reference_price_is_denied(tmp_path: Path) -> None:
    risk = {"instruments": {"ES": {"collar_ticks": 4, "collar_reference": "mid"}}}  # bars only: no mid
    run = run_backtest(make_config(tmp_path, risk, [buy(2, "1", "mkt")]))
    assert denied(run) == {"mkt": "PRICE_COLLAR: no reference price (mid) for ES.CME to check a MARKET order"}


def test_position_limit_counts_working_orders_as_filled(tmp_path: Path) -> None:
    risk = {"instruments": {"ES": {"max_long": 5}}}
    script = [
        buy(2, "3", "resting", **limit("3990")),  # never fills at 4000: stays working
        buy(3, "2", "at", **limit("3990.25")),  # 3 working + 2 = 5: at the limit
        buy(4, "1", "past", **limit("3990.50")),  # 6
        sell(5, "1", "sell", **limit("4010")),  # does not raise the long measure: allowed
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert run.strategy.status("at") == "ACCEPTED" and run.strategy.status("sell") == "ACCEPTED"
    assert denied(run) == {
        "past": "POSITION_LIMIT: max_long 5 would be exceeded: 6 counting working orders as filled "
        "(position 0, working buy 5, working sell 0, BUY 1) for ES.CME"
    }


def test_account_gross_limit_sums_positions_and_working_orders(tmp_path: Path) -> None:
    risk = {"accounts": {"CME": {"max_gross": 4}}}
    script = [
        buy(2, "2", "filled"),
        sell(3, "2", "at", **limit("4010")),
        sell(4, "1", "past", **limit("4011")),
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert run.strategy.status("filled") == "FILLED" and run.strategy.status("at") == "ACCEPTED"
    assert denied(run)["past"].startswith("ACCOUNT_POSITION_LIMIT: max_gross 4 would be exceeded: 5")
    assert denied(run)["past"].endswith("for account CME")


def test_daily_loss_limit_denies_new_risk_and_triggers_the_kill_switch(tmp_path: Path) -> None:
    risk = {"accounts": {"CME": {"daily_loss_limit": "400", "kill_on_loss_limit": True}}}
    closes = [4000.0] * 3 + [3992.0] * 2 + [3991.0] * 5
    script = [
        buy(2, "1", "first"),  # fills at 4000
        buy(4, "1", "at"),  # loss 8 points x 50 = 400: at the limit, allowed; fills at 3992
        buy(6, "1", "past"),  # loss (9 + 1) x 50 = 500 > 400
    ]
    run = run_backtest(make_config(tmp_path, risk, script, closes))
    assert run.strategy.status("at") == "FILLED"
    reason = denied(run)["past"]
    assert reason.startswith("LOSS_LIMIT: daily loss 500 USD > limit 400 USD for account CME")
    triggers = [(a["scope"], a["trigger"]) for a in run.risk.kill_switch.actions]
    assert triggers == [("account:CME", "loss_limit")]


def test_order_rate_throttle_denies_the_order_past_the_rate(tmp_path: Path) -> None:
    risk = {"throttle": {"orders_per_second": 3}}
    script = [buy(2, "1", "a"), buy(2, "2", "b"), buy(2, "3", "c"), buy(2, "4", "d"), buy(3, "5", "next")]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert denied(run) == {"d": "ORDER_RATE: 3 orders in the last second on CME (limit 3/s)"}
    assert run.strategy.status("next") == "FILLED"  # a new second, a new budget


def test_cancel_modify_throttle_counts_cancels_and_pauses_new_orders_and_modifies(tmp_path: Path) -> None:
    risk = {"throttle": {"cancels_modifies_per_window": 2, "window": "5m"}}
    script = [
        buy(2, "1", "a", **limit("3990")),
        buy(2, "2", "b", **limit("3990")),
        buy(2, "3", "c", **limit("3990")),
        {"bar": 3, "do": "cancel", "label": "a"},
        buy(3, "4", "at", **limit("3990")),  # 1 cancel in the window: allowed
        {"bar": 4, "do": "cancel", "label": "b"},
        buy(4, "5", "past", **limit("3990")),  # 2 cancels: window full
        {"bar": 4, "do": "modify", "label": "c", "price": "3989"},
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert run.strategy.status("at") == "ACCEPTED"
    assert denied(run)["past"].startswith("CANCEL_RATE: 2 cancels/modifies in the last 300s on CME (limit 2)")
    assert [label for _, label, _ in run.strategy.modify_rejections] == ["c"]
    assert run.strategy.status("b") == "CANCELED"  # cancels themselves are never blocked


def test_duplicate_order_is_denied_unless_tagged_intended(tmp_path: Path) -> None:
    risk = {"duplicates": {"window": "2m"}}
    script = [
        buy(2, "1", "first", **limit("3990")),
        buy(3, "1", "dup", **limit("3990")),
        buy(3, "1", "intended", tags=["INTENDED_DUPLICATE"], **limit("3990")),
        buy(6, "1", "later", **limit("3990")),  # 3 minutes after the last allowed one
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert list(denied(run)) == ["dup"]
    assert denied(run)["dup"].startswith("DUPLICATE_ORDER: BUY 1 ES.CME @ 3990 repeats an order 60s earlier")
    assert run.strategy.status("intended") == "ACCEPTED" and run.strategy.status("later") == "ACCEPTED"


@pytest.mark.parametrize("scope", ["account", "strategy"])
def test_duplicate_scope_decides_whether_another_strategys_order_counts(tmp_path: Path, scope: str) -> None:
    # Two strategies sending the same order: a strategy deployed twice by mistake (account scope
    # catches it), or two independent ones that happen to agree (strategy scope lets both through).
    risk = {"duplicates": {"window": "2m", "scope": scope}}
    first = [buy(2, "1", "a", **limit("3990"))]
    second = [buy(2, "1", "b", **limit("3990")), buy(3, "1", "b-again", **limit("3990"))]
    run = run_backtest(make_config(tmp_path, risk, first, other_scripts=[second]))
    other = run.strategies[1]
    reasons = {label: reason for _, label, reason in other.denials}
    assert run.strategy.status("a") == "ACCEPTED"
    if scope == "account":
        assert list(reasons) == ["b", "b-again"]
        assert reasons["b"].startswith(
            "DUPLICATE_ORDER: BUY 1 ES.CME @ 3990 repeats an order of ScriptedStrategy-000 0s earlier"
        )
    else:
        assert list(reasons) == ["b-again"]  # its own repeat is still one
        assert reasons["b-again"].startswith("DUPLICATE_ORDER: BUY 1 ES.CME @ 3990 repeats an order 60s")
        assert other.status("b") == "ACCEPTED"


def test_self_trade_denies_an_order_crossing_our_own_resting_order(tmp_path: Path) -> None:
    risk = {"self_trade": {"scope": "account", "action": "deny"}}
    script = [
        sell(2, "1", "resting", **limit("4010")),
        buy(3, "1", "below", **limit("4009.75")),  # does not cross 4010
        buy(4, "2", "crossing", **limit("4010")),
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert list(denied(run)) == ["crossing"]
    assert denied(run)["crossing"].startswith("SELF_TRADE: BUY 2 ES.CME @ 4010 would cross own resting SELL")
    assert run.strategy.status("resting") == "ACCEPTED"


def test_self_trade_cancel_resting_cancels_ours_and_lets_the_order_through(tmp_path: Path) -> None:
    risk = {"self_trade": {"scope": "strategy", "action": "cancel_resting"}}
    script = [sell(2, "1", "resting", **limit("4010")), buy(3, "2", "crossing", **limit("4010"))]
    run = run_backtest(make_config(tmp_path, risk, script))
    assert denied(run) == {}
    assert run.strategy.status("resting") == "CANCELED"
    assert run.strategy.status("crossing") == "FILLED"


def test_every_decision_is_published_on_the_risk_topic(tmp_path: Path) -> None:
    run = run_backtest(
        make_config(tmp_path, {"defaults": {"max_order_qty": 1}}, [buy(2, "1", "ok"), buy(3, "2", "no")])
    )
    assert run.summary is not None
    assert (run.summary["orders_checked"], run.summary["allowed"], run.summary["denied"]) == (2, 1, 1)


def test_an_emulated_order_is_judged_too_though_nautilus_routes_it_past_the_risk_engine(
    tmp_path: Path,
) -> None:
    # Nautilus 1.221 sends an emulated order to the OrderEmulator and later releases it straight to the
    # execution engine; the gate also sits on the emulator's endpoint.
    emulated = {"type": "LIMIT", "price": "3990", "emulated": True}
    risk = {"defaults": {"max_order_qty": 10}}
    run = run_backtest(
        make_config(tmp_path, risk, [buy(2, "10", "at", **emulated), buy(3, "11", "past", **emulated)])
    )
    assert denied(run) == {"past": "MAX_ORDER_QTY: order 11 > limit 10 for ES.CME"}
    assert run.strategy.status("at") == "EMULATED"
    assert run.summary is not None and run.summary["denied_by_reason"] == {"MAX_ORDER_QTY": 1}
