"""A backtest run with ``storage.database_url`` stores exactly what the run's own outputs report."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pandas as pd
import pytest

from macrofund.cli import default_config_path
from macrofund.config.run_config import load_run_config
from macrofund.engine.assembly import RunResult, run
from macrofund.storage.migrations import applied, available, upgrade_dsn
from macrofund.storage.rebuild import net_positions, positions_from_fills, rebuild


def fetch(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(go())


def run_default(dsn: str, out: Path, run_id: str = "db-run") -> RunResult:
    config = load_run_config(
        default_config_path(),
        {"run.run_id": run_id, "run.output_dir": str(out), "storage.database_url": dsn},
    )
    return run(config)


def _dec(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return Decimal(str(value))


@pytest.fixture
def stored_run(postgres_dsn: str, tmp_path: Path) -> tuple[str, RunResult]:
    return postgres_dsn, run_default(postgres_dsn, tmp_path)


def test_migrations_apply_from_empty_and_rerun_is_a_no_op(postgres_dsn: str) -> None:
    ours = [m.version for m in available()]
    first = asyncio.run(upgrade_dsn(postgres_dsn))
    assert first == ours and 1 in first
    assert asyncio.run(upgrade_dsn(postgres_dsn)) == []

    async def versions() -> list[int]:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            return await applied(conn)
        finally:
            await conn.close()

    assert asyncio.run(versions()) == ours
    tables = {r["tablename"] for r in fetch(postgres_dsn, "select tablename from pg_tables")}
    assert {
        "runs",
        "instruments",
        "orders",
        "order_events",
        "fills",
        "positions",
        "position_snapshots",
        "account_balances",
        "pnl_snapshots",
    } <= tables


def test_orders_in_the_database_equal_the_runs_orders_file(stored_run: tuple[str, RunResult]) -> None:
    dsn, result = stored_run
    parquet = pd.read_parquet(result.files["orders"]).set_index("client_order_id")
    rows = {r["client_order_id"]: r for r in fetch(dsn, "select * from orders where run_id = $1", "db-run")}
    assert len(parquet) > 100
    assert set(rows) == set(parquet.index)
    for coid, expected in parquet.iterrows():
        got = rows[coid]
        assert got["status"] == expected["status"], coid
        assert got["side"] == expected["side"] and got["type"] == expected["type"], coid
        assert got["quantity"] == _dec(expected["quantity"]), coid
        assert got["filled_qty"] == _dec(expected["filled_qty"]), coid
        assert got["avg_px"] == _dec(expected["avg_px"]), coid
        assert got["venue_order_id"] == expected["venue_order_id"], coid
        assert got["ts_init"] == expected["ts_init"] and got["ts_last"] == expected["ts_last"], coid


def test_fills_in_the_database_equal_the_runs_fills_file(stored_run: tuple[str, RunResult]) -> None:
    dsn, result = stored_run
    parquet = pd.read_parquet(result.files["fills"]).set_index("trade_id")
    rows = {r["trade_id"]: r for r in fetch(dsn, "select * from fills where run_id = $1", "db-run")}
    assert set(rows) == set(parquet.index) and len(rows) == len(parquet)
    for trade_id, expected in parquet.iterrows():
        got = rows[trade_id]
        for column in ("client_order_id", "side", "position_id", "liquidity", "ts_event"):
            assert got[column] == expected[column], (trade_id, column)
        for column in ("quantity", "price", "commission"):
            assert got[column] == _dec(expected[column]), (trade_id, column)


def test_positions_in_the_database_equal_the_runs_positions_file(stored_run: tuple[str, RunResult]) -> None:
    dsn, result = stored_run
    parquet = pd.read_parquet(result.files["positions"])
    rows = {
        (r["position_id"], r["ts_opened"]): r
        for r in fetch(dsn, "select * from positions where run_id = $1", "db-run")
    }
    assert len(rows) == len(parquet)
    for _, expected in parquet.iterrows():
        got = rows[(expected["position_id"], expected["ts_opened"])]
        assert (got["side"] == "FLAT") == (expected["status"] == "CLOSED")
        assert got["signed_qty"] == _dec(expected["quantity"])
        assert got["peak_qty"] == _dec(expected["peak_qty"])
        assert got["avg_px_open"] == _dec(expected["avg_px_open"])
        assert got["avg_px_close"] == _dec(expected["avg_px_close"])
        assert got["realized_pnl"] == _dec(expected["realized_pnl"])
        if expected["status"] == "CLOSED":
            assert got["ts_closed"] == int(expected["ts_closed"])
        else:
            assert got["unrealized_pnl"] == _dec(expected["unrealized_pnl"])


def test_rebuilt_positions_match_the_run_and_a_replay_of_its_fills(stored_run: tuple[str, RunResult]) -> None:
    dsn, result = stored_run
    state = rebuild(dsn, "db-run")
    assert state.open_orders == []  # market orders only: everything filled
    [position] = state.positions
    parquet = pd.read_parquet(result.files["positions"])
    still_open = parquet[parquet["status"] == "OPEN"]
    assert position.net_qty == sum((_dec(q) or Decimal(0) for q in still_open["quantity"]), Decimal(0))
    assert position.realized_pnl == sum((_dec(v) or Decimal(0) for v in parquet["realized_pnl"]), Decimal(0))

    async def both() -> tuple[list, list]:
        conn = await asyncpg.connect(dsn)
        try:
            return await net_positions(conn, "db-run"), await positions_from_fills(conn, "db-run")
        finally:
            await conn.close()

    stored, replayed = asyncio.run(both())
    assert [(p.strategy_id, p.instrument_id, p.net_qty) for p in stored] == [
        (p.strategy_id, p.instrument_id, p.net_qty) for p in replayed
    ]
    for s, r in zip(stored, replayed, strict=True):
        assert abs((s.avg_px_open or 0) - (r.avg_px_open or 0)) < Decimal("1e-9")
        assert abs(s.realized_pnl - r.realized_pnl) < Decimal("0.01")


def test_run_is_recorded_finished_with_pnl_snapshots_and_balances(stored_run: tuple[str, RunResult]) -> None:
    dsn, result = stored_run
    [run_row] = fetch(dsn, "select status, mode, restarts from runs where run_id = 'db-run'")
    assert run_row == {"status": "FINISHED", "mode": "backtest", "restarts": 0}
    section = result.summary["persistence"]
    assert section["events"] > 0 and section.get("unwritten", 0) == 0
    [last] = fetch(
        dsn,
        "select realized_pnl, unrealized_pnl, net_qty from pnl_snapshots where run_id = 'db-run' "
        "order by ts desc limit 1",
    )
    account = result.summary["accounts"][0]
    # Nautilus's realised P&L is net of fees; the summary's is before fees.
    assert last["realized_pnl"] == Decimal(account["realised_pnl"]) - Decimal(account["fees"])
    assert last["unrealized_pnl"] == Decimal(account["unrealised_pnl"])
    balances = fetch(dsn, "select count(*) as n from account_balances where run_id = 'db-run'")
    assert balances[0]["n"] > 0
    [instrument] = fetch(dsn, "select instrument_id, multiplier from instruments where run_id = 'db-run'")
    assert instrument["instrument_id"] == "6EH4.CME" and instrument["multiplier"] == Decimal(125000)


def test_every_batch_holds_each_fill_with_the_position_change_it_caused(
    postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hard kill loses at most the last batch; it must never store a fill without its position
    change (the rebuilt position would disagree with the stored fills). The smallest batches make
    the writer cut the event stream every hundred items, wherever that falls."""
    from nautilus_trader.model.events import OrderFilled
    from nautilus_trader.model.events.position import PositionEvent

    from macrofund.storage import persistence

    batches: list[list[Any]] = []
    real_build = persistence.build_batch

    def recording_build(run_id: str, items: Any, breathe: Any = None) -> Any:
        batches.append(list(persistence._opened_units(items)))
        return real_build(run_id, items, breathe)

    monkeypatch.setattr(persistence, "build_batch", recording_build)
    config = load_run_config(
        default_config_path(),
        {
            "run.run_id": "batches",
            "run.output_dir": str(tmp_path),
            "storage.database_url": postgres_dsn,
            "storage.flush_interval": "1ms",
            "storage.batch_max": 100,
        },
    )
    run(config)
    assert len(batches) > 20
    fills = 0
    for batch in batches:
        unmatched: dict[str, int] = {}
        for item in batch:
            event = item[1]
            if isinstance(event, OrderFilled):
                fills += 1
                assert not any(unmatched.values()), "a fill before the previous one's position change"
                unmatched[event.position_id.value] = event.last_qty.raw
            elif isinstance(event, PositionEvent):
                unmatched[event.position_id.value] -= event.last_qty.raw
        assert not any(unmatched.values()), "a batch ends between a fill and its position change"
    assert fills > 100
