"""Crash safety: ``macrofund run --db`` killed with SIGKILL mid-run leaves a consistent prefix in
PostgreSQL, positions rebuilt from it agree with its fills, and a restart under the same run id
completes the run without duplicating anything."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pandas as pd
import pytest

from bench.backtest_throughput import make_bars
from macrofund.storage.rebuild import net_positions, positions_from_fills

BARS = 400_000
RUN_ID = "crash"

CONFIG = """
[run]
mode = "backtest"
log_level = "OFF"
purge_interval = "1h"

[[venues]]
name = "CME"
oms_type = "NETTING"
account_type = "MARGIN"
base_currency = "USD"
starting_balances = ["100_000_000 USD"]
[venues.fees]
ES = "2.25"

[[instruments]]
id = "ES.CME"

[[data]]
kind = "bars"
path = "{data}"
instrument_id = "ES.CME"

[[strategies]]
path = "macrofund.strategies.ema_cross:EmaCross"
[strategies.config]
instrument_id = "ES.CME"
bar_type = "ES.CME-1-MINUTE-LAST-EXTERNAL"
fast_period = 10
slow_period = 30
"""


def query(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(go())


def fills_stored(dsn: str) -> int:
    try:
        return int(query(dsn, "select count(*) as n from fills")[0]["n"])
    except asyncpg.UndefinedTableError:
        return 0


def start_run(config: Path, dsn: str, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "macrofund", "run", "-q", "--config", str(config), "--db", dsn),
            *("--run-id", RUN_ID, "--output-dir", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )


def assert_consistent_prefix(dsn: str) -> None:
    """Every fill has its OrderFilled event and vice versa; per-order sequences have no gaps; each
    order's current row is its last stored event."""
    orphan_fills = query(
        dsn,
        "select f.trade_id from fills f where not exists (select 1 from order_events e "
        " where e.run_id = f.run_id and e.client_order_id = f.client_order_id "
        " and e.event_type = 'OrderFilled' and e.payload->>'trade_id' = f.trade_id)",
    )
    assert orphan_fills == []
    missing_fills = query(
        dsn,
        "select e.client_order_id from order_events e where e.event_type = 'OrderFilled' and not exists "
        "(select 1 from fills f where f.run_id = e.run_id and f.trade_id = e.payload->>'trade_id')",
    )
    assert missing_fills == []
    gaps = query(
        dsn,
        "select client_order_id from order_events group by run_id, client_order_id "
        "having min(seq) <> 1 or max(seq) <> count(*)",
    )
    assert gaps == []
    stale = query(
        dsn,
        "select o.client_order_id from orders o join (select client_order_id, max(seq) as last "
        "from order_events group by client_order_id) e using (client_order_id) where o.last_seq <> e.last",
    )
    assert stale == []
    unordered = query(
        dsn,
        "select e.client_order_id from order_events e left join orders o using (run_id, client_order_id) "
        "where o.client_order_id is null",
    )
    assert unordered == []


def rebuilt_and_replayed(dsn: str) -> tuple[list, list]:
    async def go() -> tuple[list, list]:
        conn = await asyncpg.connect(dsn)
        try:
            return await net_positions(conn, RUN_ID), await positions_from_fills(conn, RUN_ID)
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.mark.slow
def test_sigkill_mid_run_leaves_a_consistent_prefix_and_a_restart_completes_it(
    postgres_dsn: str, tmp_path: Path
) -> None:
    data = tmp_path / "es_bars.parquet"
    make_bars(BARS).to_parquet(data)
    config = tmp_path / "crash.toml"
    config.write_text(CONFIG.format(data=data), encoding="utf-8")

    proc = start_run(config, postgres_dsn, tmp_path / "first")
    try:
        deadline = time.monotonic() + 240
        while fills_stored(postgres_dsn) < 5_000:
            assert proc.poll() is None, (
                f"run ended before the kill: {proc.stderr.read() if proc.stderr else ''}"
            )
            assert time.monotonic() < deadline, "no fills reached the database in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    killed_at = fills_stored(postgres_dsn)

    [run_row] = query(postgres_dsn, "select status from runs where run_id = $1", RUN_ID)
    assert run_row["status"] == "RUNNING"  # never finished: the crash is visible
    assert_consistent_prefix(postgres_dsn)
    stored, replayed = rebuilt_and_replayed(postgres_dsn)
    assert stored and [(p.strategy_id, p.instrument_id, p.net_qty) for p in stored] == [
        (p.strategy_id, p.instrument_id, p.net_qty) for p in replayed
    ]
    for s, r in zip(stored, replayed, strict=True):
        assert abs((s.avg_px_open or 0) - (r.avg_px_open or 0)) < Decimal("1e-6")
        assert abs(s.realized_pnl - r.realized_pnl) < Decimal("0.01")

    # Restart under the same run id: the deterministic backtest replays the same events; what was
    # stored before the crash is not duplicated and the run completes.
    restart = start_run(config, postgres_dsn, tmp_path / "second")
    _, err = restart.communicate(timeout=600)
    assert restart.returncode == 0, err.decode()[-2000:]
    out = tmp_path / "second" / RUN_ID
    fills = pd.read_parquet(out / "fills.parquet")
    orders = pd.read_parquet(out / "orders.parquet")
    assert 5_000 <= killed_at < len(fills)  # killed in the middle, not at the start or end
    assert fills_stored(postgres_dsn) == len(fills)
    assert query(postgres_dsn, "select count(*) as n from orders")[0]["n"] == len(orders)
    [run_row] = query(postgres_dsn, "select status, restarts from runs where run_id = $1", RUN_ID)
    assert run_row == {"status": "FINISHED", "restarts": 1}
    assert_consistent_prefix(postgres_dsn)
    stored, _ = rebuilt_and_replayed(postgres_dsn)
    positions = pd.read_parquet(out / "positions.parquet")
    still_open = positions[positions["status"] == "OPEN"]
    assert stored[0].net_qty == sum((Decimal(str(q)) for q in still_open["quantity"]), Decimal(0))
