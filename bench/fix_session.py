"""FIX session layer cost: codec vs simplefix, and order→ack round trips through two sessions.

(a) Codec: encode + frame + decode of a NewOrderSingle-sized message, ours vs ``simplefix`` (encode
with ``FixMessage.encode``, parse with ``FixParser``). Target: ours at least as fast.
(b) Session round trip on loopback: our initiator sends a 35=D, our acceptor answers each with a 35=8;
time from ``send`` to the application receiving the report (file store, raw log on: the product
defaults). Baseline in the same run: the same bytes echoed by a bare asyncio TCP server (the floor).
Target: p99 ≤ 1 ms, half of the 2 ms submit→accepted budget of the live node.

    python -m bench fix_session
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import simplefix

from macrofund.adapters.fix.acceptor import FixAcceptor
from macrofund.adapters.fix.application import FixApplication
from macrofund.adapters.fix.codec import FixStreamParser, encode
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.initiator import FixInitiator
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.session import FixSession

ORDERS = 3000
ORDER_FIELDS = [(11, "ORD-000123"), (1, "ACC1"), (55, "DI1F27"), (207, "BVMF"), (54, "1"), (38, "5")]
ORDER_FIELDS += [(40, "2"), (44, "13.455"), (59, "0"), (60, "20260105-13:30:00.123")]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def codec_bench(n: int = 20000) -> tuple[float, float]:
    message = FixMessage("D", list(ORDER_FIELDS))
    start = time.perf_counter()
    parser = FixStreamParser()
    for seq in range(n):
        parser.feed(encode(message, "MF", "B3", seq + 1, "20260105-13:30:00.123"))
    ours = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    sf_parser = simplefix.FixParser()
    for seq in range(n):
        out = simplefix.FixMessage()
        out.append_pair(8, "FIX.4.4")
        out.append_pair(35, "D")
        out.append_pair(49, "MF")
        out.append_pair(56, "B3")
        out.append_pair(34, seq + 1)
        out.append_pair(52, "20260105-13:30:00.123")
        for tag, value in ORDER_FIELDS:
            out.append_pair(tag, value)
        sf_parser.append_buffer(out.encode())
        sf_parser.get_message()
    theirs = (time.perf_counter() - start) / n * 1e6
    return ours, theirs


class Echo(FixApplication):
    def on_message(self, session: FixSession, message: FixMessage) -> None:
        report = FixMessage("8").append(37, "V1").append(11, message.require(11)).append(17, "X")
        session.send(report.append(150, "0").append(39, "0"))


class Timer(FixApplication):
    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    def on_message(self, session: FixSession, message: FixMessage) -> None:
        self.arrived.set()


async def session_bench(workdir: Path) -> list[float]:
    acceptor_config = FixSessionConfig(
        sender_comp_id="B3",
        target_comp_id="MF",
        store={"path": str(workdir / "venue")},
        log_dir=workdir / "lv",
    )
    acceptor = FixAcceptor([acceptor_config], Echo(), port=0)
    await acceptor.start()
    timer = Timer()
    config = FixSessionConfig(
        sender_comp_id="MF",
        target_comp_id="B3",
        port=acceptor.port,
        store={"path": str(workdir / "ours")},
        log_dir=workdir / "lo",
    )
    initiator = FixInitiator(config, timer)
    session = await initiator.start()
    await session.wait_logged_on(5)
    latencies = []
    for i in range(ORDERS):
        timer.arrived.clear()
        start = time.perf_counter()
        session.send(FixMessage("D", list(ORDER_FIELDS)).set(11, f"ORD-{i}"))
        await timer.arrived.wait()
        latencies.append((time.perf_counter() - start) * 1e3)
    await initiator.stop()
    await acceptor.stop()
    return latencies[100:]


async def tcp_echo_bench() -> list[float]:
    raw = encode(FixMessage("D", list(ORDER_FIELDS)), "MF", "B3", 1, "20260105-13:30:00.123")

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    latencies = []
    for _ in range(ORDERS):
        start = time.perf_counter()
        writer.write(raw)
        got = 0
        while got < len(raw):
            got += len(await reader.read(65536))
        latencies.append((time.perf_counter() - start) * 1e3)
    writer.close()
    await asyncio.sleep(0.05)  # let the echo handler see EOF and finish
    server.close()
    await server.wait_closed()
    return latencies[100:]


def main() -> int:
    ours_us, simplefix_us = codec_bench()
    print(f"codec encode+parse per message: ours {ours_us:.1f} us, simplefix {simplefix_us:.1f} us")
    with tempfile.TemporaryDirectory() as tmp:
        session = asyncio.run(session_bench(Path(tmp)))
    floor = asyncio.run(tcp_echo_bench())
    p50, p99 = percentile(session, 0.5), percentile(session, 0.99)
    f50, f99 = percentile(floor, 0.5), percentile(floor, 0.99)
    print(f"order->report round trip: p50 {p50:.3f} ms p99 {p99:.3f} ms")
    print(f"bare TCP echo of the same bytes: p50 {f50:.3f} ms p99 {f99:.3f} ms")
    codec_ok = ours_us <= simplefix_us
    rt_ok = p99 <= 1.0
    print(
        json.dumps(
            {
                "name": "fix_codec",
                "ours_us": round(ours_us, 2),
                "simplefix_us": round(simplefix_us, 2),
                "ratio": round(simplefix_us / ours_us, 2),
                "target": "ours <= simplefix",
                "met": codec_ok,
            }
        )
    )
    print(
        json.dumps(
            {
                "name": "fix_session_round_trip",
                "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3),
                "tcp_echo_p50_ms": round(f50, 3),
                "tcp_echo_p99_ms": round(f99, 3),
                "target": "p99 <= 1 ms",
                "met": rt_ok,
            }
        )
    )
    return 0 if codec_ok and rt_ok else 1
