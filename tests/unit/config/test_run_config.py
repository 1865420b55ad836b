"""The run config: validated at load, one-line errors naming file, key and problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from macrofund.config.run_config import load_run_config, parse_duration, parse_override
from macrofund.errors import ConfigError

MINIMAL = """
[[venues]]
name = "CME"
starting_balances = ["1_000_000 USD"]
[[instruments]]
id = "ESZ6.CME"
[[data]]
path = "data/es.csv"
instrument_id = "ESZ6.CME"
[[strategies]]
path = "my.py:Mine"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_minimal_config_gets_defaults_and_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    config = load_run_config(_write(tmp_path, MINIMAL))
    assert config.run.mode == "backtest"
    assert config.run.log_level == "ERROR"
    assert config.venues[0].oms_type == "NETTING" and config.venues[0].account_type == "MARGIN"
    assert config.resolve(config.data[0].path) == (tmp_path / "data" / "es.csv").resolve()


def test_overrides_apply_before_validation(tmp_path: Path) -> None:
    config = load_run_config(
        _write(tmp_path, MINIMAL),
        overrides={"run.mode": "paper", "run.start": "2024-01-02"},
        raw_overrides=[parse_override('venues.0.fees.ES="1.25"')],
    )
    assert config.run.mode == "paper"
    assert config.run.start == datetime(2024, 1, 2, tzinfo=UTC)
    assert str(config.venues[0].fees["ES"]) == "1.25"


def test_a_quoted_key_part_may_hold_dots_as_in_toml(tmp_path: Path) -> None:
    # An instrument id holds a dot: split at every dot, this named keys '"ESZ6' and 'CME"'.
    config = load_run_config(
        _write(tmp_path, MINIMAL),
        raw_overrides=[
            parse_override('risk.instruments."ESZ6.CME".max_short=0'),
            parse_override("risk.instruments.'ESZ6.CME'.max_long=4"),
            parse_override("venues.0.fees.ES=2"),
        ],
    )
    limits = config.risk.instruments["ESZ6.CME"]
    assert (limits.max_short, limits.max_long) == (0, 4)
    assert str(config.venues[0].fees["ES"]) == "2"
    with pytest.raises(ConfigError, match=r'not a valid key \(quote a part that holds dots: a\."b\.c"\.d\)'):
        load_run_config(_write(tmp_path, MINIMAL), raw_overrides=[parse_override('risk."unclosed.x=1')])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            MINIMAL.replace('"1_000_000 USD"', '"0 USD"'),
            "venues[0].starting_balances: '0 USD': a starting balance must be positive",
        ),
        (MINIMAL.replace('"1_000_000 USD"', '"lots USD"'), "venues[0].starting_balances: 'lots USD'"),
        (MINIMAL.replace('"1_000_000 USD"', '"1000"'), "is not '<amount> <CCY>'"),
        (MINIMAL.replace('id = "ESZ6.CME"', 'id = "ESZ6.B3"'), "venue B3, which has no [[venues]] entry"),
        (MINIMAL + '\n[run]\nmode = "turbo"\n', "run.mode"),
        (MINIMAL + '\n[run]\nequity_interval = "soon"\n', "run.equity_interval"),
        (MINIMAL + '\n[run]\nstart = "2024-02-01"\nend = "2024-01-01"\n', "is not after start"),
        (MINIMAL.replace('path = "my.py:Mine"', 'path = "no-colon"'), "strategies[0].path"),
        (
            MINIMAL.replace("[[data]]", '[[data]]\nkind = "quotes"\nprice_scale = -1'),
            "price_scale must be positive",
        ),
        (MINIMAL.replace("[[instruments]]", "[[instrumentz]]"), "instrumentz: unknown key"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_run_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert fragment in message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_run_config(_write(tmp_path, "[[venues]\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_run_config(tmp_path / "missing.toml")


def test_durations() -> None:
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration(90) == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d 12h") == timedelta(hours=60)
    assert parse_duration("1m30s") == parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1min 500ms") == timedelta(seconds=60.5)
    for bad in ("fortnight", "1h30", "h1", "-1m", "1.5h", "", "1h,30m"):
        with pytest.raises(ValueError, match="expected a duration"):
            parse_duration(bad)


@pytest.mark.parametrize(
    ("line", "expected"),
    [("", 30.0), ('open_order_check_interval = "2m"', 120.0), ('open_order_check_interval = "0s"', None)],
)
def test_live_open_order_check_interval_reaches_the_live_node_only(
    tmp_path: Path, line: str, expected: float | None
) -> None:
    from macrofund.engine.live import LIVE_VENUES
    from macrofund.engine.paper import PAPER_VENUES, _open_check_secs

    config = load_run_config(_write(tmp_path, MINIMAL + f"\n[run]\n{line}\n"))
    assert _open_check_secs(config, LIVE_VENUES) == expected
    assert _open_check_secs(config, PAPER_VENUES) is None  # the sandbox has nothing to re-check


def test_a_negative_open_order_check_interval_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "\n[run]\nopen_order_check_interval = -5\n")
    with pytest.raises(ConfigError, match=r"run\.open_order_check_interval: must be positive, or 0"):
        load_run_config(path)
