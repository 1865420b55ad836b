"""A real backtest's audit trail (the packaged 6E sample), run once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from macrofund.config.run_config import RunConfig, load_run_config
from macrofund.engine.assembly import RunResult, run


def sample_config(out: Path, run_id: str, **overrides: object) -> RunConfig:
    """The packaged default backtest (EMA cross on a month of 6E minutes) into ``out``."""
    from macrofund.cli import default_config_path

    return load_run_config(
        default_config_path(), {"run.output_dir": str(out), "run.run_id": run_id, **overrides}
    )


@dataclass(frozen=True)
class Trail:
    result: RunResult
    path: Path
    lines: list[bytes]


@pytest.fixture(scope="session")
def backtest_trail(tmp_path_factory: pytest.TempPathFactory) -> Trail:
    result = run(sample_config(tmp_path_factory.mktemp("audit-runs"), "audit-unit"))
    path = result.output_dir / "audit.jsonl"
    return Trail(result, path, path.read_bytes().splitlines(keepends=True))
