"""``macrofund run --mode backtest`` end to end, as a user runs it."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pandas as pd

from macrofund.venues.contracts import futures_contract
from tests.e2e.conftest import CliResult, RunOutputs, read_outputs, run_cli

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "macrofund"
    / "sample_data"
    / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
)


def _last_close() -> Decimal:
    with gzip.open(SAMPLE, "rt") as fh:
        last = fh.read().strip().splitlines()[-1]
    return Decimal(last.split(",")[4])


def test_default_run_prints_summary_and_writes_every_output(
    default_run: tuple[CliResult, RunOutputs],
) -> None:
    result, out = default_run
    for name in (
        "summary.json",
        "config.json",
        "orders.parquet",
        "fills.parquet",
        "positions.parquet",
        "accounts.parquet",
        "equity.parquet",
    ):
        assert (out.folder / name).is_file(), name
    assert "Net P&L" in result.stdout and "Sharpe" in result.stdout and "Max drawdown" in result.stdout
    assert str(out.folder) in result.stdout.replace("\n", "")
    account = out.summary["accounts"][0]
    assert account["orders"] > 100  # an always-in-market EMA cross over a month of minutes trades a lot
    assert out.summary["period"]["start"].startswith("2024-01-01T23:01")
    assert out.summary["period"]["end"].startswith("2024-01-31T23:59")
    assert "warnings" not in out.summary and "warning" not in result.stderr


def test_summary_agrees_with_orders_and_fills_files(default_run: tuple[CliResult, RunOutputs]) -> None:
    _, out = default_run
    account = out.summary["accounts"][0]
    fills, orders = out.fills, out.orders
    assert account["fills"] == len(fills)
    assert account["orders"] == len(orders)
    assert set(fills["client_order_id"]) <= set(orders["client_order_id"])
    assert (orders["status"] == "FILLED").sum() == orders["client_order_id"].isin(
        fills["client_order_id"]
    ).sum()
    fees = sum(fills["commission"], Decimal(0))
    assert Decimal(account["fees"]) == fees.quantize(Decimal("0.01"))
    assert fees > 0

    # Net P&L recomputed from the fills alone: cash flows plus the final position marked at the last close.
    multiplier = futures_contract(
        "6EH4.CME", reference=pd.Timestamp("2024-01-01").date()
    ).multiplier.as_decimal()
    signed = [q if s == "BUY" else -q for q, s in zip(fills["quantity"], fills["side"], strict=True)]
    cash = sum((-q * p * multiplier for q, p in zip(signed, fills["price"], strict=True)), Decimal(0))
    position = sum(signed, Decimal(0))
    net = cash + position * _last_close() * multiplier - fees
    assert Decimal(account["net_pnl"]) == net.quantize(Decimal("0.01"))
    assert Decimal(account["final_equity"]) == Decimal(account["starting_balance"]) + Decimal(
        account["net_pnl"]
    )


def test_equity_curve_ends_at_final_equity(default_run: tuple[CliResult, RunOutputs]) -> None:
    _, out = default_run
    account = out.summary["accounts"][0]
    assert len(out.equity) > 24 * 25  # hourly samples over a month
    assert out.equity["ts"].is_monotonic_increasing
    assert out.equity["equity"].iloc[-1].quantize(Decimal("0.01")) == Decimal(account["final_equity"])


def test_purging_the_cache_loses_nothing_from_the_outputs(tmp_path: Path) -> None:
    purged = run_cli(
        "run", "--output-dir", str(tmp_path), "--run-id", "purged", "-q", "--set", 'run.purge_interval="5m"'
    )
    kept = run_cli(
        "run", "--output-dir", str(tmp_path), "--run-id", "kept", "-q", "--set", 'run.purge_interval="3650d"'
    )
    assert purged.code == 0 and kept.code == 0, purged.stderr + kept.stderr
    a, b = read_outputs(tmp_path / "purged"), read_outputs(tmp_path / "kept")
    assert a.summary["cache_purges"] > 8000 and b.summary["cache_purges"] == 0
    cols = ["client_order_id", "side", "quantity", "status", "avg_px"]
    pd.testing.assert_frame_equal(
        a.orders[cols].sort_values("client_order_id").reset_index(drop=True),
        b.orders[cols].sort_values("client_order_id").reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(a.fills, b.fills)
    assert a.summary["accounts"] == b.summary["accounts"]
    assert len(a.positions) == len(b.positions)


def test_strategy_from_a_file_outside_the_package(tmp_path: Path) -> None:
    # The strategy imports a helper module beside it, as a script would; the CLI runs from elsewhere.
    (tmp_path / "my_signals.py").write_text(
        "def every_nth(count: int, n: int) -> bool:\n    return count % n == 0\n", encoding="utf-8"
    )
    strategy_file = tmp_path / "my_strategies.py"
    strategy_file.write_text(
        """
