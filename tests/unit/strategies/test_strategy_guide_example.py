"""The example in docs/strategies.md is real code: load it from its own file and run it."""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import BarType

from tests.unit.strategies.strategy_test_kit import (
    VenueSpec,
    bars_from_frame,
    engine,
    load_6e_minutes,
    order_records,
    signed,
    six_e,
)

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "strategies.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def _example_module(tmp_path: Path) -> ModuleType:
    marker = "<!-- example:my_strategies.py -->\n```python\n"
    text = GUIDE.read_text()
    source = text[text.index(marker) + len(marker) :].split("```", 1)[0]
    file = tmp_path / "my_strategies.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location("guide_my_strategies", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # msgspec resolves the postponed annotations through the module.
    spec.loader.exec_module(module)
    return module


def test_guide_example_strategy_runs_and_holds_one_target_position(tmp_path: Path) -> None:
    module = _example_module(tmp_path)
    bar_type = BarType.from_str("6EH4.CME-1-MINUTE-LAST-EXTERNAL")
    config = module.MyStrategyConfig.parse(
        '{"instrument_id": "6EH4.CME", "bar_type": "6EH4.CME-1-MINUTE-LAST-EXTERNAL", "trade_size": "1"}',
    )
    instrument = six_e()
    eng = engine(
        [VenueSpec("CME", USD, 1_000_000)],
        [instrument],
        bars_from_frame(load_6e_minutes(2_000), bar_type, instrument),
        latency_ns=90 * 1_000_000_000,  # Fills arrive a bar or two late, as in live.
    )
    strategy = module.MyStrategy(config=config)
    eng.add_strategy(strategy)
    eng.run()
    records = order_records(eng, strategy)
    eng.dispose()

    assert len(records) > 5
    net = Decimal(0)
    for before, after in itertools.pairwise(records):
        assert after.ts_init >= before.ts_last
    for r in records:
        net += signed(r)
        assert net in (Decimal(1), Decimal(-1))


def test_guide_example_config_refuses_a_misspelt_key(tmp_path: Path) -> None:
    module = _example_module(tmp_path)
    with pytest.raises(Exception, match="unknown field `lookbak`"):
        module.MyStrategyConfig.parse(
            '{"instrument_id": "6EH4.CME", "bar_type": "6EH4.CME-1-MINUTE-LAST-EXTERNAL", "lookbak": 2}',
        )


def test_guide_toml_blocks_follow_the_strategies_schema() -> None:
    tables = [tomllib.loads(block) for block in _blocks("toml")]
    assert len(tables) >= 2
    for table in tables:
        for entry in table["strategies"]:
            assert set(entry) <= {"path", "config_class", "config"}
            assert ":" in entry["path"]
    first = tables[0]["strategies"][0]
    assert first["path"] == "my_strategies.py:MyStrategy"
    assert first["config"] == {
        "instrument_id": "ESZ3.CME",
        "bar_type": "ESZ3.CME-1-MINUTE-LAST-EXTERNAL",
    }
