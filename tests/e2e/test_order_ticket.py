"""``macrofund order-ticket`` as a certification script drives it: JSON lines in, events out, real venue.

Each test starts the real ``macrofund exchange-sim`` and the real CLI as subprocesses, writes a command,
reads the events it causes (as a script waiting for each answer does), and checks identifiers on the
raw FIX log where the wire is what matters.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, start_exchange_sim

B3_CONFIG = ROOT / "configs" / "live-b3-local.toml"
CME_CONFIG = ROOT / "configs" / "live-cme-local.toml"
WAIT = 60.0  # seconds before a missing answer fails the test instead of hanging it (not a speed check)

Event = dict[str, Any]


class Ticket:
    """A running ``macrofund order-ticket``: ``send`` a command, ``expect`` the event it causes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "macrofund", "order-ticket", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.events: list[Event] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def send_raw(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, match: Callable[[Event], bool], what: str) -> Event:
        """The next event (in output order) that ``match`` accepts; every event read is kept."""
        for event in self.events:
            if match(event) and not event.get("_seen"):
                event["_seen"] = True
                return event
        deadline = time.monotonic() + WAIT  # overall: other events must not keep the wait alive
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                pytest.fail(f"no {what} within {WAIT} s; events so far: {self.events}")
            if line is None:
                pytest.fail(f"the ticket ended before {what}; events: {self.events}; stderr: {self.stderr()}")
            event = json.loads(line)  # every stdout line must be one JSON object
            self.events.append(event)
            if match(event):
                event["_seen"] = True
                return event

    def event(self, name: str, cl_ord_id: str | None = None) -> Event:
        return self.expect(
            lambda e: e["event"] == name and (cl_ord_id is None or e.get("client_order_id") == cl_ord_id),
            f"{name} for {cl_ord_id}",
        )

    def finish(self, close: bool = True) -> int:
        """Close stdin (end of input) and wait for the exit code; the remaining events are read."""
        assert self.proc.stdin is not None
        if close:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=WAIT)
        while (line := self._lines.get(timeout=WAIT)) is not None:
            self.events.append(json.loads(line))
        return code

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


@pytest.fixture
def b3_sim(tmp_path: Path) -> Iterator[int]:
    proc, port = start_exchange_sim("b3", tmp_path / "venue", "B3_SIM_PASSWORD")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def cme_sim(tmp_path: Path) -> Iterator[int]:
    proc, port = start_exchange_sim("cme", tmp_path / "venue-cme", "CME_SIM_PASSWORD")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _env() -> dict[str, str]:
    return {**os.environ, "B3_SIM_PASSWORD": "local-only", "CME_SIM_PASSWORD": "local-only"}


@pytest.fixture
def ticket(tmp_path: Path, b3_sim: int) -> Iterator[Callable[..., Ticket]]:
    started: list[Ticket] = []

    def start(*extra: str, config: Path = B3_CONFIG, venue: str = "b3", port: int = b3_sim) -> Ticket:
        args = ["--venue", venue, "--config", str(config), "--port", str(port)]
        t = Ticket([*args, "--state-dir", str(tmp_path / "ticket"), "--drain", "5", *extra], _env())
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def _raw_log(tmp_path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((tmp_path / "ticket" / "fix-log").rglob("*.log")))


def _limit(cl_ord_id: str, price: str = "150000", qty: int = 1, side: str = "buy") -> dict[str, Any]:
    return {
        "action": "new", "cl_ord_id": cl_ord_id, "instrument": "WINZ26.B3", "side": side, "qty": qty,
        "type": "limit", "price": price, "tif": "day",
    }  # fmt: skip