from decimal import Decimal

from my_signals import every_nth

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class BuyEveryNBarsConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    every: int = 1000


class BuyEveryNBars(Strategy):
    def __init__(self, config: BuyEveryNBarsConfig) -> None:
        super().__init__(config)
        self.count = 0

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        self.count += 1
        if every_nth(self.count, self.config.every):
            qty = self.instrument.make_qty(1)
            self.submit_order(self.order_factory.market(self.config.instrument_id, OrderSide.BUY, qty))
""",
        encoding="utf-8",
    )
    result = run_cli(
        "run",
        "--output-dir",
        str(tmp_path),
        "--run-id",
        "mine",
        "-q",
        "--strategy",
        f"{strategy_file}:BuyEveryNBars",
        "--strategy-config",
        '{"instrument_id": "6EH4.CME", "bar_type": "6EH4.CME-1-MINUTE-LAST-EXTERNAL", "every": 1000}',
    )
    assert result.code == 0, result.stderr
    out = read_outputs(tmp_path / "mine")
    assert len(out.orders) == 29_996 // 1000
    assert set(out.orders["side"]) == {"BUY"}
    assert out.orders["strategy_id"].str.startswith("BuyEveryNBars").all()
    assert out.positions.loc[out.positions["status"] == "OPEN", "quantity"].tolist() == [Decimal(29)]


def test_outputs_of_an_existing_run_are_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "summary.json").write_text("{}")
    result = run_cli("run", "--output-dir", str(tmp_path), "--run-id", "taken", "-q")
    assert result.code == 2
    assert "already exists" in result.stderr
    assert (tmp_path / "taken" / "summary.json").read_text() == "{}"


def _sample_config(tmp_path: Path, instrument: str = "6EH4.CME", start: bool = True) -> Path:
    """The packaged default run, its data by absolute path; optionally another code or no [run] start."""
    text = (SAMPLE.parent / "default-backtest.toml").read_text(encoding="utf-8")
    text = text.replace(f'path = "{SAMPLE.name}"', f'path = "{SAMPLE}"').replace("6EH4.CME", instrument)
    if not start:
        text = "\n".join(line for line in text.splitlines() if not line.startswith("start ="))
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_one_digit_contract_year_without_a_start_is_read_from_the_data(tmp_path: Path) -> None:
    # Read from today (2026 or later), 6EH4 was the 2034 contract: every order rejected, not yet listed.
    config = _sample_config(tmp_path, start=False)
    result = run_cli("run", "-c", str(config), "--output-dir", str(tmp_path), "--run-id", "nostart", "-q")
    assert result.code == 0, result.stderr
    out = read_outputs(tmp_path / "nostart")
    account = out.summary["accounts"][0]
    assert account["orders"] > 100 and account["rejected"] == 0 and account["fills"] >= account["orders"]
    assert "rejections" not in out.summary


def test_orders_the_venue_rejects_are_counted_with_their_reason(tmp_path: Path) -> None:
    # 6EH9 (March 2029) is listed five years ahead: not yet trading in January 2024.
    config = _sample_config(tmp_path, instrument="6EH9.CME")
    result = run_cli("run", "-c", str(config), "--output-dir", str(tmp_path), "--run-id", "early")
    assert result.code == 0, result.stderr
    out = read_outputs(tmp_path / "early")
    account = out.summary["accounts"][0]
    assert account["orders"] > 100 and account["rejected"] == account["orders"] and account["fills"] == 0
    (reason, count), *others = out.summary["rejections"]["reasons"].items()
    assert reason.startswith("Contract 6EH9.CME not yet active, activation 2024-03-01") and not others
    assert count == out.summary["rejections"]["orders_rejected"] == account["rejected"]
    assert set(out.orders["status"]) == {"REJECTED"} and set(out.orders["reason"]) == {reason}
    assert "Rejected by the venue" in result.stdout and "Rejections" in result.stdout


def test_a_subscription_no_data_feeds_is_a_warning_not_a_silent_empty_run(tmp_path: Path) -> None:
    typo = "6EH4.CME-1-MINUTE-MID-EXTERNAL"  # the file holds LAST (trade) bars
    result = run_cli(
        "run", "-c", str(_sample_config(tmp_path)), "--output-dir", str(tmp_path), "--run-id", "typo",
        "--set", f'strategies.0.config.bar_type="{typo}"',
    )  # fmt: skip
    assert result.code == 0, result.stderr
    out = read_outputs(tmp_path / "typo")
    assert out.summary["accounts"][0]["orders"] == 0
    (warning,) = out.summary["warnings"]
    assert warning.startswith(f"a strategy subscribed to {typo} bars, but no [[data]] source provides them")
    assert "in the run's period (the data there: 6EH4.CME-1-MINUTE-LAST-EXTERNAL)" in warning
    assert result.stderr.strip() == f"warning: {warning}"
