"""Bad input gets one clear line on stderr, exit code 2, no traceback, and no half-written run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult, run_cli

CONFIG = """
[run]
start = "2024-01-01T00:00:00Z"
[[venues]]
name = "CME"
starting_balances = ["{balance}"]
[[instruments]]
id = "{instrument}"
[[data]]
path = "{data}"
instrument_id = "{instrument}"
[[strategies]]
path = "{strategy}"
[strategies.config]
instrument_id = "{instrument}"
bar_type = "{instrument}-1-MINUTE-LAST-EXTERNAL"
"""

GOOD_CSV = "timestamp,open,high,low,close,volume\n" + "".join(
    f"2024-01-02T00:{m:02d}:00Z,1.10000,1.10010,1.09990,1.10005,{m + 1}\n" for m in range(40)
)


def _config(tmp_path: Path, **kw: str) -> Path:
    values = {
        "balance": "1000000 USD",
        "instrument": "6EH4.CME",
        "data": "bars.csv",
        "strategy": "macrofund.strategies.ema_cross:EmaCross",
    } | kw
    if not (tmp_path / "bars.csv").exists():
        (tmp_path / "bars.csv").write_text(GOOD_CSV)
    path = tmp_path / "run.toml"
    path.write_text(CONFIG.format(**values))
    return path


def _assert_one_line_error(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_a_good_small_config_runs(tmp_path: Path) -> None:
    result = run_cli("run", "-c", str(_config(tmp_path)), "--output-dir", str(tmp_path / "runs"), "-q")
    assert result.code == 0, result.stderr


def test_missing_data_file(tmp_path: Path) -> None:
    result = run_cli(
        "run", "-c", str(_config(tmp_path, data="nowhere.csv")), "--output-dir", str(tmp_path / "r")
    )
    _assert_one_line_error(result, "nowhere.csv", "not found")
    assert not (tmp_path / "r").exists()


def test_a_time_range_with_no_data_says_what_the_data_holds(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = run_cli("run", "-c", str(config), "--start", "2030-01-01", "--output-dir", str(tmp_path / "r"))
    _assert_one_line_error(
        result,
        "no market data from 2030-01-01T00:00:00.000000000Z to its end",
        "bars.csv holds 2024-01-02T00:00:00.000000000Z to 2024-01-02T00:39:00.000000000Z",
    )
    assert not (tmp_path / "r").exists()


def test_csv_with_a_malformed_row_names_the_line(tmp_path: Path) -> None:
    lines = GOOD_CSV.splitlines()
    lines[7] = "2024-01-02T00:06:00Z,1.10000,1.09000,1.09990,1.10005,7"  # high below low
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    result = run_cli("run", "-c", str(_config(tmp_path, data="bad.csv")), "--output-dir", str(tmp_path / "r"))
    _assert_one_line_error(result, "bad.csv", "line 8")


def test_unknown_strategy_path(tmp_path: Path) -> None:
    result = run_cli("run", "-c", str(_config(tmp_path, strategy="macrofund.strategies.nope:Missing")))
    _assert_one_line_error(result, "macrofund.strategies.nope")


def test_strategy_file_that_does_not_exist(tmp_path: Path) -> None:
    result = run_cli("run", "-c", str(_config(tmp_path, strategy="mine/strat.py:Mine")))
    _assert_one_line_error(result, "strat.py", "not found")


def test_unknown_instrument(tmp_path: Path) -> None:
    result = run_cli("run", "-c", str(_config(tmp_path, instrument="XXZ4.CME")))
    _assert_one_line_error(result, "XXZ4")


def test_negative_balance_names_file_and_key(tmp_path: Path) -> None:
    config = _config(tmp_path, balance="-5 USD")
    result = run_cli("run", "-c", str(config))
    _assert_one_line_error(result, str(config), "venues[0].starting_balances", "positive")


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda s: s.replace("[run]", "[run]\nbogus = 1"), ["run.bogus", "unknown key"]),
        (lambda s: s.replace('name = "CME"', "name = 5"), ["venues[0].name"]),
        (lambda s: s + "\n[[[broken", ["not valid TOML"]),
    ],
)
def test_malformed_config(tmp_path: Path, edit, fragments: list[str]) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path)
    config.write_text(edit(config.read_text()))
    _assert_one_line_error(run_cli("run", "-c", str(config)), *fragments)


def test_missing_config_file(tmp_path: Path) -> None:
    _assert_one_line_error(run_cli("run", "-c", str(tmp_path / "none.toml")), "none.toml", "not found")


def test_live_mode_without_a_fix_session_says_what_is_missing(tmp_path: Path, postgres_dsn: str) -> None:
    # The packaged sample has no [venues.fix]: live mode cannot reach a venue.
    result = run_cli(
        "run", "--mode", "live", "--output-dir", str(tmp_path), "--run-id", "l", "--duration", "5s",
        env={"MACROFUND_DATABASE_URL": postgres_dsn},
    )  # fmt: skip
    _assert_one_line_error(result, "venues[CME].fix", "live mode needs")
    assert not (tmp_path / "l").exists()


def test_a_venue_that_cannot_be_built_leaves_no_run_folder(tmp_path: Path) -> None:
    config = _config(tmp_path)
    # Almgren-Chriss parameters for ES only: the 6E venue cannot be built.
    impact = "{ ES = { sigma = 1, eta = 0.1, gamma = 0.01, epsilon = 0.1 } }"
    fill_model = f'fill_model = {{ kind = "almgren_chriss", impact = {impact} }}'
    config.write_text(config.read_text().replace('name = "CME"', f'name = "CME"\n{fill_model}'))
    result = run_cli("run", "-c", str(config), "--output-dir", str(tmp_path / "runs"), "--run-id", "r1")
    _assert_one_line_error(result, "6EH4.CME")
    assert not (tmp_path / "runs" / "r1").exists()


def test_two_strategy_entries_with_one_id_name_both_entries(tmp_path: Path) -> None:
    # The same order_id_tag twice (a copied [[strategies]] block): Nautilus refused the second with a
    # RuntimeError traceback.
    path = _config(tmp_path)
    block = path.read_text().split("[[strategies]]", 1)[1] + 'order_id_tag = "007"\n'
    path.write_text(path.read_text() + 'order_id_tag = "007"\n' + "[[strategies]]" + block)
    result = run_cli("run", "-c", str(path), "--output-dir", str(tmp_path / "runs"), "-q")
    _assert_one_line_error(
        result,
        str(path),
        "[[strategies]] #2 (EmaCross): strategy id EmaCross-007 is already [[strategies]] #1's",
        "order_id_tag",
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
