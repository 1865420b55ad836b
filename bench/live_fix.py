"""Live mode end to end (issue 7): submit -> OrderAccepted through the full node vs a bare QuickFIX client.

Both sides trade against ``macrofund exchange-sim --venue b3`` run as its own process on a free loopback
port (a fresh venue process per side, same config: static reference price, so resting orders never
fill; file store, journal and raw log on, the defaults).

(a) The full node: ``macrofund run --mode live``'s assembly (``macrofund.engine.assembly.run`` with
``configs/live-b3-local.toml``): TradingNode, the B3 FIX execution client, pre-trade risk with limits
on every control that can bind a resting limit order (quantity, notional, price collar, position and
account limits, order and cancel rates, self-trade), the kill switch, the audit trail (file and
PostgreSQL), persistence to PostgreSQL and the in-process market-data feed. A probe strategy sends
resting day limit orders (5% below the reference, inside the 10% collar) and times
``submit_order`` -> ``on_order_accepted`` with ``perf_counter_ns``: WARMUP + SEQUENTIAL orders one at a
time (the next one sent from ``on_order_accepted``); a mass cancel; then BURST orders submitted back to
back from one callback, timed until the last ``OrderAccepted`` (orders/s); a mass cancel again.
Nautilus's own throttle is raised for the run (``[risk] engine_max_order_submit_rate``).
(b) The baseline: a bare QuickFIX initiator (quickfix-ssl ``SocketInitiator``, FIX44.xml validation,
FileStore and FileLog) doing the same work: the node's own NewOrderSingle body (taken from the node's
raw FIX log, so the bytes the venue parses are the same), one at a time with the next sent from
``fromApp`` on 150=0, a mass cancel, then the same burst.

PostgreSQL: 127.0.0.1:5432 (database ``test`` answering) gets a fresh database for the run, dropped
after; else the embedded PostgreSQL (``storage.embedded_dir`` in a temp dir). Each side runs in a fresh
process (``python -m bench.live_fix --side node|quickfix ...``). Targets: node p99 <= 2 ms; node orders/s
>= QuickFIX's.

    python -m bench live_fix

Diagnosis (never used for the reported figures): ``BENCH_LIVE_SET='{"risk.enabled": false}'`` adds
run-config overrides to the node side, ``BENCH_LIVE_PROFILE=<file>`` writes its cProfile,
``BENCH_LIVE_TIMEOUT`` (seconds, default 300) bounds each side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderRejected,
    OrderSubmitted,
)
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.trading.strategy import Strategy

from bench.exchange_sim import percentile

ROOT = Path(__file__).resolve().parents[1]
LIVE_CONFIG = ROOT / "configs" / "live-b3-local.toml"
INSTRUMENT = "WINZ26.B3"
REFERENCE = Decimal("130000")  # the venue's static reference = the node feed's WIN start price
PRICE = Decimal("123500")  # 5% below: rests at the venue, inside the 10% collar
TICK = Decimal("5")
WARMUP = 100
SEQUENTIAL = 1000
BURST = 5000
TARGET_P99_MS = 2.0
PASSWORD = "bench-only"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
SIDE_TIMEOUT_S = int(os.environ.get("BENCH_LIVE_TIMEOUT", "300"))

# Limits on every control a resting buy limit can meet; none binds, every one is evaluated.
RISK: dict[str, Any] = {
    "engine_max_order_submit_rate": "100000/00:00:01",
    "defaults": {
        "max_order_qty": 10,
        "max_order_notional": "1000000",
        "collar_bps": 1000,
        "max_long": 50000,
        "max_short": 50000,
        "max_net": 50000,
        "max_gross": 100000,
    },
    "accounts": {"B3": {"max_long": 50000, "max_gross": 100000, "daily_loss_limit": "1000000"}},
    "throttle": {"orders_per_second": 50000, "cancels_modifies_per_window": 100000, "window": "3s"},
    "self_trade": {"scope": "account"},
}

SIM_TOML = f"""
venue = "b3"
comp_id = "B3"
order_types = ["market", "limit"]
time_in_force = ["day", "ioc"]
[[sessions]]
comp_id = "MF01"
username = "mf"
password_env = "B3_SIM_PASSWORD"
[reference]
source = "static"
[[instruments]]
instrument_id = "{INSTRUMENT}"
start_price = "{REFERENCE}"
max_qty = 500
"""


def order_price(i: int) -> Decimal:
    """Twenty price levels, so the venue's book is not one queue (and no two neighbours repeat)."""
    return PRICE - TICK * (i % 20)