def test_a_limit_order_is_accepted_with_its_wire_fields_then_replaced_queried_and_cancelled(
    tmp_path: Path, ticket: Callable[..., Ticket]
) -> None:
    t = ticket()
    assert t.event("logon")["session"] == "MF01->B3"
    t.send(**_limit("CERT-1"))
    accepted = t.event("OrderAccepted", "CERT-1")
    fix = accepted["fix"]
    assert fix["ClOrdID"] == "CERT-1" and fix["ExecType"] == "0" and fix["OrdStatus"] == "0"
    assert fix["OrderID"] == accepted["venue_order_id"] and fix["ExecID"]
    assert (accepted["status"], accepted["cum_qty"], accepted["leaves_qty"]) == ("ACCEPTED", "0", "1")

    t.send(action="replace", cl_ord_id="CERT-1", request_cl_ord_id="CERT-1-R1", price="150010", qty=2)
    updated = t.event("OrderUpdated", "CERT-1")
    assert updated["fix"]["ClOrdID"] == "CERT-1-R1" and updated["fix"]["OrigClOrdID"] == "CERT-1"
    assert updated["fix"]["ExecType"] == "5" and updated["qty"] == "2"

    t.send(action="status", cl_ord_id="CERT-1")
    status = t.event("OrderStatus", "CERT-1")
    assert status["fix"]["ExecType"] == "I" and status["fix"]["ClOrdID"] == "CERT-1-R1"

    t.send(action="cancel", cl_ord_id="CERT-1", request_cl_ord_id="CERT-1-C1")
    canceled = t.event("OrderCanceled", "CERT-1")
    # After a replace the cancel's OrigClOrdID is the replace's ClOrdID, as the venue knows the order.
    assert canceled["fix"]["ClOrdID"] == "CERT-1-C1" and canceled["fix"]["OrigClOrdID"] == "CERT-1-R1"
    assert canceled["status"] == "CANCELED"

    t.send(action="logout")
    assert t.finish(close=False) == 0
    assert t.event("stopping")["reason"] == "logout"
    assert t.event("logout")
    wire = _raw_log(tmp_path)
    assert any(
        "35=G|" in line and "11=CERT-1-R1|" in line and "41=CERT-1|" in line for line in wire.splitlines()
    )
    assert any(
        "35=F|" in line and "11=CERT-1-C1|" in line and "41=CERT-1-R1|" in line for line in wire.splitlines()
    )


def test_a_market_order_fills_and_reports_cum_leaves_and_average_price(ticket: Callable[..., Ticket]) -> None:
    t = ticket()
    t.send(action="new", cl_ord_id="MKT-1", instrument="WINZ26", side="sell", qty=3, type="market", tif="ioc")
    fills = [t.event("OrderFilled", "MKT-1")]
    while fills[-1]["status"] != "FILLED":
        fills.append(t.event("OrderFilled", "MKT-1"))
    last = fills[-1]
    assert last["cum_qty"] == "3" and last["leaves_qty"] == "0"
    assert last["fix"]["CumQty"] == "3" and last["fix"]["LeavesQty"] == "0"
    for fill in fills:
        assert fill["trade_id"] == fill["fix"]["ExecID"] and fill["last_qty"] == fill["fix"]["LastQty"]
    from decimal import Decimal

    notional = sum(Decimal(f["last_qty"]) * Decimal(f["last_px"]) for f in fills)
    assert Decimal(last["avg_px"]) == notional / 3 == Decimal(last["fix"]["AvgPx"])
    assert t.finish() == 0


def test_bad_lines_get_one_error_each_and_later_lines_still_work(ticket: Callable[..., Ticket]) -> None:
    t = ticket()
    t.send_raw("this is not json")
    t.send(action="explode")
    t.send(action="new", instrument="WINZ26.B3", side="buy", qty=1, type="limit", price="150000")
    t.send(**{**_limit("BAD-QTY"), "qty": "-2"})
    t.send(**{**_limit("BAD-INST"), "instrument": "NOPE.B3"})
    t.send(**_limit("GOOD-1"))
    assert t.event("OrderAccepted", "GOOD-1")["fix"]["ClOrdID"] == "GOOD-1"
    assert t.finish() == 0
    errors = {e["line"]: e["reason"] for e in t.events if e["event"] == "error"}
    assert sorted(errors) == [1, 2, 3, 4, 5]
    assert "not JSON" in errors[1]
    assert "unknown action 'explode'" in errors[2]
    assert "missing field 'cl_ord_id'" in errors[3]
    assert "qty '-2' must be a positive number" in errors[4]
    assert "unknown instrument NOPE.B3" in errors[5]
    assert t.events[-1]["event"] == "disconnect"  # end of input: drained, logged out


def test_mass_cancel_cancels_every_working_order_at_the_venue(
    tmp_path: Path, ticket: Callable[..., Ticket]
) -> None:
    t = ticket()
    t.send(**_limit("MC-1"))
    t.event("OrderAccepted", "MC-1")
    t.send(**_limit("MC-2", price="149000", side="buy", qty=2))
    t.event("OrderAccepted", "MC-2")
    t.send(action="mass_cancel", instrument="WINZ26.B3")
    for cl_ord_id in ("MC-1", "MC-2"):
        canceled = t.event("OrderCanceled", cl_ord_id)
        assert canceled["fix"]["ExecType"] == "4" and canceled["fix"]["OrderID"] == canceled["venue_order_id"]
    t.send(action="mass_cancel")
    assert "no open orders" in t.event("notice")["reason"]
    assert t.finish() == 0
    assert "35=q|" in _raw_log(tmp_path)


