"""``macrofund calibrate`` as a user runs it: estimates from a bar file, a snippet to paste, clear errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.e2e.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "macrofund" / "sample_data" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
AC_CONFIG = ROOT / "configs" / "backtest-6e-ema-ac.toml"


def test_calibrate_prints_a_snippet_that_matches_the_shipped_ac_config() -> None:
    result = run_cli("calibrate", "--data", str(SAMPLE), "--instrument", "6EH4.CME")
    assert result.code == 0, result.stderr
    snippet = tomllib.loads("[[venues]]\n" + result.stdout)["venues"][0]["fill_model"]["impact"]["6E"]
    assert "daily sigma" in result.stderr and "daily volume" in result.stderr  # the table
    shipped = tomllib.loads(AC_CONFIG.read_text())["venues"][0]["fill_model"]["impact"]["6E"]
    assert snippet == shipped
    assert snippet["beta"] == 0.6 and snippet["alpha"] == 1.0 and snippet["epsilon"] == 2.5e-05
    assert 0.001 < snippet["sigma"] < 0.02  # EUR/USD moves tens of pips a day
    assert 50_000 < snippet["daily_volume"] < 500_000


def test_calibrate_writes_json_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "impact.json"
    result = run_cli(
        "calibrate", "--data", str(SAMPLE), "--instrument", "6EH4.CME", "--format", "json", "--out", str(out)
    )
    assert result.code == 0, result.stderr
    assert "daily sigma" in result.stdout and str(out) in result.stdout.replace("\n", "")
    params = json.loads(out.read_text())["6E"]
    assert set(params) == {
        "sigma",
        "eta",
        "gamma",
        "epsilon",
        "beta",
        "alpha",
        "trading_day_hours",
        "daily_volume",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "nope.csv", "--instrument", "ES.CME"], "--data nope.csv: file not found"),
        (["--data", str(SAMPLE), "--instrument", "ZZZ.CME"], "ZZZ"),
        (["--data", str(SAMPLE), "--instrument", "6EH4.CME", "--format", "yaml"], "--format 'yaml'"),
        (["--data", str(SAMPLE), "--instrument", "6EH4.CME", "--spread-ticks", "-1"], "--spread-ticks"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run_cli("calibrate", *args)
    assert result.code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""


def test_bars_without_volume_or_with_bad_rows_get_one_line_and_exit_2(tmp_path: Path) -> None:
    no_volume = tmp_path / "novol.csv"
    no_volume.write_text(
        "timestamp,open,high,low,close\n"
        + "".join(
            f"2024-01-{d:02d} 15:{m:02d}:00,1.1,1.1005,1.0995,1.1\n" for d in (8, 9, 10) for m in range(10)
        )
    )
    result = run_cli("calibrate", "--data", str(no_volume), "--instrument", "6EH4.CME")
    assert result.code == 2 and "novol.csv: the bars carry no volume" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n2024-01-08 15:00:00,1.1,1.09,1.1,1.1,5\n")
    result = run_cli("calibrate", "--data", str(bad), "--instrument", "6EH4.CME")
    assert result.code == 2 and "bad.csv" in result.stderr and "line 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
