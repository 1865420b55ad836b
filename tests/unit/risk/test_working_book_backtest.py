"""The gate reads the working-order book in a real backtest: restored orders count, and self-trade
still finds the one crossing order among a thousand resting ones."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.model.identifiers import AccountId, TraderId

from macrofund.config.run_config import RunConfig
from macrofund.engine.backtest import build_backtest, prepare_backtest
from macrofund.engine.restore import _rebuild_order
from macrofund.storage.rebuild import OpenOrder
from tests.unit.risk.harness import INSTRUMENT, make_config
from tests.unit.risk.scripted import ScriptedStrategy

FAST_ENGINE = {"engine_max_order_submit_rate": "100000/00:00:01"}  # Nautilus's throttle out of the way


def run_with(config: RunConfig, before_run: Callable[[Any, ScriptedStrategy], None]) -> ScriptedStrategy:
    """Build as ``macrofund run`` does, let ``before_run`` touch the kernel, then run."""
    inputs = prepare_backtest(config)
    out = config.run.output_dir / (config.run.run_id or "risk")
    out.mkdir(parents=True)
    built = build_backtest(config, inputs, config.run.run_id or "risk", out)
    try:
        strategy = inputs.strategies[0]
        assert isinstance(strategy, ScriptedStrategy)
        before_run(built.engine.kernel, strategy)
        built.engine.run(start=inputs.start_ns, end=inputs.end_ns)
        return strategy
    finally:
        for component in built.components:
            component.close()
        built.engine.dispose()


def limit_step(bar: int, side: str, qty: str, price: str, label: str) -> dict[str, Any]:
    return {
        "bar": bar,
        "do": "submit",
        "side": side,
        "qty": qty,
        "label": label,
        "type": "LIMIT",
        "price": price,
    }


def test_a_working_order_restored_into_the_cache_before_start_counts_against_the_position_limit(
    tmp_path: Path,
) -> None:
    risk = {"instruments": {"ES": {"max_long": 5}}}
    script = [
        limit_step(2, "BUY", "2", "3990.25", "at"),  # restored 3 + 2 = 5: at the limit
        limit_step(3, "BUY", "1", "3990.50", "past"),  # 6
    ]
    config = make_config(tmp_path, risk, script)

    def restore(kernel: Any, strategy: ScriptedStrategy) -> None:
        # What a live restart does (macrofund.engine.restore): rebuilt, cached, no events published.
        stored = OpenOrder(
            client_order_id="O-RESTORED-1",
            venue_order_id="V-1",
            strategy_id=strategy.id.value,
            instrument_id=INSTRUMENT,
            side="BUY",
            type="LIMIT",
            time_in_force="GTC",
            quantity=Decimal(3),
            filled_qty=Decimal(0),
            price=Decimal("3990"),
            trigger_price=None,
            status="ACCEPTED",
            ts_last=0,
        )
        instrument = kernel.cache.instrument(strategy.instrument_id)
        order = _rebuild_order(
            stored, [], instrument, TraderId(kernel.trader_id.value), AccountId("CME-001"), 0
        )
        kernel.cache.add_order(order)
        kernel.cache.update_order(order)

    strategy = run_with(config, restore)
    assert strategy.status("at") == "ACCEPTED"
    assert [(label, reason) for _, label, reason in strategy.denials] == [
        (
            "past",
            "POSITION_LIMIT: max_long 5 would be exceeded: 6 counting working orders as filled "
            "(position 0, working buy 5, working sell 0, BUY 1) for ES.CME",
        )
    ]


def test_self_trade_finds_the_crossing_order_among_a_thousand_resting_ones(tmp_path: Path) -> None:
    risk = {"self_trade": {"scope": "account", "action": "deny"}, **FAST_ENGINE}
    script = []
    for k in range(500):  # 500 bids below and 500 offers above the market (4000), none near
        script.append(limit_step(2, "BUY", "1", str(3990 - k * 0.25), f"bid{k}"))
        script.append(limit_step(2, "SELL", "1", str(4010 + k * 0.25), f"ask{k}"))
        if k == 250:
            script.append(limit_step(2, "SELL", "1", "4005", "near"))
    script += [
        limit_step(3, "BUY", "1", "4004.75", "below"),  # crosses nothing of ours (fills at the market)
        limit_step(4, "BUY", "2", "4010", "crossing"),  # crosses 4005 and 4010: names the best, 4005
        limit_step(5, "SELL", "1", "3990", "crossing-bid"),  # crosses our best bid
    ]
    strategy = run_with(make_config(tmp_path, risk, script), lambda kernel, strategy: None)
    near = strategy.orders["near"].client_order_id.value
    best_bid = strategy.orders["bid0"].client_order_id.value
    assert strategy.status("near") == "ACCEPTED" and strategy.status("ask499") == "ACCEPTED"
    assert strategy.status("below") == "FILLED"
    assert {label: reason for _, label, reason in strategy.denials} == {
        "crossing": (
            f"SELF_TRADE: BUY 2 ES.CME @ 4010 would cross own resting SELL {near} @ 4005 (account scope)"
        ),
        "crossing-bid": (
            f"SELF_TRADE: SELL 1 ES.CME @ 3990 would cross own resting BUY {best_bid} @ 3990 (account scope)"
        ),
    }


def test_self_trade_cancel_resting_cancels_exactly_the_crossed_orders_among_many(tmp_path: Path) -> None:
    risk = {"self_trade": {"scope": "account", "action": "cancel_resting"}, **FAST_ENGINE}
    script = [limit_step(2, "SELL", "1", str(4010 + k * 0.25), f"ask{k}") for k in range(300)]
    script.append(limit_step(3, "BUY", "1", "4010.50", "crossing"))  # crosses 4010, 4010.25, 4010.50
    strategy = run_with(make_config(tmp_path, risk, script), lambda kernel, strategy: None)
    canceled = sorted(label for label in strategy.orders if strategy.status(label) == "CANCELED")
    assert canceled == ["ask0", "ask1", "ask2"]
    assert strategy.denials == []
