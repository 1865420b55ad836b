"""Check a hash chain and name the first broken link.

Walks records in stored order (file lines, or database rows by seq). At position k (counting from 1)
the record must: parse, have every field, belong to the run, carry seq = k, link to the previous
record's hash (``prev_hash``; the genesis value at k = 1), and hash to its own ``hash``. The first
position where one of these fails is reported as "broken at seq k": an edited record fails its own
hash at k; a deleted, inserted or reordered record breaks the numbering or the link at k. A trail must
end with ``RunStop``; otherwise its last records were cut off (unless ``allow_open`` for a live run).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from macrofund.audit.file_sink import read_lines
from macrofund.audit.record import RECORD_KEYS, AuditError, canonical_body, decode, digest, genesis_hash


@dataclass(frozen=True)
class VerifyResult:
    """``ok`` with the record count and chain head, or the first broken seq and why."""

    ok: bool
    records: int
    run_id: str | None
    head: str | None
    broken_seq: int | None = None
    reason: str | None = None

    def message(self, source: str) -> str:
        if self.ok:
            return (
                f"OK: {source}: {self.records} records of run {self.run_id}, chain intact, head {self.head}"
            )
        return f"TAMPERED: {source}: broken at seq {self.broken_seq}: {self.reason}"


@dataclass(frozen=True)
class StoredRecord:
    """One record as stored: the parsed object (``None`` if not parsable) and, for DB rows, its body."""

    where: str  # "line 12" / "row seq 12"
    record: dict | None
    body: bytes | None = None  # the exact bytes the DB says the hash covers
    stored_seq: int | None = None  # the DB's seq column
    stored_hash: str | None = None  # the DB's hash column


def _check(
    position: int, prev: str, prev_prev: str | None, run_id: str, item: StoredRecord
) -> tuple[int, str] | None:
    """``(broken seq, why)`` when ``item`` is not a valid link at ``position`` after ``prev``, else None.

    The broken seq is the first record that can no longer be trusted: usually ``position``; for a record
    whose own hash is fine but whose link to the previous record is not, the previous record (it may be
    a re-hashed replacement); for a second record claiming the previous seq with the same predecessor,
    that seq (one of the two was inserted).
    """
    record = item.record
    if record is None or set(record) != RECORD_KEYS:
        return position, f"{item.where} is not an audit record (malformed or missing fields: edited)"
    if record["run_id"] != run_id:
        return position, f"{item.where} belongs to run {record['run_id']!r}, not {run_id!r} (inserted)"
    if item.stored_seq is not None and item.stored_seq != record["seq"]:
        return position, f"{item.where}: seq column differs from the record's seq {record['seq']} (edited)"
    body = item.body if item.body is not None else canonical_body(record)
    if digest(body) != record["hash"]:
        return position, f"{item.where}: content does not match its hash (record edited)"
    if record["seq"] != position:
        if record["seq"] == position - 1 and record["prev_hash"] == prev_prev:
            return (
                position - 1,
                f"two records claim seq {position - 1} (one was inserted), second at {item.where}",
            )
        return position, (
            f"{item.where} has seq {record['seq']} where seq {position} belongs "
            "(a record was deleted, inserted or moved)"
        )
    if record["prev_hash"] != prev:
        if position == 1:
            return 1, f"{item.where} does not start from the run's genesis hash (edited or replaced)"
        return position - 1, (
            f"{item.where} does not link to the record before it: seq {position - 1} was replaced "
            f"(or seq {position} rewritten)"
        )
    return None


def verify_records(
    items: Iterable[StoredRecord], *, run_id: str | None = None, allow_open: bool = False
) -> VerifyResult:
    """Verify a whole trail; ``run_id`` defaults to the first record's."""
    position = 0
    prev = ""
    prev_prev: str | None = None
    head: str | None = None
    last_type: str | None = None
    for item in items:
        position += 1
        if run_id is None:
            first = item.record
            if first is None or not isinstance(first.get("run_id"), str):
                return VerifyResult(False, 0, None, None, 1, f"{item.where} is not an audit record")
            run_id = first["run_id"]
        if position == 1:
            prev = genesis_hash(run_id)
        broken = _check(position, prev, prev_prev, run_id, item)
        if broken is not None:
            seq, reason = broken
            return VerifyResult(False, seq - 1, run_id, head, seq, reason)
        assert item.record is not None
        prev_prev = prev
        prev = head = item.record["hash"]
        last_type = item.record["type"]
    if position == 0:
        raise AuditError("no audit records to verify")
    if last_type != "RunStop" and not allow_open:
        return VerifyResult(
            False,
            position,
            run_id,
            head,
            position + 1,
            "the trail ends without RunStop (last records removed)",
        )
    return VerifyResult(True, position, run_id, head)


def file_records(path: Path) -> Iterator[StoredRecord]:
    """Every line of an audit file as a ``StoredRecord``."""
    for number, raw in read_lines(path):
        try:
            record = decode(raw)
        except msgspec.DecodeError:
            record = None
        yield StoredRecord(f"line {number}", record if isinstance(record, dict) else None)


def verify_file(path: Path, *, allow_open: bool = False) -> VerifyResult:
    """Verify an audit JSONL file. ``AuditError`` when it cannot be read or holds no audit record."""
    if path.is_dir():
        path = path / "audit.jsonl"
    if not path.is_file():
        raise AuditError(f"audit file not found: {path}")
    records = file_records(path)
    first = next(records, None)
    if first is None:
        raise AuditError(f"{path} is empty: no audit records")
    if first.record is None or "run_id" not in first.record:
        raise AuditError(f"{path} is not an audit trail (line 1 is not an audit record)")

    def chained() -> Iterator[StoredRecord]:
        yield first
        yield from records

    return verify_records(chained(), allow_open=allow_open)


def db_records(rows: Iterable[tuple[int, str, str]]) -> Iterator[StoredRecord]:
    """Database rows ``(seq, body, hash)`` as ``StoredRecord``s (the record is re-read from the body)."""
    for seq, body, stored_hash in rows:
        try:
            parsed = decode(body)
        except msgspec.DecodeError:
            parsed = None
        record = (
            {**parsed, "hash": stored_hash} if isinstance(parsed, dict) and "hash" not in parsed else None
        )
        yield StoredRecord(f"row seq {seq}", record, body.encode(), seq, None)


async def verify_db(dsn: str, run_id: str, *, allow_open: bool = False) -> VerifyResult:
    """Verify the records PostgreSQL holds for ``run_id``."""
    import asyncpg

    from macrofund.audit.store import fetch_rows

    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except Exception as exc:
        raise AuditError(f"cannot connect to the audit database: {exc}") from None
    try:
        try:
            rows = await fetch_rows(conn, run_id)
        except asyncpg.UndefinedTableError:
            raise AuditError(
                "the database has no audit_records table (no audit trail was ever written)"
            ) from None
    finally:
        await conn.close()
    if not rows:
        raise AuditError(f"no audit records for run {run_id!r} in the database")
    return verify_records(db_records(rows), run_id=run_id, allow_open=allow_open)
