"""SIGKILL a live node with working orders, let the venue fill some while it is down, restart the run.

Everything runs as a user runs it: ``macrofund exchange-sim --venue b3`` and ``macrofund run --mode
live`` as subprocesses over a real FIX session, PostgreSQL from the ``postgres_dsn`` fixture. The
venue's own records are the truth the node is checked against: its order journal
(``<state-dir>/orders-B3.jsonl``, the latest line of an order wins) and its raw FIX log (every message
it received). The strategy (``tests/e2e/strategies/resting_ladder.py``) rests GTC limit orders on both
sides of the venue's starting price; the venue's reference price random-walks (seeded GBM), so some
fill at once, some while the node runs, some while it is dead, and the rest are working at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pandas as pd
import pytest

from macrofund.storage.pool import run_sync
from macrofund.storage.rebuild import rebuild
from tests.e2e.conftest import start_exchange_sim

RUN_ID = "restart1"
CENTER = Decimal(160000)
PASSWORD = "local-only"

VENUE_CONFIG = """
venue = "b3"
comp_id = "B3"
order_types = ["market", "limit", "stop", "stop_limit"]
time_in_force = ["day", "gtc", "ioc", "fok", "gtd"]
partial_fill_qty = 1                  # a resting order fills one lot per crossing quote: partial fills
[[sessions]]
comp_id = "MF01"
username = "mf"
password_env = "B3_SIM_PASSWORD"
[reference]
source = "gbm"
seed = 42
quotes_per_second = 10.0
[[instruments]]
instrument_id = "WINZ26.B3"
start_price = "160000"
max_qty = 500
volatility = 1.0
"""

RUN_CONFIG = """
[run]
mode = "live"
log_level = "ERROR"
equity_interval = "10s"
purge_interval = "10m"

[[venues]]
name = "B3"
oms_type = "NETTING"
account_type = "MARGIN"
base_currency = "BRL"
starting_balances = ["10_000_000 BRL"]

[venues.fix]
password_env = "B3_SIM_PASSWORD"
status_timeout_secs = 15
[venues.fix.session]
sender_comp_id = "MF01"
target_comp_id = "B3"
host = "127.0.0.1"
port = {port}
username = "mf"
log_dir = "{tmp}/fix-log"
[venues.fix.session.store]
kind = "file"
path = "{tmp}/fix-state"
[venues.fix.profile]
entering_firm = "308"
entering_trader = "TRD1"
account = "12345"

[[instruments]]
id = "WINZ26.B3"

[feed]
source = "sim"
record = false
[feed.sim]
seed = 11
rate = 20
ignore_sessions = true

[[strategies]]
path = "tests.e2e.strategies.resting_ladder:RestingLadder"
[strategies.config]
instrument_id = "WINZ26.B3"
center = "160000"
step = "15"
levels = 8
trade_size = "3"
"""


def _wait_for(what: str, check: Callable[[], bool], timeout: float, proc: Any = None) -> None:
    """Poll ``check`` until true; fail naming ``what`` (and the process's stderr if it died)."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited {proc.returncode}: {proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """``macrofund exchange-sim --venue b3`` on a free port with a random-walking WINZ26 reference."""
    config = tmp_path / "venue.toml"
    config.write_text(VENUE_CONFIG)
    state = tmp_path / "venue"
    proc, port = start_exchange_sim("b3", state, "B3_SIM_PASSWORD", config=config, timeout_s=60)
    try:
        yield port, state
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _venue_orders(state: Path) -> dict[str, dict[str, Any]]:
    """The venue's orders of our session by first ClOrdID (the NewOrderSingle's), latest line wins."""
    path = state / "orders-B3.jsonl"
    orders: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return orders
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written right now
        order = record.get("order")
        if order and order["client"] == "MF01":
            orders[order["cl_ord_ids"][0] if order["cl_ord_ids"] else order["cl_ord_id"]] = order
    return orders


def _new_orders_received(state: Path) -> Counter[str]:
    """ClOrdID (11) of every NewOrderSingle (35=D) in the venue's raw log of what it received."""
    counts: Counter[str] = Counter()
    for log in state.glob("logs/**/*.log"):
        for line in log.read_text().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] == "IN" and "|35=D|" in parts[2]:
                match = re.search(r"\|11=([^|]+)\|", parts[2])
                assert match, line
                counts[match.group(1)] += 1
    return counts


