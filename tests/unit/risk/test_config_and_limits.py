"""Limits are validated at load with one-line errors, and resolve by root, maturity pattern and id."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from macrofund.config.run_config import load_run_config
from macrofund.errors import ConfigError
from macrofund.risk.component import validate_references
from macrofund.risk.config import RiskConfig
from macrofund.risk.limits import LimitResolver, contract_root

BASE = """
[[venues]]
name = "CME"
starting_balances = ["1000000 USD"]
[[instruments]]
id = "ES.CME"
[[data]]
path = "x.csv"
instrument_id = "ES.CME"
[[strategies]]
path = "a.b:C"
"""


def load(tmp_path: Path, risk: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "run.toml"
    path.write_text(BASE + risk)
    return load_run_config(path)


@pytest.mark.parametrize(
    ("risk", "message"),
    [
        ("[risk.defaults]\nmax_order_qty = -1\n", "risk.defaults: max_order_qty must be positive, got -1"),
        ('[risk.instruments."es z"]\nmax_order_qty = 1\n', "is not a contract root (ES)"),
        ("[risk.fx_rates]\nBRLUSD = 0.2\n", "fx_rates key 'BRLUSD' is not 'FROM/TO'"),
        ('[risk.throttle]\nwindow = "soon"\n', "risk.throttle.window: expected a duration"),
        ('[risk.kill_switch]\ndrill_scope = "desk"\n', "scope 'desk' is not 'all'"),
        ("[risk.accounts.CME]\nkill_on_loss_limit = true\n", "kill_on_loss_limit needs a daily_loss_limit"),
        ("[risk.defaults]\nmax_order_qtty = 1\n", "risk.defaults.max_order_qtty: unknown key"),
    ],
)
def test_bad_limits_are_one_line_errors_naming_file_and_key(tmp_path: Path, risk: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, risk)
    text = str(err.value)
    assert "\n" not in text and str(tmp_path / "run.toml") in text
    assert message in text


@pytest.mark.parametrize(
    ("risk", "message"),
    [
        ("[risk.accounts.B3]\nmax_net = 1\n", "risk.accounts.B3: no [[venues]] entry named B3"),
        (
            '[risk.instruments."ESZ6.CME"]\nmax_net = 1\n',
            "risk.instruments.ESZ6.CME: not listed in [[instruments]]",
        ),
        ("[risk.instruments.NQ]\nmax_net = 1\n", "risk.instruments.NQ: no listed instrument has root NQ"),
        (
            '[risk.kill_switch]\ndrill_at = "2024-01-02T00:05:00Z"\ndrill_scope = "account:B3"\n',
            "risk.kill_switch.drill_scope: no [[venues]] entry named B3",
        ),
        (
            '[risk.kill_switch]\ndrill_at = "2024-01-02T00:05:00Z"\ndrill_scope = "instrument:ESZ6.CME"\n',
            "risk.kill_switch.drill_scope: ESZ6.CME not listed in [[instruments]]",
        ),
    ],
)
def test_limits_naming_unknown_venues_or_instruments_are_rejected(
    tmp_path: Path, risk: str, message: str
) -> None:
    config = load(tmp_path, risk)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_references(config)


def test_notional_limit_across_currencies_needs_an_fx_rate(tmp_path: Path) -> None:
    text = BASE.replace('id = "ES.CME"', 'id = "ES.CME"\n[[instruments]]\nid = "WINZ26.B3"').replace(
        '[[venues]]\nname = "CME"',
        '[[venues]]\nname = "B3"\nstarting_balances = ["1 USD"]\n[[venues]]\nname = "CME"',
    )
    path = tmp_path / "run.toml"
    path.write_text(text + "[risk.instruments.WIN]\nmax_order_notional = 100000\n")
    with pytest.raises(ConfigError, match=r"no rate BRL/USD to value WINZ26\.B3"):
        validate_references(load_run_config(path))
    path.write_text(
        text + '[risk.fx_rates]\n"USD/BRL" = 5\n[risk.instruments.WIN]\nmax_order_notional = 100000\n'
    )
    validate_references(load_run_config(path))


def test_di1_style_caps_per_maturity_by_root_pattern_and_id() -> None:
    risk = RiskConfig.model_validate(
        {
            "defaults": {"max_order_qty": 1000},
            "instruments": {
                "DI1": {"max_order_qty": 500, "max_net": 2000},
                "DI1F2*.B3": {"max_order_qty": 300},  # every January 202x maturity
                "DI1F27.B3": {"max_order_qty": 100},
            },
        }
    )
    resolver = LimitResolver(risk)
    assert contract_root("DI1F27.B3") == "DI1" and contract_root("ESZ6.CME") == "ES"
    jan27, jan28, jul27 = (resolver.for_instrument(i) for i in ("DI1F27.B3", "DI1F28.B3", "DI1N27.B3"))
    assert (jan27.max_order_qty, jan28.max_order_qty, jul27.max_order_qty) == (100, 300, 500)
    assert jan27.max_net == jan28.max_net == jul27.max_net == Decimal(2000)  # inherited from the root
    assert resolver.for_instrument("ESZ6.CME").max_order_qty == 1000
    assert jan27.sources == ("defaults", "DI1", "DI1F2*.B3", "DI1F27.B3")
