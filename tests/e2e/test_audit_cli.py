"""``macrofund audit verify | export | sync`` as a user runs them, on a real run's audit trail."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult, run_cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = run_cli("run", "--output-dir", str(out), "--run-id", "cli-audit", "-q")
    assert result.code == 0, result.stderr
    assert "Audit" in result.stdout and "chain head" in result.stdout
    return out / "cli-audit"


def _one_line(result: CliResult) -> str:
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_verify_intact_trail_exits_0_with_the_record_count(run_dir: Path) -> None:
    result = run_cli("audit", "verify", str(run_dir / "audit.jsonl"))
    n = len((run_dir / "audit.jsonl").read_bytes().splitlines())
    assert result.code == 0
    assert _one_line(result).startswith(f"OK: {run_dir / 'audit.jsonl'}: {n} records of run cli-audit")


def test_verify_edited_trail_exits_1_naming_the_seq(run_dir: Path, tmp_path: Path) -> None:
    lines = (run_dir / "audit.jsonl").read_bytes().splitlines(keepends=True)
    record = json.loads(lines[99])
    record["payload"]["last_px"] = "9.99999"
    lines[99] = json.dumps(record).encode() + b"\n"
    (tmp_path / "audit.jsonl").write_bytes(b"".join(lines))
    result = run_cli("audit", "verify", "--run-dir", str(tmp_path))
    assert result.code == 1
    assert "broken at seq 100" in _one_line(result)


def test_verify_unreadable_input_exits_2(tmp_path: Path) -> None:
    result = run_cli("audit", "verify", str(tmp_path / "nope.jsonl"))
    assert result.code == 2 and "not found" in _one_line(result)
    result = run_cli("audit", "verify", "--db", "postgresql://postgres@127.0.0.1:1/x", "--run", "r")
    assert result.code == 2 and "cannot connect" in _one_line(result)
    result = run_cli("audit", "verify")
    assert result.code == 2


def test_export_writes_csv_with_every_fill(run_dir: Path, tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "trail.csv"
    result = run_cli("audit", "export", "--run-dir", str(run_dir), "--format", "csv", "--out", str(out))
    assert result.code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    fills = pd.read_parquet(run_dir / "fills.parquet")
    assert sum(r["message_type"] == "OrderFilled" for r in rows) == len(fills)
    assert run_cli("audit", "export", "--run-dir", str(run_dir), "--format", "xml").code == 2


def test_sync_then_verify_in_the_database(run_dir: Path, postgres_dsn: str) -> None:
    first = run_cli("audit", "sync", "--run-dir", str(run_dir), "--db", postgres_dsn)
    assert first.code == 0, first.stderr
    n = len((run_dir / "audit.jsonl").read_bytes().splitlines())
    assert f"{n} new records" in _one_line(first)
    again = run_cli("audit", "sync", "--run-dir", str(run_dir), "--db", postgres_dsn)
    assert "0 new records" in _one_line(again)
    verified = run_cli("audit", "verify", "--db", postgres_dsn, "--run", "cli-audit")
    assert verified.code == 0 and f"{n} records" in _one_line(verified)
    exported = run_cli("audit", "export", "--db", postgres_dsn, "--run", "cli-audit")
    assert exported.code == 0 and exported.stdout.startswith("seq,transaction_ts_utc")
