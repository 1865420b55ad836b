"""Daily range partitions of the raw tables, created on demand for the range an ingest writes.

A row whose day has no partition would fail the whole COPY, so ingest calls ``ensure_partitions``
first. Creation takes a transaction-scoped advisory lock: two ingests of the same day never race on
``CREATE TABLE``. Partitions are named ``<table>_pYYYYMMDD`` and span one UTC day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg

PARTITIONED_TABLES = ("md_bars_1m", "md_quotes")
_LOCK_KEY = 0x6D66_7470  # "mftp"


def partition_name(table: str, day: date) -> str:
    """``md_bars_1m_p20240102`` for the UTC day 2024-01-02."""
    return f"{table}_p{day:%Y%m%d}"


def days_between(first: datetime, last: datetime) -> list[date]:
    """UTC days touched by the closed range [first, last]."""
    day, end = first.astimezone(UTC).date(), last.astimezone(UTC).date()
    out = []
    while day <= end:
        out.append(day)
        day += timedelta(days=1)
    return out


async def existing_partitions(conn: asyncpg.Connection, table: str) -> set[str]:
    """Names of the partitions ``table`` has now."""
    rows = await conn.fetch(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "join pg_class p on p.oid = i.inhparent where p.relname = $1",
        table,
    )
    return {r["relname"] for r in rows}


async def ensure_partitions(conn: asyncpg.Connection, table: str, first: datetime, last: datetime) -> int:
    """Create the missing daily partitions of ``table`` for [first, last]; returns how many were made.

    Must run inside a transaction (the advisory lock is released at its end).
    """
    if table not in PARTITIONED_TABLES:
        raise ValueError(f"{table} is not a partitioned market-data table")
    await conn.execute("select pg_advisory_xact_lock($1)", _LOCK_KEY)
    have = await existing_partitions(conn, table)
    statements = []
    for day in days_between(first, last):
        name = partition_name(table, day)
        if name in have:
            continue
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        statements.append(
            f"create table {name} partition of {table} "
            f"for values from ('{start.isoformat()}') to ('{end.isoformat()}')"
        )
    if statements:  # one round trip: a year of days is 365 statements
        await conn.execute(";\n".join(statements))
    return len(statements)
