"""The run freezes what exists when its trader starts, before any strategy starts (``gc_policy``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from macrofund.cli import default_config_path
from macrofund.config.run_config import load_run_config
from macrofund.engine import gc_policy
from macrofund.engine.assembly import run
from macrofund.strategies.ema_cross import EmaCross


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Start unfrozen and leave nothing frozen for the tests after this one."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_backtest_freezes_its_startup_objects_before_the_strategy_starts(
    tmp_path: Path, unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, int]] = []
    real_on_start = EmaCross.on_start

    def on_start(self: EmaCross) -> None:
        seen.append(("strategy starts", gc.get_freeze_count()))
        real_on_start(self)

    real_freeze = gc_policy.freeze_startup_objects

    def freeze() -> int:
        frozen = real_freeze()
        seen.append(("frozen", frozen))
        return frozen

    monkeypatch.setattr(EmaCross, "on_start", on_start)
    monkeypatch.setattr(gc_policy, "freeze_startup_objects", freeze)
    config = load_run_config(default_config_path(), {"run.run_id": "gc", "run.output_dir": str(tmp_path)})
    result = run(config)

    assert result.summary["accounts"][0]["orders"] > 0  # the run traded as usual
    assert [what for what, _ in seen] == ["frozen", "strategy starts"]
    frozen, at_strategy_start = seen[0][1], seen[1][1]
    # Every module, class and the kernel the process holds: far more than a handful of objects. A few
    # of them are freed by reference counting before the strategy starts (frozen objects still are).
    assert frozen > 50_000
    assert frozen - 1_000 < at_strategy_start <= frozen