def _query(dsn: str, sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` (with ``$1`` = this test's run id) from the node's database."""

    async def go() -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(sql, RUN_ID)
        finally:
            await conn.close()

    return [dict(r) for r in run_sync(go)]


def _node_orders(dsn: str) -> dict[str, dict[str, Any]]:
    rows = _query(dsn, "select client_order_id, status, filled_qty from orders where run_id = $1")
    return {r["client_order_id"]: r for r in rows}


def _node_fills(dsn: str) -> list[dict[str, Any]]:
    return _query(dsn, "select trade_id, client_order_id, quantity from fills where run_id = $1")


def _forget(dsn: str, client_order_id: str) -> None:
    """Delete an order's records, as if the kill had come before they were written."""

    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for table in ("orders", "order_events", "fills"):
                await conn.execute(
                    f"delete from {table} where run_id = $1 and client_order_id = $2", RUN_ID, client_order_id
                )
        finally:
            await conn.close()

    run_sync(go)


def audit_records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]


_STATUS = {"0": "ACCEPTED", "1": "PARTIALLY_FILLED", "2": "FILLED", "4": "CANCELED", "C": "EXPIRED"}


def test_a_killed_live_node_restarts_in_step_with_the_venue_and_sends_nothing_twice(
    tmp_path: Path, venue: tuple[int, Path], postgres_dsn: str
) -> None:
    port, state = venue
    config = tmp_path / "live.toml"
    config.write_text(RUN_CONFIG.format(port=port, tmp=tmp_path))
    env = {**os.environ, "MACROFUND_DATABASE_URL": postgres_dsn, "B3_SIM_PASSWORD": PASSWORD}
    command = [
        *(sys.executable, "-m", "macrofund", "run", "--mode", "live", "--config", str(config)),
        *("--output-dir", str(tmp_path / "runs"), "--run-id", RUN_ID, "-q"),
    ]

    # Session 1: runs until the ladder is at the venue and recorded, some of it filled, some working.
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def traded_and_working() -> bool:
        orders = _venue_orders(state)
        recorded = _node_orders(postgres_dsn) if orders else {}
        return (
            len(orders) == 16
            and len(recorded) == 16
            # partly filled, still working, and recorded so: restored with the fills booked so far
            and any(
                o["status"] == "1" and recorded[k]["status"] == "PARTIALLY_FILLED"
                for k, o in orders.items()
                if k in recorded
            )
            and sum(o["status"] == "0" and o["cum_qty"] == "0" for o in orders.values()) >= 2
        )

    try:
        _wait_for("the ladder working at the venue, one order partly filled", traded_and_working, 240, first)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL

    # While the node is dead the venue keeps matching: wait until it fills an order that was working.
    at_kill = {k: Decimal(o["cum_qty"]) for k, o in _venue_orders(state).items() if o["status"] in "01"}

    def filled_while_down() -> list[str]:
        now = _venue_orders(state)
        return [k for k, cum in at_kill.items() if Decimal(now[k]["cum_qty"]) > cum]

    _wait_for("a venue fill while the node is down", lambda: bool(filled_while_down()), 300)
    down_fills = filled_while_down()
    # An order sent in the instant before the kill is at the venue but never reached the database:
    # make one so by deleting a working order's records (the FIX session store still has what we sent).
    # Unfilled at the kill (so the node cannot have booked anything of it), preferably still working.
    unfilled = sorted(k for k, cum in at_kill.items() if cum == 0)
    if not unfilled:
        pytest.fail(f"no unfilled working order at the kill to forget: {at_kill}")
    unrecorded = next((k for k in unfilled if k not in down_fills), unfilled[0])
    _forget(postgres_dsn, unrecorded)

    # Session 2: the same run id resumes; stop it cleanly (working orders cancelled on stop).
    second = subprocess.run(
        [*command, "--duration", "15s"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert second.returncode == 0, second.stderr[-3000:]
    out = tmp_path / "runs" / RUN_ID
    summary = json.loads((out / "summary.json").read_text())
    assert summary["session"] == 2
    assert summary["resumed"]["lost_orders"] == [], "every working order should have been restored"

    venue_orders = _venue_orders(state)
    node_orders = _node_orders(postgres_dsn)
    # Nothing was sent twice: one NewOrderSingle per ClOrdID, and no ladder was placed again.
    received = _new_orders_received(state)
    assert set(received) == set(venue_orders)
    assert max(received.values()) == 1, {k: n for k, n in received.items() if n > 1}
    assert len(venue_orders) == 16

    # The node's final state of every order is the venue's: status and filled quantity.
    assert set(node_orders) == set(venue_orders)
    for cl_ord_id, v in venue_orders.items():
        n = node_orders[cl_ord_id]
        assert (n["status"], n["filled_qty"]) == (_STATUS[v["status"]], Decimal(v["cum_qty"])), cl_ord_id
    # The unrecorded order was found, asked about, recorded and audited as such; not sent again.
    assert node_orders[unrecorded]["status"] == _STATUS[venue_orders[unrecorded]["status"]]
    assert any(
        r["payload"].get("type") == "OrderInitialized"
        and r["payload"].get("client_order_id") == unrecorded
        and "UNRECORDED" in str(r["payload"].get("tags"))
        for r in audit_records(out)
    )
    # The fills made while the node was down are booked.
    for cl_ord_id in down_fills:
        assert node_orders[cl_ord_id]["filled_qty"] == Decimal(venue_orders[cl_ord_id]["cum_qty"])

    # No fill booked twice: the booked fills of each order add up to the venue's CumQty, and trade
    # ids are unique in the audit trail (both sessions) and in the resumed session's fills file.
    fills = _node_fills(postgres_dsn)
    booked: dict[str, Decimal] = {}
    for f in fills:
        booked[f["client_order_id"]] = booked.get(f["client_order_id"], Decimal(0)) + f["quantity"]
    venue_filled = {k: Decimal(v["cum_qty"]) for k, v in venue_orders.items() if Decimal(v["cum_qty"]) > 0}
    assert booked == venue_filled
    audit = audit_records(out)
    trade_ids = [r["payload"]["trade_id"] for r in audit if r["payload"].get("type") == "OrderFilled"]
    assert len(trade_ids) == len(set(trade_ids))
    session_fills = pd.read_parquet(out / "fills.parquet")
    assert session_fills["trade_id"].is_unique

    # The position is the venue's net fills.
    venue_net = sum(
        (Decimal(v["cum_qty"]) * (1 if v["side"] == "1" else -1) for v in venue_orders.values()), Decimal(0)
    )
    state_after = rebuild(postgres_dsn, RUN_ID)
    net = sum((p.net_qty for p in state_after.positions if p.instrument_id == "WINZ26.B3"), Decimal(0))
    assert net == venue_net
    assert state_after.open_orders == []
