"""The local venue's cost per order: 35=D -> 150=0 through ``exchange-sim`` vs a bare echo acceptor.

(a) Round trip, one order at a time: our initiator sends a resting limit NewOrderSingle, time until
the venue's 150=0 arrives (validation, matching, journal write, file store and raw log on: the
defaults). Baseline in the same run: the same session pair whose acceptor answers every 35=D with a
canned 35=8 and does nothing else. Target: p99 <= 1 ms, so the sim stays well inside the live node's
2 ms submit->accepted budget that issue 7's end-to-end benchmark measures against it.
(b) Sustained: 5,000 orders sent back to back, time until the last 150=0 (orders/s), sim vs echo.

    python -m bench exchange_sim
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from macrofund.adapters.exchange_sim.config import default_config
from macrofund.adapters.exchange_sim.server import ExchangeSimServer
from macrofund.adapters.fix.acceptor import FixAcceptor
from macrofund.adapters.fix.application import FixApplication
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.initiator import FixInitiator
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.session import FixSession

ORDERS = 2000
BURST = 5000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def order(i: int) -> FixMessage:
    message = FixMessage("D").append(11, f"B-{i}").append(55, "ESZ6").append(54, "1")
    message.append(60, "20260105-13:30:00.123").append(38, "1").append(40, "2").append(44, "5000.00")
    return message.append(59, "1")


class Echo(FixApplication):
    def on_message(self, session: FixSession, message: FixMessage) -> None:
        report = FixMessage("8").append(37, "V1").append(11, message.require(11)).append(17, "X")
        session.send(report.append(150, "0").append(39, "0"))


class Counter(FixApplication):
    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()

    def on_message(self, session: FixSession, message: FixMessage) -> None:
        if message.get(150) == "0":
            self.count += 1
            if self.count >= self.target:
                self.done.set()


async def measure(port: int, workdir: Path) -> tuple[list[float], float]:
    counter = Counter()
    config = FixSessionConfig(
        sender_comp_id="MF01",
        target_comp_id="CME",
        port=port,
        username="mf",
        password="pw",
        store={"path": str(workdir / "client")},
        log_dir=workdir / "lc",
    )
    initiator = FixInitiator(config, counter)
    session = await initiator.start()
    await session.wait_logged_on(5)
    latencies = []
    for i in range(ORDERS):
        counter.done.clear()
        counter.target = counter.count + 1
        start = time.perf_counter()
        session.send(order(i))
        await counter.done.wait()
        latencies.append((time.perf_counter() - start) * 1e3)
    counter.done.clear()
    counter.target = counter.count + BURST
    start = time.perf_counter()
    for i in range(BURST):
        session.send(order(ORDERS + i))
    await counter.done.wait()
    rate = BURST / (time.perf_counter() - start)
    await initiator.stop()
    return latencies[100:], rate


async def sim_run(workdir: Path) -> tuple[list[float], float]:
    config = default_config(
        "cme",
        sessions=[{"comp_id": "MF01", "username": "mf", "password": "pw"}],
        instruments=[{"instrument_id": "ESZ6.CME", "start_price": "6000.00", "max_qty": 100}],
        reference={"source": "static"},
        state_dir=workdir / "sim",
    )
    server = ExchangeSimServer(config)
    await server.start()
    try:
        return await measure(server.port, workdir / "a")
    finally:
        await server.stop()


async def echo_run(workdir: Path) -> tuple[list[float], float]:
    venue = FixSessionConfig(
        sender_comp_id="CME",
        target_comp_id="MF01",
        username="mf",
        password="pw",
        store={"path": str(workdir / "echo")},
        log_dir=workdir / "le",
    )
    acceptor = FixAcceptor([venue], Echo(), port=0)
    await acceptor.start()
    try:
        return await measure(acceptor.port, workdir / "b")
    finally:
        await acceptor.stop()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sim, sim_rate = asyncio.run(sim_run(Path(tmp)))
        echo, echo_rate = asyncio.run(echo_run(Path(tmp)))
    p50, p99, e50, e99 = (
        percentile(sim, 0.5),
        percentile(sim, 0.99),
        percentile(echo, 0.5),
        percentile(echo, 0.99),
    )
    print(f"35=D -> 150=0 through exchange-sim: p50 {p50:.3f} ms p99 {p99:.3f} ms; {sim_rate:,.0f} orders/s")
    print(f"same through a bare echo acceptor:  p50 {e50:.3f} ms p99 {e99:.3f} ms; {echo_rate:,.0f} orders/s")
    print(f"sim / echo: p50 {p50 / e50:.2f}x, p99 {p99 / e99:.2f}x, throughput {sim_rate / echo_rate:.2f}x")
    met = p99 <= 1.0
    print(
        json.dumps(
            {
                "name": "exchange_sim_order_ack",
                "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3),
                "orders_per_s": round(sim_rate),
                "echo_p50_ms": round(e50, 3),
                "echo_p99_ms": round(e99, 3),
                "echo_orders_per_s": round(echo_rate),
                "target": "p99 <= 1 ms",
                "met": met,
            }
        )
    )
    return 0 if met else 1
