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
from nautilus_trader.model.events import PositionChanged, PositionClosed, PositionOpened

from macrofund.audit.config import AuditConfig
from macrofund.audit.db_sink import AuditDatabaseWriter
from macrofund.audit.file_sink import FILE_NAME, AuditFile, last_record
from macrofund.audit.record import AuditChain, AuditError
from macrofund.risk.events import TOPIC_KILL_SWITCH, TOPIC_RISK_DECISION

if TYPE_CHECKING:
    from macrofund.config.run_config import RunConfig
    from macrofund.engine.components import KernelHandle

# Wildcard topics of Nautilus events, plus the exact topics of macrofund's risk events.
EVENT_TOPICS = ("events.order.*", "events.position.*", "events.account.*", "events.risk")
RISK_TOPICS = (TOPIC_RISK_DECISION, TOPIC_KILL_SWITCH)
EXEC_ENDPOINT = "ExecEngine.execute"
AUDIT_FORMAT = 1
# Events whose ``to_dict`` carries binary floats (avg prices, signed qty, return): written as their
# shortest round-trip decimal string, so the canonical form holds no floats and is reproducible by
# any JSON library.
_FLOAT_EVENTS = frozenset({PositionOpened, PositionChanged, PositionClosed})
_FLOAT_KEYS = frozenset({"signed_qty", "avg_px_open", "avg_px_close", "realized_return"})


def config_hash(config: RunConfig) -> str:
    """SHA-256 of the resolved config's canonical JSON (``model_dump(mode="json")``, keys sorted)."""
    canonical = msgspec.json.encode(config.model_dump(mode="json"), order="sorted")
    return hashlib.sha256(canonical).hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


class AuditTrail:
    """One run's audit trail: file (always) and PostgreSQL (when ``audit.database_url`` is set)."""

    name = "audit"

    def __init__(self, handle: KernelHandle, config: AuditConfig) -> None:
        self._config = config
        self._clock = handle.kernel.clock
        self.run_id = handle.run_id
        self.path = handle.output_dir / FILE_NAME
        # An existing trail of the same run (a restarted paper/live run) is continued, not restarted.
        last = last_record(self.path) if self.path.exists() else None
        if last is not None and last.get("run_id") != self.run_id:
            raise AuditError(
                f"{self.path} holds the audit trail of run {last.get('run_id')!r}, not {self.run_id!r}"
            )
        self.chain = AuditChain(
            self.run_id,
            int(last["seq"]) if last is not None else 0,
            str(last["hash"]) if last is not None else None,
        )
        self.file = AuditFile(self.path, config.fsync_interval_ms)
        self.db: AuditDatabaseWriter | None = None
        if config.database_url:
            self.db = AuditDatabaseWriter(
                config.database_url,
                self.run_id,
                self.path,
                self.file.flush,
                queue_size=config.db_queue_size,
                batch_size=config.db_batch_size,
                retry_interval_s=config.db_retry_interval.total_seconds(),
            )
            self.db.start()
        self._stopped = False
        self._db_stopped = False
        self.ignored_after_stop = 0
        self.config_hash = config_hash(handle.config)
        self._start_payload = {
            "config_hash": self.config_hash,
            "trader_id": handle.config.run.trader_id,
            "mode": handle.config.run.mode,
            "operator_id": config.operator_id,
            "audit_format": AUDIT_FORMAT,
            "macrofund_version": _version("macrofund"),
            "nautilus_trader_version": _version("nautilus_trader"),
            "resumed_after_seq": self.chain.seq,
        }

    # -- wiring -------------------------------------------------------------------------------------

    def attach(self, handle: KernelHandle) -> None:
        """Record the run start, subscribe to every audited topic and wrap the exec engine's endpoint."""
        now = time.time_ns()
        self.record("RunStart", now, self._start_payload)
        msgbus = handle.kernel.msgbus
        for topic in EVENT_TOPICS:
            msgbus.subscribe(topic, self._on_event)
        for topic in RISK_TOPICS:
            msgbus.subscribe(topic, self._on_risk_event)
        exec_engine = handle.kernel.exec_engine
        forward = exec_engine.execute
        msgbus.deregister(EXEC_ENDPOINT, forward)

        def execute(command: Any) -> None:
            self.record(type(command).__name__, command.ts_init, type(command).to_dict(command))
            forward(command)

        msgbus.register(EXEC_ENDPOINT, execute)

    # -- recording ----------------------------------------------------------------------------------

    def record(self, record_type: str, ts_event: int, payload: Any) -> None:
        """Seal one record and append it to the file (and queue it for PostgreSQL)."""
        if self._stopped:
            self.ignored_after_stop += 1
            return
        sealed = self.chain.seal(record_type, ts_event, time.time_ns(), payload)
        self.file.append(sealed.line)
        if self.db is not None:
            self.db.offer(
                (
                    sealed.seq,
                    record_type,
                    ts_event,
                    sealed.ts_recorded,
                    sealed.prev_hash,
                    sealed.hash,
                    sealed.body,
                )
            )

    def _on_event(self, event: Any) -> None:
        payload = type(event).to_dict(event)
        if type(event) in _FLOAT_EVENTS:
            for key in _FLOAT_KEYS.intersection(payload):
                payload[key] = repr(payload[key])
        self.record(type(event).__name__, event.ts_event, payload)

    def _on_risk_event(self, event: Any) -> None:
        # These are flat frozen dataclasses whose to_dict() is dataclasses.asdict (slow: it deep-copies);
        # msgspec encodes the dataclass itself to exactly the same JSON object.
        self.record(type(event).__name__, event.ts_event, event)

    def _stop(self, ts_ns: int, completed: bool) -> None:
        if self._stopped:
            return
        self.record(
            "RunStop",
            ts_ns,
            {"completed": completed, "config_hash": self.config_hash, "records": self.chain.seq + 1},
        )
        self._stopped = True
        self.file.flush()

    def _stop_db(self, timeout_s: float) -> None:
        if self.db is not None and not self._db_stopped:
            self._db_stopped = True
            self.db.stop(timeout_s)

    # -- RunComponent -------------------------------------------------------------------------------

    def on_run_end(self, ts_ns: int) -> None:
        """Seal ``RunStop``, make the file durable and give PostgreSQL time to catch up."""
        self._stop(ts_ns, completed=True)
        self._stop_db(self._config.db_drain_timeout.total_seconds())

    def write_outputs(self, out_dir: Path) -> dict[str, Path]:
        return {"audit": self.path}

    def summary(self) -> dict[str, Any]:
        section: dict[str, Any] = {
            "file": str(self.path),
            "records_file": self.file.records_written,
            "last_seq": self.chain.seq,
            "chain_head": self.chain.head,
        }
        if self.db is None:
            section["db_status"] = "off"
        else:
            section["records_db"] = self.db.db_seq  # the database holds seq 1..db_seq of this run
            section["db_status"] = self.db.status
            section["db_backfilled"] = self.db.backfilled
            section["db_outages"] = self.db.outages
        if self.ignored_after_stop:
            section["events_after_stop_ignored"] = self.ignored_after_stop
        return section

    def close(self) -> None:
        """Seal ``RunStop`` if the run failed before its end, then close the file and the writer."""
        if not self._stopped:
            self._stop(self._clock.timestamp_ns(), completed=False)
        self.file.close()
        self._stop_db(timeout_s=self._config.db_drain_timeout.total_seconds())


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