# -- the node side -----------------------------------------------------------------------------------


class LiveProbeConfig(StrategyConfig, frozen=True):
    """Where to write the figures; the phase sizes."""

    instrument_id: InstrumentId
    out_path: str
    warmup: int = WARMUP
    sequential: int = SEQUENTIAL
    burst: int = BURST


class LiveProbe(Strategy):
    """Sends resting limit orders, times submit -> accepted, writes the figures, then stops the run.

    The run is stopped by SIGTERM to its own process, as an operator would: the live session's
    shutdown (cancel working orders, flush audit and persistence, write run outputs) runs unchanged.
    """

    def __init__(self, config: LiveProbeConfig) -> None:
        super().__init__(config)
        self._phase = "wait"
        self._sent = 0
        self._t0: dict[str, int] = {}
        self._latencies: list[float] = []
        self._to_submitted: list[float] = []
        self._burst_start = 0
        self._burst_accepted = 0
        self._burst_seconds = 0.0
        self._cancel_started = 0
        self._to_cancel = 0
        self._cancel_seconds: list[float] = []
        self._error: str | None = None

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.config.instrument_id)
        deadline = self.clock.utc_now() + timedelta(seconds=SIDE_TIMEOUT_S - 30)
        self.clock.set_time_alert("live-probe-watchdog", deadline, lambda _: self._finish("timed out"))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        # The price collar needs a reference price: start once the first quote is in the cache.
        if self._phase == "wait":
            self._phase = "sequential"
            self._send_next()

    def _order(self, i: int) -> LimitOrder:
        instrument = self.cache.instrument(self.config.instrument_id)
        return self.order_factory.limit(
            self.config.instrument_id,
            OrderSide.BUY,
            instrument.make_qty(1),
            instrument.make_price(order_price(i)),
            time_in_force=TimeInForce.DAY,
        )

    def _send_next(self) -> None:
        order = self._order(self._sent)
        self._sent += 1
        self._t0[order.client_order_id.value] = time.perf_counter_ns()
        self.submit_order(order)

    def on_order_submitted(self, event: OrderSubmitted) -> None:
        t0 = self._t0.get(event.client_order_id.value)
        if t0 is not None and self._phase == "sequential" and self._sent > self.config.warmup:
            self._to_submitted.append((time.perf_counter_ns() - t0) / 1e6)

    def on_order_accepted(self, event: OrderAccepted) -> None:
        now = time.perf_counter_ns()
        t0 = self._t0.pop(event.client_order_id.value, None)
        if self._phase == "sequential" and t0 is not None:
            if self._sent > self.config.warmup:
                self._latencies.append((now - t0) / 1e6)
            if self._sent < self.config.warmup + self.config.sequential:
                self._send_next()
            else:
                self._cancel_all("cancel-1")
        elif self._phase == "burst":
            self._burst_accepted += 1
            if self._burst_accepted == self.config.burst:
                self._burst_seconds = (now - self._burst_start) / 1e9
                self._cancel_all("cancel-2")

    def _cancel_all(self, phase: str) -> None:
        self._phase = phase
        # Counted here, not asked of the cache per cancel: orders_open_count is O(open orders).
        self._to_cancel = self.cache.orders_open_count(strategy_id=self.id)
        self._cancel_started = time.perf_counter_ns()
        self.cancel_all_orders(self.config.instrument_id)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._to_cancel -= 1
        if self._phase.startswith("cancel") and self._to_cancel == 0:
            self._cancel_seconds.append((time.perf_counter_ns() - self._cancel_started) / 1e9)
            if self._phase == "cancel-1":
                self._start_burst()
            else:
                self._finish(None)

    def _start_burst(self) -> None:
        self._phase = "burst"
        orders = [self._order(i) for i in range(self.config.burst)]
        self._burst_start = time.perf_counter_ns()
        for order in orders:
            self.submit_order(order)

    def on_order_denied(self, event: OrderDenied) -> None:
        self._finish(f"order denied: {event.reason}")

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._finish(f"order rejected: {event.reason}")

    def _finish(self, error: str | None) -> None:
        if self._phase == "done":
            return
        if error is not None:
            error = f"{error} (phase {self._phase})"
        self._phase = "done"
        result = {
            "latencies_ms": self._latencies,
            "to_submitted_ms": self._to_submitted,
            "burst_seconds": self._burst_seconds,
            "burst": self.config.burst,
            "cancel_seconds": self._cancel_seconds,
            "error": error,
        }
        Path(self.config.out_path).write_text(json.dumps(result), "utf-8")
        os.kill(os.getpid(), signal.SIGTERM)


