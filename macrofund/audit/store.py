"""PostgreSQL access for the audit trail: idempotent batch inserts, catch-up position, reads.

Inserts are ``ON CONFLICT DO NOTHING`` on (run_id, seq) and compare the content of every conflicting
row in the same statement: re-sending a record is harmless, a *different* record under an existing
(run_id, seq) raises ``AuditConflictError`` and nothing of that batch is written twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from macrofund.audit.record import AuditConflictError

# (seq, type, ts_event, ts_recorded, prev_hash, hash, body)
Row = tuple[int, str, int, int, str, str, str]

_INSERT = """
with src as (
    select * from unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
                         $8::text[])
        as t(seq, record_type, ts_event, ts_recorded, prev_hash, hash, body)
), ins as (
    insert into audit_records (run_id, seq, record_type, ts_event, ts_recorded, prev_hash, hash, body)
    select $1, seq, record_type, ts_event, ts_recorded, prev_hash, hash, body from src
    on conflict (run_id, seq) do nothing
    returning 1
)
select (select count(*) from ins) as inserted,
       (select min(i.seq) from src i join audit_records r on r.run_id = $1 and r.seq = i.seq
         where r.hash <> i.hash or r.body <> i.body) as first_conflict
"""


async def insert_rows(conn: asyncpg.Connection, run_id: str, rows: Sequence[Row]) -> int:
    """Insert records not yet present; returns how many were new. Raises on a content conflict."""
    if not rows:
        return 0
    columns = list(zip(*rows, strict=True))
    result = await conn.fetchrow(_INSERT, run_id, *columns)
    assert result is not None
    if result["first_conflict"] is not None:
        raise AuditConflictError(
            f"audit: PostgreSQL already holds a different record for run {run_id} seq "
            f"{result['first_conflict']}; the file and the database disagree (run `macrofund audit verify`)"
        )
    return int(result["inserted"])


_COLUMNS = ["run_id", "seq", "record_type", "ts_event", "ts_recorded", "prev_hash", "hash", "body"]


async def append_rows(conn: asyncpg.Connection, run_id: str, rows: Sequence[Row]) -> int:
    """Fast path for rows expected to be new: binary COPY; on a key clash, ``insert_rows`` (checked)."""
    if not rows:
        return 0
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "audit_records", records=[(run_id, *row) for row in rows], columns=_COLUMNS
            )
    except asyncpg.UniqueViolationError:
        return await insert_rows(conn, run_id, rows)
    return len(rows)


async def last_seq(conn: asyncpg.Connection, run_id: str) -> int:
    """Highest seq stored for ``run_id`` (0 when none)."""
    value = await conn.fetchval("select coalesce(max(seq), 0) from audit_records where run_id = $1", run_id)
    return int(value)


async def count(conn: asyncpg.Connection, run_id: str) -> int:
    """Records stored for ``run_id``."""
    return int(await conn.fetchval("select count(*) from audit_records where run_id = $1", run_id))


async def fetch_rows(conn: asyncpg.Connection, run_id: str) -> list[tuple[int, str, str]]:
    """``(seq, body, hash)`` of every stored record of ``run_id``, in seq order."""
    rows = await conn.fetch(
        "select seq, body, hash from audit_records where run_id = $1 order by seq", run_id
    )
    return [(int(r["seq"]), str(r["body"]), str(r["hash"])) for r in rows]


def row_from_record(record: dict) -> Row:
    """A parsed file record → an insert row (``body`` re-derived canonically)."""
    from macrofund.audit.record import canonical_body

    return (
        int(record["seq"]),
        str(record["type"]),
        int(record["ts_event"]),
        int(record["ts_recorded"]),
        str(record["prev_hash"]),
        str(record["hash"]),
        canonical_body(record).decode(),
    )
