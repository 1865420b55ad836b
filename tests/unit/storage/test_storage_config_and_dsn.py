"""Storage settings and DSN handling that operators meet first."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from macrofund.config.run_config import RunConfig
from macrofund.errors import ConfigError
from macrofund.storage.config import StorageConfig
from macrofund.storage.pool import ENV_DATABASE_URL, StorageError, mask_dsn
from macrofund.storage.resolve import command_database
from macrofund.storage.rows import ORDER_COLUMNS, merge_order_rows


def test_default_flush_interval_bounds_loss_to_at_most_100ms() -> None:
    config = StorageConfig()
    assert config.database_url is None
    assert config.flush_interval <= timedelta(milliseconds=100)


def test_durations_accept_the_run_config_spellings() -> None:
    config = StorageConfig(flush_interval="20ms", pnl_interval="1h")
    assert config.flush_interval == timedelta(milliseconds=20)
    assert config.pnl_interval == timedelta(hours=1)


@pytest.mark.parametrize("value", ["0ms", "11s", "soon"])
def test_bad_flush_interval_is_a_one_line_config_error(value: str, tmp_path) -> None:
    from macrofund.config.run_config import load_run_config

    path = tmp_path / "run.toml"
    path.write_text(
        '[[venues]]\nname = "CME"\nstarting_balances = ["1_000_000 USD"]\n'
        '[[instruments]]\nid = "6EH4.CME"\n'
        '[[data]]\nkind = "bars"\npath = "x.csv"\ninstrument_id = "6EH4.CME"\n'
        '[[strategies]]\npath = "macrofund.strategies.ema_cross:EmaCross"\n'
        f'[storage]\nflush_interval = "{value}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_run_config(path)
    assert "storage.flush_interval" in str(err.value) and "\n" not in str(err.value)


def test_storage_section_is_part_of_the_run_config() -> None:
    assert RunConfig.model_fields["storage"].annotation is StorageConfig


def test_password_never_appears_in_messages() -> None:
    assert mask_dsn("postgresql://fund:hunter2@db:5432/x") == "postgresql://fund:***@db:5432/x"
    assert mask_dsn("postgresql://fund@db/x") == "postgresql://fund@db/x"


def test_dsn_flag_wins_over_environment_and_missing_both_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    notes: list[str] = []
    monkeypatch.setenv(ENV_DATABASE_URL, "postgresql://env/x")
    with command_database("postgresql://flag/x", notes.append) as dsn:
        assert dsn == "postgresql://flag/x"
    with command_database(None, notes.append) as dsn:
        assert dsn == "postgresql://env/x"
    monkeypatch.delenv(ENV_DATABASE_URL)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # no embedded database there yet
    with (
        pytest.raises(StorageError, match=r"--db .* or set MACROFUND_DATABASE_URL \(the embedded database"),
        command_database(None, notes.append),
    ):
        pass
    assert notes == []  # nothing was chosen for the user
    assert not (tmp_path / "macrofund").exists()  # and nothing was created


def test_merging_two_states_of_one_order_keeps_the_newer_and_what_only_the_older_knew() -> None:
    def state(seq: int, **fields: object) -> list:
        row = [None] * len(ORDER_COLUMNS)
        row[ORDER_COLUMNS.index("last_seq")] = seq
        for name, value in fields.items():
            row[ORDER_COLUMNS.index(name)] = value
        return row

    initialized = state(1, side="BUY", status="INITIALIZED")
    filled = state(4, status="FILLED", venue_order_id="V-1")
    for merged in (merge_order_rows(initialized, filled), merge_order_rows(filled, initialized)):
        assert merged[ORDER_COLUMNS.index("status")] == "FILLED"
        assert merged[ORDER_COLUMNS.index("side")] == "BUY"
        assert merged[ORDER_COLUMNS.index("last_seq")] == 4