def node_side(port: int, workdir: Path, out_path: Path, dsn: str | None) -> None:
    """Run the live assembly against the venue on ``port`` with the probe; figures go to ``out_path``."""
    from macrofund.config.run_config import load_run_config
    from macrofund.engine.assembly import run

    os.environ["B3_SIM_PASSWORD"] = PASSWORD
    os.environ.pop("MACROFUND_DATABASE_URL", None)
    overrides: dict[str, Any] = {
        "run.output_dir": str(workdir / "runs"),
        "run.run_id": "live-bench",
        "run.log_level": "ERROR",
        "venues.0.fix.session.port": port,
        "venues.0.fix.session.store.path": str(workdir / "fix-state"),
        "venues.0.fix.session.log_dir": str(workdir / "fix-log"),
    }
    if dsn is not None:
        overrides["storage.database_url"] = dsn
    else:
        overrides["storage.embedded_dir"] = str(workdir / "pg")
    # Diagnosis only (where does the time go?): extra run-config overrides as JSON, e.g.
    # BENCH_LIVE_SET='{"audit.enabled": false}'. The reported figures never set it.
    overrides.update(json.loads(os.environ.get("BENCH_LIVE_SET", "{}")))
    probe = {
        "path": "bench.live_fix:LiveProbe",
        "config_class": "bench.live_fix:LiveProbeConfig",
        "config": {"instrument_id": INSTRUMENT, "out_path": str(out_path)},
    }
    config = load_run_config(LIVE_CONFIG, overrides, [("strategies", [probe]), ("risk", RISK)])
    options = {"duration": timedelta(seconds=SIDE_TIMEOUT_S)}
    profile_to = os.environ.get("BENCH_LIVE_PROFILE")  # a path: cProfile the node side into it
    if profile_to:
        import cProfile

        cProfile.runctx("run(config, paper_options=options)", globals(), locals(), profile_to)
    else:
        run(config, paper_options=options)


def node_order_body(workdir: Path) -> list[tuple[int, str]]:
    """The body of the node's first NewOrderSingle, from its raw FIX log (no header, ClOrdID, time)."""
    skip = {8, 9, 35, 49, 56, 34, 52, 10, 11, 60, 43, 97, 122}
    for path in sorted((workdir / "fix-log").rglob("*.log")):
        for line in path.read_text("utf-8").splitlines():
            _, direction, raw = line.split(" ", 2)
            if direction == "OUT" and "|35=D|" in raw:
                fields = [field.split("=", 1) for field in raw.strip("|").split("|")]
                return [(int(tag), value) for tag, value in fields if int(tag) not in skip]
    raise RuntimeError(f"no NewOrderSingle in the node's raw FIX log under {workdir / 'fix-log'}")


# -- the QuickFIX side --------------------------------------------------------------------------------


