"""``macrofund md ingest`` and ``md query`` as a user runs them, on a real PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

SAMPLE = (
    Path(__file__).parents[2] / "macrofund" / "sample_data" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
)


def macrofund(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "macrofund", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_ingest_then_query_daily_bars_as_json_and_csv(postgres_dsn: str) -> None:
    done = macrofund("md", "ingest", "--db", postgres_dsn, "--data", str(SAMPLE), "--instrument", "6EH4.CME")
    assert done.returncode == 0, done.stderr
    assert "Ingested 29,996 bars of 6EH4.CME" in " ".join(done.stdout.split())
    window = ("--start", "2024-01-07T23:00Z", "--end", "2024-01-12T23:00Z")
    as_json = macrofund(
        "md", "query", "--db", postgres_dsn, "--instrument", "6EH4.CME", *window, "--format", "json"
    )
    assert as_json.returncode == 0, as_json.stderr
    bars = json.loads(as_json.stdout)
    assert [b["ts_open"][:10] for b in bars] == [
        "2024-01-07",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
    ]
    raw = macrofund(
        "md",
        "query",
        "--db",
        postgres_dsn,
        "--instrument",
        "6EH4.CME",
        *window,
        "--format",
        "csv",
        "--raw",
        "--explain",
    )
    assert raw.returncode == 0 and "md_bars_1m:" in raw.stderr
    rows = list(csv.DictReader(io.StringIO(raw.stdout)))
    assert rows == bars


def test_bad_input_is_one_line_and_exit_code_2(postgres_dsn: str) -> None:
    done = macrofund(
        "md",
        "query",
        "--db",
        postgres_dsn,
        "--instrument",
        "6EH4.CME",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-03",
        "--resolution",
        "2h",
    )
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert "resolution '2h' is not one of 1m, 5m, 1h, 1d" in done.stderr
    missing = macrofund(
        "md", "ingest", "--db", postgres_dsn, "--data", "/nope.csv", "--instrument", "6EH4.CME"
    )
    assert missing.returncode == 2 and "/nope.csv" in missing.stderr
