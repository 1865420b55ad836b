"""``macrofund exchange-sim`` as a user runs it: a real process, a real client, SIGTERM, exit codes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from macrofund.adapters.fix.application import FixEventQueue
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.initiator import FixInitiator
from macrofund.adapters.fix.message import FixMessage
from tests.fixtures.servers import free_port

MACROFUND = str(Path(sys.executable).parent / "macrofund")
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "exchange-sim-cme.toml"


def _sim(tmp_path: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CME_SIM_PASSWORD": "pw"}
    return subprocess.Popen(
        [
            MACROFUND,
            "exchange-sim",
            "--venue",
            "cme",
            "--port",
            str(port),
            "--config",
            str(CONFIG),
            "--state-dir",
            str(tmp_path / "state"),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_listening(process: subprocess.Popen[str], port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("exchange-sim did not listen")


async def _trade(tmp_path: Path, port: int) -> list[FixMessage]:
    app = FixEventQueue()
    config = FixSessionConfig(
        sender_comp_id="MF01",
        target_comp_id="CME",
        port=port,
        username="mf",
        password="pw",
        store={"path": str(tmp_path / "client")},
        log_dir=None,
    )
    initiator = FixInitiator(config, app)
    session = await initiator.start()
    await session.wait_logged_on(timeout=10)
    order = FixMessage("D").append(11, "E2E-1").append(55, "ESZ6").append(54, "1")
    session.send(order.append(60, "20260101-00:00:00").append(38, "2").append(40, "1").append(59, "0"))
    reports: list[FixMessage] = []
    while len(reports) < 2:
        event = await asyncio.wait_for(app.queue.get(), 10)
        if event.kind == "message" and event.message is not None:
            reports.append(event.message)
    await initiator.stop("done")
    return reports


def test_exchange_sim_serves_orders_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = _sim(tmp_path, port, "--seed", "7")
    try:
        _wait_listening(process, port)
        reports = asyncio.run(_trade(tmp_path, port))
        assert [m.get(150) for m in reports] == ["0", "F"]
        assert Decimal(reports[1].require(31)) % Decimal("0.25") == 0
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "listening on 127.0.0.1" in out and "seed 7" in out
    assert "exchange-sim stopped: 1 orders (0 working" in out and "1 fills" in out
    assert (tmp_path / "state" / "orders-CME.jsonl").exists()
    assert (tmp_path / "state" / "fix" / "CME-MF01").is_dir()


def test_bad_config_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'venue = "cme"\ncomp_id = "CME"\nsessions = [{comp_id = "A"}]\n'
        'instruments = [{instrument_id = "ESZ6.CME", start_price = "6000", max_qtx = 3}]\n'
    )
    result = subprocess.run(
        [MACROFUND, "exchange-sim", "--venue", "cme", "--port", "0", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "bad.toml: instruments[0].max_qtx: unknown key" in result.stderr
    wrong_venue = subprocess.run(
        [MACROFUND, "exchange-sim", "--venue", "b3", "--port", "0", "--config", str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong_venue.returncode == 2 and "venue: 'cme' but --venue b3" in wrong_venue.stderr
