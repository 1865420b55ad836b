"""``macrofund run --mode live`` against the local FIX venue (``macrofund exchange-sim``), as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.conftest import start_exchange_sim
from tests.fixtures.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LIVE = ROOT / "configs" / "live-b3-local.toml"
SIM = ROOT / "configs" / "exchange-sim-b3.toml"
FAST = [
    "--set",
    "feed.sim.rate=400",
    "--set",
    'strategies.0.config.bar_type="WINZ26.B3-10-TICK-MID-INTERNAL"',
]


def _env(dsn: str, password: str | None = "local-only") -> dict[str, str]:
    env = {**os.environ, "MACROFUND_DATABASE_URL": dsn, "COLUMNS": "200"}
    env.pop("B3_SIM_PASSWORD", None)
    if password is not None:
        env["B3_SIM_PASSWORD"] = password
    return env


@pytest.fixture
def b3_venue(tmp_path: Path) -> Iterator[int]:
    """A running ``macrofund exchange-sim --venue b3`` on a free port."""
    proc, port = start_exchange_sim("b3", tmp_path / "venue", "B3_SIM_PASSWORD")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _live(tmp_path: Path, port: int, run_id: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "macrofund", "run", "--mode", "live", "--config", str(LIVE),
        "--output-dir", str(tmp_path / "runs"), "--run-id", run_id, "-q",
        "--set", f"venues.0.fix.session.port={port}",
        "--set", f'venues.0.fix.session.store.path="{tmp_path / "fix-state"}"',
        "--set", f'venues.0.fix.session.log_dir="{tmp_path / "fix-log"}"',
        *FAST, *extra,
    ]  # fmt: skip


def _run_live(
    tmp_path: Path, port: int, run_id: str, dsn: str, *extra: str, password: str | None = "local-only"
) -> subprocess.CompletedProcess[str]:
    """``macrofund run --mode live`` to its end, its output captured."""
    return subprocess.run(
        _live(tmp_path, port, run_id, *extra),
        env=_env(dsn, password),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _start_live(tmp_path: Path, port: int, run_id: str, dsn: str, *extra: str) -> subprocess.Popen[str]:
    """``macrofund run --mode live`` in the background (the test changes the venue meanwhile)."""
    return subprocess.Popen(
        _live(tmp_path, port, run_id, *extra),
        env=_env(dsn),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_live_session_trades_through_fix_and_is_audited(
    tmp_path: Path, b3_venue: int, postgres_dsn: str
) -> None:
    proc = _run_live(tmp_path, b3_venue, "live1", postgres_dsn, "--duration", "8s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "runs" / "live1"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "live"
    orders = pd.read_parquet(out / "orders.parquet")
    fills = pd.read_parquet(out / "fills.parquet")
    assert len(fills) > 0, "no order was filled by the FIX venue"
    assert set(orders["time_in_force"]) == {"IOC"}
    assert not orders["status"].isin(["SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"]).any()
    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert sum(1 for r in audit if r["payload"].get("type") == "OrderFilled") == len(fills)
    # Accepted by the venue before filled: a real venue's event sequence, unlike the simulated ones.
    assert any(r["payload"].get("type") == "OrderAccepted" for r in audit)


def test_a_missing_fix_password_is_one_line_and_leaves_no_run(
    tmp_path: Path, b3_venue: int, postgres_dsn: str
) -> None:
    proc = _run_live(tmp_path, b3_venue, "live2", postgres_dsn, "--duration", "5s", password=None)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors and "B3_SIM_PASSWORD" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs" / "live2").exists()


def test_a_venue_that_never_answers_ends_the_run_with_one_line_and_exit_1(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """Nautilus 1.221 would keep the node running with no strategy started, its status line logging
    "Cannot get account" every second, until a signal; and exit 0."""
    # no --duration: a live run as an operator starts it
    proc = _run_live(
        tmp_path, free_port(), "live-down", postgres_dsn, "--set", "venues.0.fix.logon_timeout_secs=2"
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("error: the node did not start: B3: no FIX logon with 127.0.0.1:"), last
    assert "cannot connect" in last and "refused" in last.lower(), last
    assert "Cannot get account" not in proc.stderr
    out = tmp_path / "runs" / "live-down"
    assert json.loads((out / "summary.json").read_text())["error"] == last.removeprefix("error: ")
    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["type"] == "RunStop"


def test_a_duration_that_ends_before_the_logon_is_an_error_with_the_venues_reason(
    tmp_path: Path, b3_venue: int, postgres_dsn: str
) -> None:
    """A venue refusing the password until --duration ran out used to end with exit 0 and a summary of
    zeros, like a quiet day (and Nautilus's empty ERROR line, and "Task was destroyed" on stderr)."""
    proc = _run_live(tmp_path, b3_venue, "badpw", postgres_dsn, "--duration", "3s", password="wrong")
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(
        "error: stopped (duration 0:00:03 reached) before the node started; the node did not start: "
        "B3: no FIX logon with 127.0.0.1:"
    ), lines[-1]
    assert lines[-1].endswith("(venue said: Logon rejected: invalid username or password)"), lines[-1]
    assert "Task was destroyed" not in proc.stderr
    assert not any(line.rstrip().endswith("TradingNode:") for line in lines), proc.stderr
    summary = json.loads((tmp_path / "runs" / "badpw" / "summary.json").read_text())
    assert summary["error"] == lines[-1].removeprefix("error: ")


def test_a_venue_that_comes_up_after_the_node_started_is_traded_with(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """Nautilus 1.221 gave up on the clients after 10 s (our timeout_connection then) and never started
    the trader, although the FIX session kept trying for its 15 s logon timeout and logged on."""
    port = free_port()
    node = _start_live(
        tmp_path, port, "live-late", postgres_dsn, "--duration", "22s",
        "--set", "venues.0.fix.logon_timeout_secs=20",
        "--set", "venues.0.fix.session.reconnect_max_secs=1",
    )  # fmt: skip
    venue = None
    try:
        time.sleep(11)  # past Nautilus's default wait for its clients
        venue, _ = start_exchange_sim("b3", tmp_path / "venue", "B3_SIM_PASSWORD", port=port)
        _, stderr = node.communicate(timeout=120)
    finally:
        node.kill()
        if venue is not None:
            venue.terminate()
            venue.wait(timeout=20)
    assert node.returncode == 0, stderr[-2000:]
    out = tmp_path / "runs" / "live-late"
    assert len(pd.read_parquet(out / "fills.parquet")) > 0, "the strategy never traded"


def test_a_venue_outage_mid_session_is_shown_to_the_operator_and_the_session_comes_back(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """At the configs' log level (ERROR) the loss and the return of the FIX session were invisible:
    warnings, not shown, while orders sent meanwhile were rejected."""
    venue, port = start_exchange_sim("b3", tmp_path / "venue", "B3_SIM_PASSWORD")
    node = _start_live(
        tmp_path, port, "live-outage", postgres_dsn, "--duration", "20s",
        "--set", "venues.0.fix.session.reconnect_max_secs=1",
    )  # fmt: skip
    try:
        time.sleep(7)
        venue.kill()  # the venue's process dies: the TCP connection drops without a Logout
        venue.wait(timeout=20)
        time.sleep(3)
        venue, _ = start_exchange_sim("b3", tmp_path / "venue", "B3_SIM_PASSWORD", port=port)
        _, stderr = node.communicate(timeout=120)
    finally:
        node.kill()
        venue.terminate()
        venue.wait(timeout=20)
    assert node.returncode == 0, stderr[-2000:]
    lost = [line for line in stderr.splitlines() if "FIX session MF01->B3 lost:" in line]
    back = [line for line in stderr.splitlines() if "FIX session MF01->B3 logged on again after" in line]
    assert len(lost) == 1 and "[ERROR]" in lost[0], stderr[-2000:]
    assert "orders are rejected until it is back" in lost[0]
    assert len(back) == 1 and "[ERROR]" in back[0], stderr[-2000:]
    logons = [line for line in _fix_log(tmp_path).splitlines() if " OUT " in line and "|35=A|" in line]
    assert len(logons) == 2  # the first logon and the one after the outage


def _failing_live(tmp_path: Path, port: int, dsn: str, run_id: str, fail_in: str, duration: str) -> str:
    """Run a live session with ``FailingStrategy``; check it exited 1 with a sealed audit trail and
    its logout on the wire; return its last stderr line (the one error line)."""
    failing = [
        "--set", 'strategies.0.path="tests.e2e.strategies.failing:FailingStrategy"',
        "--set", 'strategies.0.config_class="tests.e2e.strategies.failing:FailingStrategyConfig"',
        "--set", f'strategies.0.config={{instrument_id="WINZ26.B3", fail_in="{fail_in}"}}',
    ]  # fmt: skip
    proc = _run_live(tmp_path, port, run_id, dsn, "--duration", duration, *failing)
    assert proc.returncode == 1, proc.stderr[-2000:]
    audit = [
        json.loads(line) for line in (tmp_path / "runs" / run_id / "audit.jsonl").read_text().splitlines()
    ]
    assert audit[-1]["type"] == "RunStop"
    assert any(" OUT " in line and "|35=5|" in line for line in _fix_log(tmp_path).splitlines())  # logout
    return [line for line in proc.stderr.splitlines() if line.strip()][-1]


def _last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


def test_a_second_process_on_a_running_session_is_refused_and_changes_nothing(
    tmp_path: Path, b3_venue: int, postgres_dsn: str
) -> None:
    """Before: a second ``run`` with the running one's run id (a restart typed while the first was
    still running) moved the running session's files into ``sessions/1`` and appended a second hash
    chain to its audit file; one with another run id shared the FIX sequence store and overwrote the
    running session's sequence numbers."""
    first = _start_live(tmp_path, b3_venue, "live-first", postgres_dsn, "--duration", "11s")
    out = tmp_path / "runs" / "live-first"
    try:
        deadline = time.monotonic() + 30
        while "|35=A|" not in (_fix_log(tmp_path) if (tmp_path / "fix-log").exists() else ""):
            assert time.monotonic() < deadline and first.poll() is None, "the first node never logged on"
            time.sleep(0.2)
        same = _run_live(tmp_path, b3_venue, "live-first", postgres_dsn, "--duration", "5s")
        assert same.returncode == 2, same.stderr[-2000:]
        assert _last_line(same.stderr).startswith(
            f"error: run live-first ({out}) is in use by another process (pid {first.pid}, lock "
        ), same.stderr[-2000:]
        assert not (out / "sessions").exists()
        other = _run_live(tmp_path, b3_venue, "live-other", postgres_dsn, "--duration", "5s")
        assert other.returncode == 1, other.stderr[-2000:]
        last = _last_line(other.stderr)
        assert last.startswith("error: the node did not start: B3: FIX store "), last
        assert f"is in use by another process (pid {first.pid}, lock " in last, last
        _, stderr = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 0, stderr[-2000:]
    assert len(pd.read_parquet(out / "fills.parquet")) > 0
    verify = subprocess.run(
        [sys.executable, "-m", "macrofund", "audit", "verify", "--run-dir", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # The FIX store kept the first node's sequence numbers: the next session logs on and trades.
    after = _run_live(tmp_path, b3_venue, "live-after", postgres_dsn, "--duration", "6s")
    assert after.returncode == 0, after.stderr[-2000:]
    assert len(pd.read_parquet(tmp_path / "runs" / "live-after" / "fills.parquet")) > 0


def _fix_log(tmp_path: Path) -> str:
    return "".join(p.read_text() for p in (tmp_path / "fix-log").rglob("*.log"))


def test_a_strategy_raising_in_a_live_session_cancels_at_the_venue_and_exits_1(
    tmp_path: Path, b3_venue: int, postgres_dsn: str
) -> None:
    """Nautilus 1.221 would end the process at once (os._exit) and leave the resting order at the venue."""
    last = _failing_live(tmp_path, b3_venue, postgres_dsn, "live-bug", "on_order_filled", "30s")
    assert last.startswith("error: the node stopped itself") and "strategy bug in on_order_filled" in last
    orders = pd.read_parquet(tmp_path / "runs" / "live-bug" / "orders.parquet").set_index("type")
    assert orders.loc["MARKET", "status"] == "FILLED"
    assert orders.loc["LIMIT", "status"] == "CANCELED"  # the venue confirmed the cancel (150=4)
    log = _fix_log(tmp_path)
    assert ("|35=q|" in log or "|35=F|" in log) and "|150=4|" in log  # a (mass) cancel, its report


def test_a_strategy_raising_in_on_stop_still_lets_the_live_session_stop_and_log_out(
    tmp_path: Path, b3_venue: int, postgres_dsn: str
) -> None:
    """Nautilus 1.221's kernel stop ends at the first ``on_stop`` that raises: no logout, no outputs."""
    last = _failing_live(tmp_path, b3_venue, postgres_dsn, "live-stop-bug", "on_stop", "3s")
    assert last.startswith(
        "error: FailingStrategy-000 failed to stop: RuntimeError('strategy bug in on_stop')"
    )
    summary = json.loads((tmp_path / "runs" / "live-stop-bug" / "summary.json").read_text())
    assert summary["stopped_by"].startswith("duration") and "on_stop" in summary["error"]