def test_a_mass_cancel_right_after_a_new_order_cancels_it_too(
    tmp_path: Path, ticket: Callable[..., Ticket]
) -> None:
    """Certification scripts send ``new`` then ``mass_cancel`` back to back. The order was still in
    flight, not open for Nautilus: "no open orders; nothing sent", and it stayed working at the venue."""
    t = ticket()
    t.send_raw(json.dumps(_limit("MC-FAST")) + "\n" + json.dumps({"action": "mass_cancel"}))
    canceled = t.event("OrderCanceled", "MC-FAST")
    assert canceled["fix"]["ExecType"] == "4"
    assert t.finish() == 0
    assert "35=q|" in _raw_log(tmp_path)


def test_a_risk_denial_is_printed_as_an_event_and_nothing_reaches_the_venue(
    tmp_path: Path, ticket: Callable[..., Ticket]
) -> None:
    config = tmp_path / "ticket-risk.toml"
    config.write_text(B3_CONFIG.read_text() + '\n[risk.defaults]\nmax_order_qty = "5"\ncollar_ticks = 50\n')
    t = ticket(config=config)
    t.send(**_limit("RISK-1", qty=10))
    denied = t.event("OrderDenied", "RISK-1")
    assert "max_order_qty" in denied["reason"] or "5" in denied["reason"]
    assert "fix" not in denied
    # No market data: the collar has no reference price, so a limit order is denied with that reason.
    t.send(**_limit("RISK-2", qty=1))
    assert "no reference price" in t.event("OrderDenied", "RISK-2")["reason"]
    assert t.finish() == 0
    assert "RISK-1" not in _raw_log(tmp_path) and "RISK-2" not in _raw_log(tmp_path)


def test_the_cme_ticket_trades_through_the_fcm_gateway_profile(
    tmp_path: Path, ticket: Callable[..., Ticket], cme_sim: int
) -> None:
    t = ticket(config=CME_CONFIG, venue="cme", port=cme_sim)
    assert t.event("logon")["session"] == "MF01->CME"
    t.send(
        action="new",
        cl_ord_id="ES-1",
        instrument="ESZ6.CME",
        side="buy",
        qty=1,
        type="limit",
        price="5000.25",
    )
    assert t.event("OrderAccepted", "ES-1")["fix"]["ClOrdID"] == "ES-1"
    t.send(action="new", cl_ord_id="ES-2", instrument="ESZ6", side="buy", qty=2, type="market", tif="ioc")
    fill = t.event("OrderFilled", "ES-2")
    while fill["status"] != "FILLED":
        fill = t.event("OrderFilled", "ES-2")
    assert fill["cum_qty"] == fill["fix"]["CumQty"] == "2"
    t.send(action="cancel", cl_ord_id="ES-1", request_cl_ord_id="ES-1-X")
    assert t.event("OrderCanceled", "ES-1")["fix"]["ClOrdID"] == "ES-1-X"
    assert t.finish() == 0


def test_bad_arguments_are_one_line_errors_with_exit_code_2(tmp_path: Path) -> None:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "macrofund", "order-ticket", *args],
            input="", capture_output=True, text=True, timeout=120, check=False, env=env or _env(),
        )  # fmt: skip

    cases = [
        (("--venue", "lse", "--config", str(B3_CONFIG)), "expected b3 or cme"),
        (("--venue", "cme", "--config", str(B3_CONFIG)), "no [[venues]] entry named CME"),
        (("--venue", "b3", "--config", str(tmp_path / "missing.toml")), "missing.toml"),
    ]
    for args, message in cases:
        proc = run(*args, "--state-dir", str(tmp_path / "st"))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error:") and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    env = {k: v for k, v in _env().items() if k != "B3_SIM_PASSWORD"}
    proc = run("--venue", "b3", "--config", str(B3_CONFIG), "--state-dir", str(tmp_path / "st"), env=env)
    assert proc.returncode == 2 and "B3_SIM_PASSWORD" in proc.stderr and "Traceback" not in proc.stderr


def test_a_venue_that_never_answers_is_one_error_event_naming_the_session_and_exit_1(tmp_path: Path) -> None:
    from tests.fixtures.servers import free_port

    text = B3_CONFIG.read_text()
    assert 'password_env = "B3_SIM_PASSWORD"\n' in text
    config = tmp_path / "ticket.toml"
    config.write_text(
        text.replace(
            'password_env = "B3_SIM_PASSWORD"\n', 'password_env = "B3_SIM_PASSWORD"\nlogon_timeout_secs = 2\n'
        )
    )
    args = ["--venue", "b3", "--config", str(config), "--port", str(free_port())]
    t = Ticket([*args, "--state-dir", str(tmp_path / "ticket")], _env())
    try:
        code = t.finish(close=False)
    finally:
        t.kill()
    assert code == 1
    errors = [e for e in t.events if e["event"] == "error"]
    assert len(errors) == 1, t.events
    assert errors[0]["reason"].startswith("the node did not start: B3: no FIX logon with 127.0.0.1:"), errors
    assert "cannot connect" in errors[0]["reason"]
