"""The audit sealer process: records identical to in-process sealing, kept when the kernel's process
is killed, and no sealer outliving its parent."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import (
    ClientId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
)
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from macrofund.audit.compact import Capture, rebuild_tables
from macrofund.audit.handover import SealerProcess
from macrofund.audit.rebuild import Rebuilder
from macrofund.audit.record import AuditChain, AuditError
from macrofund.audit.verify import verify_file

FLOAT_KEYS = ("signed_qty", "avg_px_open", "avg_px_close", "realized_return")


def _old_payload(obj: Any) -> dict:
    """What the in-process trail sealed: ``to_dict()``, position floats as their repr."""
    payload = type(obj).to_dict(obj)
    if type(obj).__name__.startswith("Position"):
        for key in FLOAT_KEYS:
            if key in payload:
                payload[key] = repr(payload[key])
    return payload


def _events() -> list[Any]:
    instrument = TestInstrumentProvider.default_fx_ccy("AUD/USD")
    trader, strategy = TraderId("TESTER-001"), StrategyId("S-001")
    order = TestExecStubs.limit_order(instrument=instrument)
    submit = SubmitOrder(
        trader, strategy, order, UUID4(), 1, position_id=PositionId("P-1"), client_id=ClientId("SIM")
    )
    first = TestEventStubs.order_filled(
        order,
        instrument,
        position_id=PositionId("P-1"),
        trade_id=TradeId("T-first"),
        last_px=Price.from_str("1.00001"),
    )
    position = Position(instrument, first)
    opened = TestEventStubs.position_opened(position)
    more = TestExecStubs.market_order(
        instrument=instrument, quantity=Quantity.from_int(50), client_order_id=ClientOrderId("O-2")
    )
    second = TestEventStubs.order_filled(
        more,
        instrument,
        position_id=PositionId("P-1"),
        trade_id=TradeId("T-second"),
        last_px=Price.from_str("1.00011"),
    )
    position.apply(second)
    changed = TestEventStubs.position_changed(position)
    close = TestExecStubs.market_order(
        instrument=instrument,
        order_side=OrderSide.SELL,
        quantity=Quantity.from_int(150),
        client_order_id=ClientOrderId("O-3"),
    )
    third = TestEventStubs.order_filled(
        close,
        instrument,
        position_id=PositionId("P-1"),
        trade_id=TradeId("T-third"),
        last_px=Price.from_str("1.00003"),
    )
    position.apply(third)
    closed = TestEventStubs.position_closed(position)
    unrelated = TestExecStubs.market_order(instrument=instrument, client_order_id=ClientOrderId("O-4"))
    submit_other = SubmitOrder(trader, strategy, unrelated, UUID4(), 2)
    return [
        TestEventStubs.cash_account_state(),
        TestEventStubs.margin_account_state(),
        order.init_event,
        submit,  # refers to the OrderInitialized just captured
        submit_other,  # an order whose OrderInitialized was not the last one captured
        TestEventStubs.order_submitted(order),
        TestEventStubs.order_accepted(order),
        first,
        opened,
        second,
        changed,
        third,
        closed,
        TestEventStubs.order_canceled(unrelated),
    ]


def test_each_captured_event_seals_to_the_same_bytes_as_in_process_sealing() -> None:
    capture, rebuild = Capture(), Rebuilder(rebuild_tables())
    seen = set()
    for obj in _events():
        record_type, ts_event, kind, data = capture.item(obj)
        payload = rebuild.payload(record_type, kind, msgspec.json.decode(msgspec.json.encode(data)))
        ts_old = obj.ts_event if hasattr(obj, "ts_event") else obj.ts_init
        new = AuditChain("r").seal(record_type, ts_event, 7, payload)
        old = AuditChain("r").seal(type(obj).__name__, ts_old, 7, _old_payload(obj))
        assert new.line == old.line, type(obj).__name__
        seen.add((type(obj).__name__, kind))
    # The compact forms (not only the to_dict fallback) were exercised.
    assert {kind for _, kind in seen} >= {"d", "f", "a", "p", "s"}


def _settings(path: Path, run_id: str = "sealer-test") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "path": str(path),
        "config_hash": "0" * 64,
        "fsync_interval_ms": 100,
        "database_url": None,
        "db_queue_size": 1000,
        "db_batch_size": 100,
        "db_retry_interval_s": 1.0,
        "db_drain_timeout_s": 1.0,
        "tables": rebuild_tables(),
    }


def _records(path: Path) -> list[dict[str, Any]]:
    return [msgspec.json.decode(line) for line in path.read_bytes().splitlines()]


def test_a_caller_changing_its_payload_after_send_cannot_change_the_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sealer = SealerProcess(_settings(path), 0.02, False)
    payload = {"step": "cancel", "orders": 1}
    sealer.send(("Note", 1, "d", payload))
    payload["orders"] = 99
    sealer.stop(2, completed=True)
    assert _records(path)[0]["payload"] == {"step": "cancel", "orders": 1}


def test_sealer_writes_run_stop_and_reports_the_chain_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sealer = SealerProcess(_settings(path), flush_interval_s=0.02, acknowledge_each=False)
    for i in range(1000):
        sealer.send(("Note", i, "d", {"i": i}))
    summary = sealer.stop(5_000, completed=True)
    result = verify_file(path)
    assert result.ok and summary["last_seq"] == 1001 and summary["chain_head"] == result.head


def test_a_trail_of_another_run_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    SealerProcess(_settings(path, "first"), 0.02, False).stop(1, completed=True)
    with pytest.raises(AuditError, match=r"holds the audit trail of run 'first', not 'second'$"):
        SealerProcess(_settings(path, "second"), 0.02, False)


PARENT = textwrap.dedent(
    """
    import json, sys, time
    from macrofund.audit.handover import SealerProcess
    settings = json.loads(sys.argv[1])
    sealer = SealerProcess(settings, flush_interval_s=0.02, acknowledge_each=False)
    for i in range(5000):
        sealer.send(("Note", i, "d", {"i": i}))
    sealer.flush()
    print(sealer.pid, flush=True)
    time.sleep(600)
    """
)


def _wait_gone(pid: int, deadline_s: float = 60.0) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as fh:  # a zombie has exited (it waits for init to reap it)
            if fh.read().split()[2] == "Z":
                return True
        time.sleep(0.05)
    return False


def test_a_killed_parent_loses_nothing_it_handed_over_and_leaves_no_sealer(tmp_path: Path) -> None:
    import json

    path = tmp_path / "audit.jsonl"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, json.dumps(_settings(path))], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    sealer_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert _wait_gone(sealer_pid), "the sealer outlived its killed parent"
    result = verify_file(path, allow_open=True)
    assert result.ok and result.records == 5000  # every record handed over, no RunStop


def test_no_item_is_lost_while_the_handover_thread_sends_batches(tmp_path: Path) -> None:
    # Force thread switches at almost every bytecode so the handover thread's flushes interleave with
    # the sender's appends as often as they can. Encoding an enum runs Python code (its ``value``), so
    # a switch can come between taking the queue and appending to it, as in a real run.
    path = tmp_path / "audit.jsonl"
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        sealer = SealerProcess(_settings(path), flush_interval_s=0.0001, acknowledge_each=False)
        for i in range(20_000):
            sealer.send(("Note", i, "d", {"i": i, "side": OrderSide.BUY}))
        summary = sealer.stop(1, completed=True)
    finally:
        sys.setswitchinterval(previous)
    assert summary["last_seq"] == 20_001
    assert verify_file(path).ok


def test_fsync_per_record_means_each_record_is_in_the_file_when_send_returns(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    settings = {**_settings(path), "fsync_interval_ms": 0}
    sealer = SealerProcess(settings, flush_interval_s=0.01, acknowledge_each=True)
    for i in range(3):
        sealer.send(("Note", i, "d", {"i": i}))
        assert len(path.read_bytes().splitlines()) == i + 1  # acknowledged = written and fsynced
    sealer.stop(3, completed=True)
    assert verify_file(path).records == 4


def test_once_the_sealer_is_gone_nothing_more_is_accepted(tmp_path: Path) -> None:
    sealer = SealerProcess(_settings(tmp_path / "audit.jsonl"), 0.02, False)
    os.kill(sealer.pid, signal.SIGKILL)
    assert _wait_gone(sealer.pid)
    # check() is the exec-engine wrapper's test before forwarding a command; it notices the exit as
    # soon as the process is reaped (by it or by the handover thread).
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            sealer.check()
        except AuditError as exc:
            assert re.search(r"audit sealer \(pid \d+\) is gone", str(exc))
            break
        time.sleep(0.01)
    else:
        pytest.fail("check() kept accepting after the sealer died")
    sealer.send(("Note", 1, "d", {}))
    with pytest.raises(AuditError, match="is gone"):
        sealer.flush()
    sealer.abandon()


def test_without_the_idle_flush_thread_the_next_batch_finds_a_dead_sealer(tmp_path: Path) -> None:
    # A backtest has no handover thread to poll the sealer: the engine's own next batch must notice.
    sealer = SealerProcess(_settings(tmp_path / "audit.jsonl"), 0.02, False, idle_flush=False)
    os.kill(sealer.pid, signal.SIGKILL)
    assert _wait_gone(sealer.pid)
    sealer.send(("Note", 1, "d", {}))
    sealer.check()  # nothing polls between batches: commands go on until the next batch
    end = time.monotonic() + 30  # a killed multi-threaded child is reapable once all its threads exit
    while time.monotonic() < end:
        try:
            sealer.flush()
        except AuditError as exc:
            assert "is gone" in str(exc)
            break
        time.sleep(0.01)
    else:
        pytest.fail("the next batch did not notice the sealer was gone")
    with pytest.raises(AuditError, match="is gone"):
        sealer.check()  # and from then on no command is forwarded
    sealer.abandon()
