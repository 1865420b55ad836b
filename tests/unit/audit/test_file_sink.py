"""The audit file: durability policy, torn last lines, continuing an existing chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from macrofund.audit.config import AuditConfig
from macrofund.audit.file_sink import AuditFile, FileTail, last_record, read_lines
from macrofund.audit.record import AuditChain
from macrofund.audit.verify import verify_file


def _write(path: Path, chain: AuditChain, n: int, fsync_interval_ms: int = 0) -> AuditFile:
    sink = AuditFile(path, fsync_interval_ms)
    for i in range(n):
        sink.append(chain.seal("RunStop" if i == n - 1 else "X", i, i, {"i": i}).line)
    return sink


def test_fsync_per_record_makes_every_record_durable_before_append_returns(tmp_path: Path) -> None:
    sink = _write(tmp_path / "a.jsonl", AuditChain("r"), 5, fsync_interval_ms=0)
    assert sink.records_durable == sink.records_written == 5
    assert len(list(read_lines(tmp_path / "a.jsonl"))) == 5  # visible without close
    sink.close()


def test_interval_policy_is_durable_after_flush_and_close(tmp_path: Path) -> None:
    sink = _write(tmp_path / "a.jsonl", AuditChain("r"), 5, fsync_interval_ms=60_000)
    sink.flush()
    assert sink.records_durable == 5
    sink.close()
    sink.close()  # idempotent
    assert verify_file(tmp_path / "a.jsonl").ok


def test_a_torn_last_line_is_not_read_as_a_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, AuditChain("r"), 3).close()
    with open(path, "ab") as fh:
        fh.write(b'{"seq":4,"pay')  # the process died mid-write
    assert [n for n, _ in read_lines(path)] == [1, 2, 3]
    assert FileTail(path).read_until(10)[-1]["seq"] == 3


def test_an_existing_trail_is_continued_not_restarted(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    first = AuditChain("r")
    _write(path, first, 3).close()
    last = last_record(path)
    assert last is not None
    resumed = AuditChain("r", int(last["seq"]), str(last["hash"]))
    _write(path, resumed, 2).close()
    result = verify_file(path)
    assert result.ok and result.records == 5


def test_audit_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        AuditConfig(fsync_interval_ms=-1)
    with pytest.raises(ValueError):
        AuditConfig(db_retry_interval="0s")
    assert AuditConfig(db_drain_timeout="2m").db_drain_timeout.total_seconds() == 120


def test_a_trail_continued_after_a_torn_last_line_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, AuditChain("r"), 3).close()
    with open(path, "ab") as fh:
        fh.write(b'{"seq":4,"pay')  # the process died mid-write
    last = last_record(path)
    assert last is not None and last["seq"] == 3
    resumed = _write(path, AuditChain("r", int(last["seq"]), str(last["hash"])), 2)
    resumed.close()
    assert resumed.torn_bytes_dropped == len(b'{"seq":4,"pay')
    result = verify_file(path)
    assert result.ok and result.records == 5  # the fragment is gone, not glued to record 4
