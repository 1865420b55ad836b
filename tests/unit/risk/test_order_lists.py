"""Order lists against the position limits: judged together, and a bracket's exits count as what they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.risk.harness import make_config, run_backtest

FAST_ENGINE = {"engine_max_order_submit_rate": "100000/00:00:01"}


def limit(side: str, qty: str, price: str, label: str) -> dict[str, Any]:
    return {"side": side, "qty": qty, "type": "LIMIT", "price": price, "label": label}


def test_the_orders_of_one_list_count_together_against_the_position_limit(tmp_path: Path) -> None:
    # Two resting buys of 2 in one list: long 4 if both fill, past max_long 3. Each alone is within it.
    risk = {"instruments": {"ES": {"max_long": 3}}, **FAST_ENGINE}
    script = [
        {
            "bar": 2,
            "do": "list",
            "orders": [limit("BUY", "2", "3990", "a1"), limit("BUY", "2", "3989", "a2")],
        },
        {
            "bar": 3,
            "do": "list",
            "orders": [limit("BUY", "1", "3990", "b1"), limit("BUY", "2", "3989", "b2")],
        },
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    denied = {label: reason for _, label, reason in run.strategy.denials}
    assert set(denied) == {"a1", "a2"}, run.strategy.denials  # the whole list, nothing of it sent
    assert denied["a2"].startswith("POSITION_LIMIT: max_long 3 would be exceeded: 4 counting working orders")
    assert "(order list OL-" in denied["a2"]
    # At the limit: 1 + 2 = 3 passes, and both rest.
    assert run.strategy.status("b1") == "ACCEPTED" and run.strategy.status("b2") == "ACCEPTED"
    assert run.open_orders == 2


def test_a_bracket_passes_a_long_only_limit_and_its_exits_leave_room_to_close(tmp_path: Path) -> None:
    # Long-only (max_short 0), long at most 1. The bracket's exits can only fill after its entry, and
    # only one of them: neither is a short. Once the entry filled, a manual close is a reducing sell.
    risk = {"instruments": {"ES": {"max_long": 1, "max_short": 0}}, **FAST_ENGINE}
    script = [
        {"bar": 2, "do": "bracket", "side": "BUY", "qty": "1", "sl": "3980", "tp": "4020", "label": "br"},
        {"bar": 4, "do": "submit", "side": "SELL", "qty": "1", "label": "short"},  # would go short 1
        {"bar": 6, "do": "cancel", "label": "br.sl"},  # (OUO: the take-profit stays)
        {"bar": 8, "do": "submit", "side": "SELL", "qty": "1", "label": "close"},
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    denied = {label: reason for _, label, reason in run.strategy.denials}
    assert set(denied) == {"short"}, run.strategy.denials
    assert denied["short"].startswith("POSITION_LIMIT: max_short 0 would be exceeded")
    assert run.strategy.status("br.entry") == "FILLED"
    assert run.strategy.status("close") == "FILLED"
    assert run.open_positions == 0


def test_linked_exits_resting_together_count_once(tmp_path: Path) -> None:
    # max_short 1 and max_gross 3: long 1 with its two exits resting is short-exposed by 0 and gross 2,
    # so another resting sell of 1 (a short of 1 if everything fills) fits both limits.
    risk = {"instruments": {"ES": {"max_short": 1, "max_gross": 3}}, **FAST_ENGINE}
    script = [
        {"bar": 2, "do": "bracket", "side": "BUY", "qty": "1", "sl": "3980", "tp": "4020", "label": "br"},
        {
            "bar": 4,
            "do": "submit",
            "type": "LIMIT",
            "side": "SELL",
            "qty": "1",
            "price": "4030",
            "label": "s",
        },
        {
            "bar": 5,
            "do": "submit",
            "type": "LIMIT",
            "side": "SELL",
            "qty": "1",
            "price": "4031",
            "label": "s2",
        },
    ]
    run = run_backtest(make_config(tmp_path, risk, script))
    denied = {label: reason for _, label, reason in run.strategy.denials}
    assert run.strategy.status("s") == "ACCEPTED", run.strategy.denials
    # The second would make the short 2 (and gross 4): denied, by the first limit it breaks.
    assert set(denied) == {"s2"}
    assert denied["s2"].startswith("POSITION_LIMIT: max_short 1 would be exceeded: 2")
