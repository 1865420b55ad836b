"""Run the ``macrofund`` CLI as a user does: a subprocess with the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "macrofund", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class RunOutputs:
    folder: Path
    summary: dict[str, Any]
    orders: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame
    equity: pd.DataFrame


def read_outputs(folder: Path) -> RunOutputs:
    return RunOutputs(
        folder=folder,
        summary=json.loads((folder / "summary.json").read_text()),
        orders=pd.read_parquet(folder / "orders.parquet"),
        fills=pd.read_parquet(folder / "fills.parquet"),
        positions=pd.read_parquet(folder / "positions.parquet"),
        equity=pd.read_parquet(folder / "equity.parquet"),
    )


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliResult, RunOutputs]:
    """The README's first command, run once for the session: the packaged default backtest."""
    out = tmp_path_factory.mktemp("runs")
    result = run_cli("run", "--mode", "backtest", "--output-dir", str(out), "--run-id", "default")
    assert result.code == 0, result.stderr
    return result, read_outputs(out / "default")


ROOT = Path(__file__).resolve().parents[2]


def start_exchange_sim(
    venue: str,
    state_dir: Path,
    password_env: str,
    config: Path | None = None,
    timeout_s: float = 30,
    port: int | None = None,
) -> tuple[subprocess.Popen[str], int]:
    """``macrofund exchange-sim --venue <venue>`` on ``port`` or a free one (the packaged config unless
    ``config`` is given); waits until it listens."""
    import socket
    import time

    from tests.fixtures.servers import free_port

    port = port or free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "macrofund", "exchange-sim", "--venue", venue, "--port", str(port)),
            *(
                "--config",
                str(config or ROOT / "configs" / f"exchange-sim-{venue}.toml"),
                "--state-dir",
                str(state_dir),
            ),
        ],
        env={**os.environ, password_env: "local-only"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"exchange-sim did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.1)