def quickfix_side(port: int, workdir: Path, out_path: Path, body: list[tuple[int, str]]) -> None:
    """The same work through a bare QuickFIX initiator; figures go to ``out_path``."""
    import quickfix as fix

    dictionary = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
    workdir.mkdir(parents=True, exist_ok=True)
    settings_path = workdir / "quickfix.cfg"
    settings_path.write_text(
        "\n".join(
            [
                "[DEFAULT]",
                "ConnectionType=initiator",
                f"FileStorePath={workdir / 'store'}",
                f"FileLogPath={workdir / 'log'}",
                "StartTime=00:00:00",
                "EndTime=00:00:00",
                "UseDataDictionary=Y",
                f"DataDictionary={dictionary}",
                "AllowUnknownMsgFields=Y",  # B3's fields beyond stock FIX44.xml (docs/live-execution.md)
                "ValidateUserDefinedFields=N",
                "HeartBtInt=30",
                "ReconnectInterval=1",
                "SocketConnectHost=127.0.0.1",
                f"SocketConnectPort={port}",
                "SocketNodelay=Y",
                "[SESSION]",
                "BeginString=FIX.4.4",
                "SenderCompID=MF01",
                "TargetCompID=B3",
            ]
        )
        + "\n"
    )
    session_id = fix.SessionID("FIX.4.4", "MF01", "B3")
    state: dict[str, Any] = {
        "phase": "logon",
        "sent": 0,
        "t0": 0,
        "accepted": 0,
        "canceled": 0,
        "errors": [],
        "latencies": [],
        "rejects_sent": 0,
    }
    done = threading.Event()
    logged_on = threading.Event()

    def utc_now() -> str:
        return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + f".{time.time_ns() // 1_000_000 % 1000:03d}"

    def new_order(i: int, prefix: str) -> Any:
        message = fix.Message()
        message.getHeader().setField(fix.MsgType("D"))
        message.setField(11, f"{prefix}{i}")
        n = 0
        while n < len(body):
            tag, value = body[n]
            if tag == 453:  # Parties: a real repeating group, in the dictionary's order
                for k in range(int(value)):
                    group = fix.Group(453, 448)
                    for gtag, gvalue in body[n + 1 + 3 * k : n + 4 + 3 * k]:
                        group.setField(gtag, gvalue)
                    message.addGroup(group)
                n += 1 + 3 * int(value)
                continue
            message.setField(tag, str(order_price(i)) if tag == 44 else value)
            n += 1
        message.setField(60, utc_now())
        return message

    def mass_cancel(request: str) -> Any:
        message = fix.Message()
        message.getHeader().setField(fix.MsgType("q"))
        message.setField(11, request)
        message.setField(530, "7")
        message.setField(60, utc_now())
        return message

    sequential = [new_order(i, "S") for i in range(WARMUP + SEQUENTIAL)]

    def send(message: Any) -> None:
        fix.Session.sendToTarget(message, session_id)

    def on_app(message: Any) -> None:
        header = message.getHeader()
        if header.getField(35) != "8":
            return
        exec_type = message.getField(150) if message.isSetField(150) else ""
        now = time.perf_counter_ns()
        if exec_type == "8":
            state["errors"].append(
                f"venue rejected: {message.getField(58) if message.isSetField(58) else ''}"
            )
            done.set()
        elif exec_type == "0" and state["phase"] == "sequential":
            if state["sent"] > WARMUP:
                state["latencies"].append((now - state["t0"]) / 1e6)
            if state["sent"] < len(sequential):
                message = sequential[state["sent"]]
                state["sent"] += 1
                state["t0"] = time.perf_counter_ns()
                send(message)
            else:
                done.set()
        elif exec_type == "0" and state["phase"] == "burst":
            state["accepted"] += 1
            if state["accepted"] == BURST:
                state["t_end"] = now
                done.set()
        elif exec_type == "4":
            state["canceled"] += 1
            if state["canceled"] == state["cancel_target"]:
                done.set()

    class Application(fix.Application):  # type: ignore[misc]
        """Every callback catches everything: an exception escaping into C++ aborts the process."""

        def _guard(self, action: Any, *args: Any) -> None:
            try:
                action(*args)
            except BaseException as exc:
                state["errors"].append(repr(exc))
                done.set()

        def onCreate(self, session_id: Any) -> None:
            pass

        def onLogon(self, session_id: Any) -> None:
            logged_on.set()

        def onLogout(self, session_id: Any) -> None:
            pass

        def toAdmin(self, message: Any, session_id: Any) -> None:
            def run() -> None:
                msg_type = message.getHeader().getField(35)
                if msg_type == "A":
                    message.setField(553, "mf")
                    message.setField(554, PASSWORD)
                elif msg_type == "3":
                    state["rejects_sent"] += 1

            self._guard(run)

        def fromAdmin(self, message: Any, session_id: Any) -> None:
            pass

        def toApp(self, message: Any, session_id: Any) -> None:
            pass

        def fromApp(self, message: Any, session_id: Any) -> None:
            self._guard(on_app, message)

    settings = fix.SessionSettings(str(settings_path))
    application = Application()
    initiator = fix.SocketInitiator(
        application, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings)
    )
    result: dict[str, Any] = {"error": None}
    initiator.start()
    try:
        if not logged_on.wait(30):
            raise RuntimeError("QuickFIX did not log on to the venue")

        def wait(what: str) -> None:
            if not done.wait(SIDE_TIMEOUT_S / 4) or state["errors"]:
                raise RuntimeError(f"QuickFIX side, {what}: {state['errors'] or 'timed out'}")
            done.clear()

        state["phase"] = "sequential"
        state["sent"] = 1
        state["t0"] = time.perf_counter_ns()
        send(sequential[0])
        wait("sequential")
        cancel_seconds = []
        state["phase"], state["canceled"], state["cancel_target"] = "cancel", 0, len(sequential)
        started = time.perf_counter_ns()
        send(mass_cancel("Q1"))
        wait("mass cancel 1")
        cancel_seconds.append((time.perf_counter_ns() - started) / 1e9)
        burst = [new_order(i, "B") for i in range(BURST)]
        state["phase"] = "burst"
        t_start = time.perf_counter_ns()
        for message in burst:
            send(message)
        wait("burst")
        burst_seconds = (state["t_end"] - t_start) / 1e9
        state["phase"], state["canceled"], state["cancel_target"] = "cancel", 0, BURST
        started = time.perf_counter_ns()
        send(mass_cancel("Q2"))
        wait("mass cancel 2")
        cancel_seconds.append((time.perf_counter_ns() - started) / 1e9)
        result.update(
            latencies_ms=state["latencies"],
            burst_seconds=burst_seconds,
            burst=BURST,
            cancel_seconds=cancel_seconds,
            rejects_sent=state["rejects_sent"],
        )
    except RuntimeError as exc:
        result["error"] = str(exc)
    finally:
        initiator.stop(True)
    out_path.write_text(json.dumps(result), "utf-8")


