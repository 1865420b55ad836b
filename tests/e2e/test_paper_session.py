"""A paper session as a user runs it: ``macrofund run --mode paper`` as a subprocess, real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "paper-6e-ema.toml"
FAST = [
    "--set",
    "feed.sim.rate=2000",
    "--set",
    "strategies.0.config.fast_period=2",
    "--set",
    "strategies.0.config.slow_period=4",
    "--set",
    'strategies.0.config.bar_type="6EH7.CME-5-TICK-MID-INTERNAL"',
]


def _paper(tmp_path: Path, dsn: str, run_id: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "macrofund",
        "run",
        "--mode",
        "paper",
        "--config",
        str(CONFIG),
        "--output-dir",
        str(tmp_path),
        "--run-id",
        run_id,
        "-q",
        *FAST,
        *extra,
    ]


def _env(dsn: str) -> dict[str, str]:
    return {**os.environ, "MACROFUND_DATABASE_URL": dsn, "COLUMNS": "200"}


def _rows(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def _start_paper(tmp_path: Path, dsn: str, run_id: str, *extra: str) -> subprocess.Popen[str]:
    """``macrofund run --mode paper`` in the background, returned once its run folder holds config.json
    and it has traded for 3 s."""
    proc = subprocess.Popen(
        _paper(tmp_path, dsn, run_id, *extra),
        env=_env(dsn),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / run_id / "config.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)
    return proc


def test_paper_session_fills_through_risk_and_is_audited_and_persisted(
    tmp_path: Path, postgres_dsn: str
) -> None:
    proc = subprocess.run(
        _paper(tmp_path, postgres_dsn, "p1", "--duration", "4s"),
        env=_env(postgres_dsn),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "p1"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "paper" and summary["stopped_by"].startswith("duration")
    orders = pd.read_parquet(out / "orders.parquet")
    fills = pd.read_parquet(out / "fills.parquet")
    assert len(orders) > 0 and len(fills) > 0
    assert summary["risk"]["orders_checked"] == len(orders)
    # Fees are the venue's ContractFeeModel: 2.10 USD per 6E contract per side.
    assert all(
        fills["commission"].astype(str).map(lambda c: float(c)) == fills["quantity"].astype(float) * 2.10
    )
    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert sum(1 for r in audit if r["payload"].get("type") == "OrderFilled") == len(fills)
    stored = _rows(postgres_dsn, "select count(*) as n from fills where run_id = $1", "p1")
    assert stored[0]["n"] == len(fills)
    assert "PostgreSQL" in proc.stdout and "Run p1 (paper)" in proc.stdout


def test_sigterm_stops_cleanly_with_summary_and_outputs(tmp_path: Path, postgres_dsn: str) -> None:
    proc = _start_paper(tmp_path, postgres_dsn, "p2")
    out = tmp_path / "p2"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr[-2000:]
    assert "stopping: SIGTERM" in stdout and "Run p2 (paper)" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGTERM"
    orders = pd.read_parquet(out / "orders.parquet")
    assert not orders["status"].isin(["SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"]).any()
    assert (out / "market_data" / "recording.json").is_file() and (out / "replay.toml").is_file()


def test_a_second_signal_while_stopping_does_not_cut_the_stop_short(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """Before: a second Ctrl-C while the run was stopping ended the process with exit 130, no summary
    and nothing said; a second SIGTERM killed it on the spot, queued database writes and all."""
    proc = _start_paper(tmp_path, postgres_dsn, "p-twice")
    out = tmp_path / "p-twice"
    try:
        proc.send_signal(signal.SIGINT)
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("stopping: SIGINT"):
                break
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    stdout = "".join(seen) + stdout
    assert proc.returncode == 0, stderr[-2000:]
    assert "still stopping:" in stdout and "press Ctrl-C again to abandon" in stdout
    assert "Run p-twice (paper)" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGINT"
    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["type"] == "RunStop" and audit[-1]["payload"]["completed"] is True
    fills = pd.read_parquet(out / "fills.parquet")
    stored = _rows(postgres_dsn, "select count(*) as n from fills where run_id = $1", "p-twice")
    assert stored[0]["n"] == len(fills) > 0


def test_restart_with_the_same_run_id_resumes_positions_from_the_database(
    tmp_path: Path, postgres_dsn: str
) -> None:
    first = subprocess.run(
        _paper(tmp_path, postgres_dsn, "p3", "--duration", "3s"),
        env=_env(postgres_dsn),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    before = json.loads((tmp_path / "p3" / "summary.json").read_text())
    open_before = [
        p for p in pd.read_parquet(tmp_path / "p3" / "positions.parquet").itertuples() if p.status == "OPEN"
    ]
    second = subprocess.run(
        _paper(tmp_path, postgres_dsn, "p3", "--duration", "2s"),
        env=_env(postgres_dsn),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    after = json.loads((tmp_path / "p3" / "summary.json").read_text())
    assert after["session"] == 2 and (tmp_path / "p3" / "sessions" / "1" / "summary.json").is_file()
    resumed = after["resumed"]
    assert [(p["instrument_id"], p["quantity"]) for p in resumed["positions"]] == [
        (p.instrument_id, str(p.quantity)) for p in open_before
    ]
    # The balance carries the first session's realised P&L net of fees.
    account = before["accounts"][0]
    expected = 1_000_000 + float(account["realised_pnl"]) - float(account["fees"])
    assert abs(float(resumed["balances"]["CME:USD"]) - expected) < 0.01


def test_operator_kill_reaches_a_running_paper_session(tmp_path: Path, postgres_dsn: str) -> None:
    proc = subprocess.Popen(
        _paper(tmp_path, postgres_dsn, "p4", "--duration", "20s"),
        env=_env(postgres_dsn),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = tmp_path / "p4"
    deadline = time.monotonic() + 60
    while not (out / "control" / "heartbeat.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # a few polls of the control folder have happened: the poll timer must keep re-arming
    kill = subprocess.run(
        [sys.executable, "-m", "macrofund", "kill", "--run-dir", str(out), "--reason", "test"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _stdout, stderr = proc.communicate(timeout=90)
    assert kill.returncode == 0, kill.stdout + kill.stderr
    assert "acknowledged" in kill.stdout
    assert proc.returncode == 0, stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["risk"]["kill_switch_actions"] == ["kill all (operator): halted"]
    orders = pd.read_parquet(out / "orders.parquet")
    assert not orders["status"].isin(["SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"]).any()
