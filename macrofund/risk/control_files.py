"""The operator's channel into a running node: request and acknowledgement files in ``<run-dir>/control/``.

``macrofund kill`` writes ``request-<time>-<id>.json``; the kill-switch actor polls the folder, acts on
each request in order, writes ``ack-<id>.json`` and renames the request to ``done-...``. The actor also
keeps ``heartbeat.json`` current (``running`` / ``ended``), so the CLI can say whether anyone is
listening. Every file is written to a temporary name and renamed, so a reader never sees half a file.
The API will call the same kill-switch methods directly.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CONTROL_DIR = "control"
HEARTBEAT = "heartbeat.json"


def control_dir(run_dir: Path) -> Path:
    """Where a run's control files live."""
    return run_dir / CONTROL_DIR


def now_iso() -> str:
    """Wall-clock UTC time for people reading the files (never used for trading decisions)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` via a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def write_request(
    run_dir: Path, action: str, scope: str, flatten: bool | None, reason: str, operator: str
) -> str:
    """Queue a kill or re-enable request; returns its id (the ack file is ``ack-<id>.json``)."""
    request_id = uuid.uuid4().hex
    payload = {
        "id": request_id,
        "action": action,
        "scope": scope,
        "flatten": flatten,
        "reason": reason,
        "operator": operator,
        "requested_at": now_iso(),
    }
    write_json_atomic(control_dir(run_dir) / f"request-{time.time_ns()}-{request_id}.json", payload)
    return request_id


def pending_requests(folder: Path) -> list[Path]:
    """Request files not yet processed, oldest first."""
    return sorted(folder.glob("request-*.json"))


def read_ack(run_dir: Path, request_id: str) -> dict[str, Any] | None:
    """The acknowledgement of ``request_id``, or ``None`` while it is pending."""
    path = control_dir(run_dir) / f"ack-{request_id}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def read_heartbeat(run_dir: Path) -> dict[str, Any] | None:
    """The actor's last heartbeat, or ``None`` if no kill-switch actor ever ran in this folder."""
    path = control_dir(run_dir) / HEARTBEAT
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data