# -- orchestration --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def venue_process(workdir: Path) -> Any:
    """``macrofund exchange-sim --venue b3`` on a free port, as its own process; stopped by SIGTERM."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "exchange-sim.toml"
    config.write_text(SIM_TOML, "utf-8")
    port = _free_port()
    command = [sys.executable, "-m", "macrofund", "exchange-sim", "--venue", "b3", "--port", str(port)]
    command += ["--config", str(config), "--state-dir", str(workdir / "state")]
    proc = subprocess.Popen(
        command,
        env={**os.environ, "B3_SIM_PASSWORD": PASSWORD},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"exchange-sim did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _side(args: list[str], out_path: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.live_fix", *args, "--out", str(out_path)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=SIDE_TIMEOUT_S + 60)
    if not out_path.is_file():
        raise RuntimeError(f"{args[1]} side wrote no figures (exit {proc.returncode}): {proc.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(out_path.read_text("utf-8"))
    if result.get("error"):
        raise RuntimeError(f"{args[1]} side: {result['error']}")
    return result


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _local_database() -> str | None:
    """A fresh database on 127.0.0.1:5432 when its ``test`` database answers, else ``None``."""
    name = f"mf_bench_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(LOCAL_PG, f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, ImportError) as exc:
        print(f"PostgreSQL at 127.0.0.1:5432 unavailable ({exc}); the node uses the embedded server")
        return None
    except Exception as exc:  # asyncpg's errors (auth, missing database) share no base we import here
        print(f"PostgreSQL at 127.0.0.1:5432 unusable ({exc}); the node uses the embedded server")
        return None
    return LOCAL_PG.rsplit("/", 1)[0] + f"/{name}"


def _ms(values: list[float], q: float) -> float:
    return percentile(values, q) if values else float("nan")


def main() -> int:
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="macrofund-live-bench-"))
    dsn = _local_database()
    try:
        with venue_process(tmp / "venue-node") as port:
            args = ["--side", "node", "--port", str(port), "--workdir", str(tmp / "node")]
            node = _side([*args, *(["--dsn", dsn] if dsn else [])], tmp / "node.json")
        body = node_order_body(tmp / "node")
        (tmp / "body.json").write_text(json.dumps(body), "utf-8")
        with venue_process(tmp / "venue-quickfix") as port:
            args = ["--side", "quickfix", "--port", str(port), "--workdir", str(tmp / "quickfix")]
            qf = _side([*args, "--body", str(tmp / "body.json")], tmp / "quickfix.json")
    finally:
        if dsn is not None:
            name = dsn.rsplit("/", 1)[1]
            with contextlib.suppress(Exception):
                asyncio.run(_admin(LOCAL_PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)
    lat, qlat = node["latencies_ms"], qf["latencies_ms"]
    p50, p99, q50, q99 = _ms(lat, 0.5), _ms(lat, 0.99), _ms(qlat, 0.5), _ms(qlat, 0.99)
    sub50 = _ms(node["to_submitted_ms"], 0.5)
    rate, qrate = node["burst"] / node["burst_seconds"], qf["burst"] / qf["burst_seconds"]
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores, shared)")
    print(f"persistence and audit DB: {'127.0.0.1:5432' if dsn else 'embedded PostgreSQL'}")
    print(
        f"full node  submit_order -> OrderAccepted: p50 {p50:.3f} ms p99 {p99:.3f} ms "
        f"({len(lat)} orders, {WARMUP} warm-up not counted); submit -> OrderSubmitted p50 {sub50:.3f} ms"
    )
    first, last = lat[:100], lat[-100:]
    print(
        f"           node p50 with {WARMUP}-{WARMUP + 100} orders resting {_ms(first, 0.5):.3f} ms, "
        f"with {WARMUP + len(lat) - 100}-{WARMUP + len(lat)} resting {_ms(last, 0.5):.3f} ms"
    )
    print(
        f"QuickFIX   NewOrderSingle -> 150=0:        p50 {q50:.3f} ms p99 {q99:.3f} ms ({len(qlat)} orders)"
    )
    print(
        f"burst of {BURST}: node {rate:,.0f} orders/s ({node['burst_seconds']:.2f} s), "
        f"QuickFIX {qrate:,.0f} orders/s ({qf['burst_seconds']:.2f} s)"
    )
    print(
        "mass cancel of 1,100 / 5,000 resting orders: node "
        + " / ".join(f"{s:.2f} s" for s in node["cancel_seconds"])
        + ", QuickFIX "
        + " / ".join(f"{s:.2f} s" for s in qf["cancel_seconds"])
    )
    print(f"node / QuickFIX: p50 {p50 / q50:.2f}x, p99 {p99 / q99:.2f}x, throughput {rate / qrate:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    latency_met = p99 <= TARGET_P99_MS
    rate_met = rate >= qrate
    print(
        json.dumps(
            {
                "name": "live_submit_to_accepted",
                "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3),
                "quickfix_p50_ms": round(q50, 3),
                "quickfix_p99_ms": round(q99, 3),
                "target": "p99 <= 2 ms",
                "met": latency_met,
            }
        )
    )
    print(
        json.dumps(
            {
                "name": "live_orders_per_s",
                "node_orders_per_s": round(rate),
                "quickfix_orders_per_s": round(qrate),
                "ratio": round(rate / qrate, 3),
                "target": ">= quickfix baseline",
                "met": rate_met,
            }
        )
    )
    return 0 if latency_met and rate_met else 1


def _side_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_fix")
    parser.add_argument("--side", choices=["node", "quickfix"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dsn")
    parser.add_argument("--body", type=Path)
    args = parser.parse_args(argv)
    if args.side == "node":
        node_side(args.port, args.workdir, args.out, args.dsn)
    else:
        body = [(int(tag), str(value)) for tag, value in json.loads(args.body.read_text("utf-8"))]
        quickfix_side(args.port, args.workdir, args.out, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(_side_main(sys.argv[1:]))
