"""The audit component: records every order command and event, position, account, risk and kill-switch
event, trading-state change, and the run's start and stop, into the hash chain.

It is installed on the kernel before venues exist, the same way in every mode, and it subscribes right
away: in NautilusTrader 1.221 a wildcard subscription made after a topic was first published is never
delivered (the accounts' first states are published when venues are added). Commands are not published
on the bus, so it wraps the ``ExecEngine.execute`` endpoint: every command that passed risk, and every
cancel (cancels never pass the RiskEngine), is recorded before it is forwarded. If the record cannot be
written, the command is not forwarded: no order leaves without its audit record.
"""

from __future__ import annotations

import hashlib
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from nautilus_trader.common.component import TestClock

from macrofund.audit.compact import Capture
from macrofund.audit.config import AuditConfig
from macrofund.audit.file_sink import FILE_NAME
from macrofund.audit.handover import SealerProcess, sealer_settings
from macrofund.audit.rebuild import DICT
from macrofund.audit.record import AuditError
from macrofund.risk.events import TOPIC_KILL_SWITCH, TOPIC_RISK_DECISION

if TYPE_CHECKING:
    from macrofund.config.run_config import RunConfig
    from macrofund.engine.components import KernelHandle

# Wildcard topics of Nautilus events, plus the exact topics of macrofund's risk events.
EVENT_TOPICS = ("events.order.*", "events.position.*", "events.account.*", "events.risk")
RISK_TOPICS = (TOPIC_RISK_DECISION, TOPIC_KILL_SWITCH)
EXEC_ENDPOINT = "ExecEngine.execute"
AUDIT_FORMAT = 1
# The sealer gets what was captured at least this often (sooner with a shorter fsync interval).
FLUSH_INTERVAL_MS = 20


def config_hash(config: RunConfig) -> str:
    """SHA-256 of the resolved config's canonical JSON (``config.json``: passwords masked, keys sorted)."""
    canonical = msgspec.json.encode(config.shareable_dump(), order="sorted")
    return hashlib.sha256(canonical).hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


class AuditTrail:
    """One run's audit trail: file (always) and PostgreSQL (when ``audit.database_url`` is set).

    The kernel's thread only captures each event (``macrofund.audit.compact``); a sealer child process
    (``macrofund.audit.sealer``) numbers, hashes and writes the records on the other core.
    """

    name = "audit"

    def __init__(self, handle: KernelHandle, config: AuditConfig) -> None:
        self._config = config
        self._clock = handle.kernel.clock
        self.run_id = handle.run_id
        self.path = handle.output_dir / FILE_NAME
        self.config_hash = config_hash(handle.config)
        self.sealer = SealerProcess(
            sealer_settings(self.run_id, self.path, self.config_hash, config),
            flush_interval_s=min(config.fsync_interval_ms, FLUSH_INTERVAL_MS) / 1000 or 0.01,
            acknowledge_each=config.fsync_interval_ms == 0,
            # A simulated clock: the engine never idles while the run lasts (see ``handover``).
            idle_flush=not isinstance(handle.kernel.clock, TestClock),
        )
        self._capture = Capture()
        self._stopped = False
        self._summary: dict[str, Any] = {}
        self.ignored_after_stop = 0
        self._start_payload = {
            "config_hash": self.config_hash,
            "trader_id": handle.config.run.trader_id,
            "mode": handle.config.run.mode,
            "operator_id": config.operator_id,
            "audit_format": AUDIT_FORMAT,
            "macrofund_version": _version("macrofund"),
            "nautilus_trader_version": _version("nautilus_trader"),
            "resumed_after_seq": self.sealer.start_seq,
        }

    # -- wiring -------------------------------------------------------------------------------------

    def attach(self, handle: KernelHandle) -> None:
        """Record the run start, subscribe to every audited topic and wrap the exec engine's endpoint."""
        self.record("RunStart", time.time_ns(), self._start_payload)
        msgbus = handle.kernel.msgbus
        for topic in EVENT_TOPICS:
            msgbus.subscribe(topic, self._on_event)
        for topic in RISK_TOPICS:
            msgbus.subscribe(topic, self._on_risk_event)
        exec_engine = handle.kernel.exec_engine
        forward = exec_engine.execute
        msgbus.deregister(EXEC_ENDPOINT, forward)
        capture = self._capture.item
        sealer = self.sealer

        def execute(command: Any) -> None:
            if not self._stopped:
                # Captured before forwarding; raises (and the command is not forwarded) once the sealer
                # has failed. Not written down the pipe per command: waking the sealer costs ~0.1 ms.
                sealer.check()
                sealer.send(capture(command))
            else:
                self.ignored_after_stop += 1
            forward(command)

        msgbus.register(EXEC_ENDPOINT, execute)

    # -- recording ----------------------------------------------------------------------------------

    def record(self, record_type: str, ts_event: int, payload: Any) -> None:
        """Hand one record (a JSON-object payload) to the sealer."""
        if self._stopped:
            self.ignored_after_stop += 1
            return
        self.sealer.send((record_type, ts_event, DICT, payload))

    def _on_event(self, event: Any) -> None:
        if self._stopped:
            self.ignored_after_stop += 1
            return
        self.sealer.send(self._capture.item(event))

    def _on_risk_event(self, event: Any) -> None:
        # Flat frozen dataclasses: their __dict__ encodes to the same JSON object as the dataclass.
        if self._stopped:
            self.ignored_after_stop += 1
            return
        self.sealer.send((type(event).__name__, event.ts_event, DICT, event.__dict__))

    def _stop(self, ts_ns: int, completed: bool) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._summary = self.sealer.stop(ts_ns, completed)
        except AuditError:
            self._summary = self.sealer.abandon()
            raise
        if "error" in self._summary:
            raise AuditError(self._summary["error"])

    # -- RunComponent -------------------------------------------------------------------------------

    def on_run_end(self, ts_ns: int) -> None:
        """Seal ``RunStop``; the sealer makes the file durable and gives PostgreSQL time to catch up."""
        self._stop(ts_ns, completed=True)

    def write_outputs(self, out_dir: Path) -> dict[str, Path]:
        return {"audit": self.path}

    def summary(self) -> dict[str, Any]:
        done = self._summary
        section: dict[str, Any] = {
            "file": str(self.path),
            "records_file": done.get("records_file", 0),
            "last_seq": done.get("last_seq", self.sealer.start_seq),
            "chain_head": done.get("chain_head", self.sealer.start_head),
        }
        if "db_status" not in done:
            section["db_status"] = "off"
        else:
            section["records_db"] = done["records_db"]  # the database holds seq 1..records_db of this run
            section["db_status"] = done["db_status"]
            section["db_backfilled"] = done["db_backfilled"]
            section["db_outages"] = done["db_outages"]
        if self.ignored_after_stop:
            section["events_after_stop_ignored"] = self.ignored_after_stop
        if "error" in done:
            section["error"] = done["error"]
        return section

    def close(self) -> None:
        """Seal ``RunStop`` if the run failed before its end; the sealer then finishes and exits."""
        if not self._stopped:
            try:
                self._stop(self._clock.timestamp_ns(), completed=False)
            except AuditError:
                self._summary = self.sealer.abandon()


def install(handle: KernelHandle) -> AuditTrail | None:
    """The run's audit trail, attached to the kernel; ``None`` when ``audit.enabled`` is false."""
    config = handle.config.audit
    if not config.enabled:
        return None
    trail = AuditTrail(handle, config)
    try:
        trail.attach(handle)
    except BaseException:
        trail.close()
        raise
    return trail
