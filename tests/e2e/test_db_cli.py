"""``macrofund db`` as a user runs it: migrate, persist a backtest with ``--db``, query it back."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd

from tests.e2e.conftest import CliResult


def run_cli(*args: str, env: dict[str, str] | None = None, replace_env: bool = False) -> CliResult:
    """The CLI in a subprocess; ``env`` adds to the environment (or replaces it)."""
    base = {} if replace_env else {k: v for k, v in os.environ.items() if k != "MACROFUND_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "macrofund", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**base, **(env or {}), "COLUMNS": "200"},
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_upgrade_then_query_a_persisted_run_in_every_format(postgres_dsn: str, tmp_path: Path) -> None:
    first = run_cli("db", "upgrade", "--db", postgres_dsn)
    assert first.code == 0, first.stderr
    assert "applied" in first.stdout and "0001" in first.stdout
    again = run_cli("db", "upgrade", "--db", postgres_dsn)
    assert again.code == 0 and "up to date" in again.stdout

    ran = run_cli("run", "-q", "--run-id", "cli", "--output-dir", str(tmp_path), "--db", postgres_dsn)
    assert ran.code == 0, ran.stderr
    assert "Persistence" in ran.stdout
    out = tmp_path / "cli"

    orders = run_cli("db", "orders", "--run", "cli", "--format", "json", "--db", postgres_dsn)
    assert orders.code == 0, orders.stderr
    parsed = json.loads(orders.stdout)
    assert len(parsed) == len(pd.read_parquet(out / "orders.parquet"))
    assert {o["status"] for o in parsed} == {"FILLED"}

    fills = run_cli("db", "fills", "--run", "cli", "--format", "csv", "--db", postgres_dsn)
    assert fills.code == 0, fills.stderr
    rows = list(csv.DictReader(io.StringIO(fills.stdout)))
    expected = pd.read_parquet(out / "fills.parquet")
    assert len(rows) == len(expected)
    assert sum(Decimal(r["commission"]) for r in rows) == sum(expected["commission"], Decimal(0))

    late = run_cli(
        "db", "fills", "--run", "cli", "--since", "2024-01-31T12:00", "--format", "json", "--db", postgres_dsn
    )
    late_fills = json.loads(late.stdout)
    assert 0 < len(late_fills) < len(rows)
    assert all(f["time"] >= "2024-01-31T12:00" for f in late_fills)

    env = {"MACROFUND_DATABASE_URL": postgres_dsn}
    positions = run_cli("db", "positions", "--run", "cli", "--format", "json", env=env)
    assert positions.code == 0, positions.stderr
    [position] = json.loads(positions.stdout)
    opened = pd.read_parquet(out / "positions.parquet").query("status == 'OPEN'")
    assert Decimal(position["net_qty"]) == Decimal(str(opened["quantity"].iloc[0]))

    table = run_cli("db", "pnl", "--run", "cli", "--since", "2024-01-31T23:00", env=env)
    assert table.code == 0, table.stderr
    assert "Pnl of run cli" in table.stdout and "realized_pnl" in table.stdout


def test_db_commands_fail_with_one_line(postgres_dsn: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MACROFUND_DATABASE_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path)  # no embedded database either
    no_db = run_cli("db", "orders", "--run", "x", env=env, replace_env=True)
    assert no_db.code == 2 and "MACROFUND_DATABASE_URL" in no_db.stderr
    assert "does not exist yet" in no_db.stderr
    assert len(no_db.stderr.strip().splitlines()) == 1

    unreachable = run_cli("db", "fills", "--run", "x", "--db", "postgresql://me:s3cret@127.0.0.1:1/none")
    assert unreachable.code == 2 and "cannot connect" in unreachable.stderr
    assert "s3cret" not in unreachable.stderr and len(unreachable.stderr.strip().splitlines()) == 1

    not_a_dsn = run_cli("db", "upgrade", "--db", "mysql://localhost/x")
    assert not_a_dsn.code == 2 and "postgresql://" in not_a_dsn.stderr

    empty = run_cli("db", "orders", "--run", "x", "--db", postgres_dsn)
    assert empty.code == 2 and "db upgrade" in empty.stderr

    run_cli("db", "upgrade", "--db", postgres_dsn)
    unknown = run_cli("db", "pnl", "--run", "nope", "--db", postgres_dsn)
    assert unknown.code == 2 and "run 'nope' is not in the database" in unknown.stderr

    bad_since = run_cli("db", "orders", "--run", "x", "--since", "yesterday", "--db", postgres_dsn)
    assert bad_since.code == 2 and "--since" in bad_since.stderr


def test_a_paper_run_with_the_default_database_can_be_queried_while_it_runs_and_after(tmp_path: Path) -> None:
    """No --db anywhere, as in the README tour: the paper run persists to the embedded database, and
    ``macrofund db`` finds it there (before, it answered "no database given" and the orders could not be
    read at all: that server stops with the run and listens on a socket inside its folder)."""
    repo = Path(__file__).resolve().parents[2]
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    config = str(repo / "configs" / "paper-6e-ema.toml")
    args = ["run", "--mode", "paper", "-q", "--run-id", "emb", "--config", config, "--duration", "20s"]
    node = subprocess.Popen(
        [sys.executable, "-m", "macrofund", *args, "--output-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "MACROFUND_DATABASE_URL"}, **env},
    )
    try:
        during: list[dict[str, str]] = []
        while node.poll() is None and not during:
            orders = run_cli("db", "orders", "--run", "emb", "--format", "json", env=env)
            if orders.code == 0:
                during = json.loads(orders.stdout)
                assert "the embedded one in " + str(tmp_path / "xdg" / "macrofund" / "pg") in orders.stderr
        _out, err = node.communicate(timeout=120)
    finally:
        if node.poll() is None:
            node.kill()
    assert node.returncode == 0, err
    assert during, "no order was readable while the run was live"
    # The query's own server handle did not take the database away from the running node.
    summary = json.loads((tmp_path / "runs" / "emb" / "summary.json").read_text())
    assert "unwritten" not in summary["persistence"], summary["persistence"]
    after = run_cli("db", "orders", "--run", "emb", "--format", "json", env=env)
    assert after.code == 0, after.stderr
    expected = pd.read_parquet(tmp_path / "runs" / "emb" / "orders.parquet")
    assert len(json.loads(after.stdout)) == len(expected) >= len(during)
    # The audit trail went to the same database: verified and exported by run id alone.
    verified = run_cli("audit", "verify", "--run", "emb", env=env)
    assert verified.code == 0, verified.stderr
    records = summary["audit"]["last_seq"]
    assert f"OK: database run emb: {records} records of run emb, chain intact" in verified.stdout
    exported = run_cli("audit", "export", "--run", "emb", env=env)
    assert exported.code == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    from_file = run_cli("audit", "export", "--run-dir", str(tmp_path / "runs" / "emb"), env=env)
    assert rows == list(csv.DictReader(io.StringIO(from_file.stdout))) and rows
