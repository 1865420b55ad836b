"""The same strategy and limits deny the same orders whatever the data size (prefix vs full sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.unit.risk.harness import make_config, run_backtest


def test_denials_up_to_the_prefix_end_are_identical_on_prefix_and_full_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    closes = np.round((4000 + np.cumsum(rng.normal(0, 2, 240))) / 0.25) * 0.25
    risk = {
        "instruments": {"ES": {"max_long": 4, "max_order_qty": 2, "collar_ticks": 40}},
        "throttle": {"orders_per_second": 2},
        "duplicates": {"window": "90s"},
    }
    script = []
    for b in range(2, 240):
        price = str(closes[b - 1] - 5)  # rests below the market until the price falls to it
        script.append(
            {
                "bar": b,
                "do": "submit",
                "side": "BUY",
                "qty": str(1 + b % 3),
                "label": f"a{b}",
                "type": "LIMIT",
                "price": price,
            }
        )
        if b % 5 == 0:  # the same order again in the same bar: throttled or duplicate
            script.append(
                {
                    "bar": b,
                    "do": "submit",
                    "side": "BUY",
                    "qty": str(1 + b % 3),
                    "label": f"b{b}",
                    "type": "LIMIT",
                    "price": price,
                }
            )
        if b % 10 == 0:  # and a SELL far from the market: collared
            script.append(
                {
                    "bar": b,
                    "do": "submit",
                    "side": "SELL",
                    "qty": "1",
                    "label": f"c{b}",
                    "type": "LIMIT",
                    "price": str(closes[b - 1] + 20),
                }
            )
    full = run_backtest(make_config(tmp_path, risk, script, closes, run_id="full"))
    prefix = run_backtest(
        make_config(tmp_path, risk, script, closes, run_id="prefix", end="2024-01-02T02:00:00Z")
    )
    assert 100 < prefix.strategy.bars < full.strategy.bars
    cutoff = prefix.strategy.bars
    full_denials = [d for d in full.strategy.denials if d[0] <= cutoff]
    codes = {reason.split(":")[0] for _, _, reason in full_denials}
    assert codes >= {"MAX_ORDER_QTY", "POSITION_LIMIT", "PRICE_COLLAR"}, codes
    assert prefix.strategy.denials == full_denials
