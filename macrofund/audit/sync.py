"""Catch PostgreSQL up with an audit file (``macrofund audit sync``): after an outage that outlived
the run, or to load a backtest's trail into the database later.

The file is verified first (a tampered file is never copied). Every record is then offered to the
database; records already there are compared, not rewritten, so running it twice writes nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from macrofund.audit.file_sink import read_records
from macrofund.audit.record import AuditError
from macrofund.audit.store import count, insert_rows, row_from_record
from macrofund.audit.verify import VerifyResult, verify_file
from macrofund.storage.migrations import upgrade

BATCH = 5_000


@dataclass(frozen=True)
class SyncResult:
    """What a sync did."""

    run_id: str
    file_records: int
    inserted: int
    db_records: int


class AuditTamperedError(AuditError):
    """The file's chain is broken; nothing was copied."""

    def __init__(self, result: VerifyResult, source: str) -> None:
        super().__init__(result.message(source))
        self.result = result


async def sync_file_to_db(path: Path, dsn: str) -> SyncResult:
    """Copy every record of ``path`` that PostgreSQL lacks; raises on tampering or a content conflict."""
    result = verify_file(path, allow_open=True)
    if not result.ok:
        raise AuditTamperedError(result, str(path))
    assert result.run_id is not None
    if path.is_dir():
        path = path / "audit.jsonl"
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except Exception as exc:
        raise AuditError(f"cannot connect to the audit database: {exc}") from None
    try:
        await upgrade(conn)
        inserted = 0
        batch = []
        for _, record in read_records(path):
            assert isinstance(record, dict)  # verified above
            batch.append(row_from_record(record))
            if len(batch) >= BATCH:
                inserted += await insert_rows(conn, result.run_id, batch)
                batch = []
        inserted += await insert_rows(conn, result.run_id, batch)
        total = await count(conn, result.run_id)
    finally:
        await conn.close()
    return SyncResult(result.run_id, result.records, inserted, total)
