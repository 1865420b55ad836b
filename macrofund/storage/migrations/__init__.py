"""Versioned SQL migrations: ``NNNN_name.sql`` files in this folder, applied in order, once each.

Applied versions are recorded in ``schema_migrations``; an advisory lock makes concurrent upgrades
(two nodes starting at once) safe. Each file runs in its own transaction. Numbering: 0001-0099
storage (orders, fills, positions, P&L, time series), 0100-0199 audit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from macrofund.errors import MacrofundError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6D66_6D69  # "mfmi": one advisory lock for all macrofund migrations


class MigrationError(MacrofundError):
    """A migration failed; the database is left at the last fully applied version."""


@dataclass(frozen=True)
class Migration:
    """One SQL file."""

    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the package, oldest first."""
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {versions}")
    return found


async def applied(conn: asyncpg.Connection) -> list[int]:
    """Versions already applied to this database."""
    exists = await conn.fetchval("select to_regclass('public.schema_migrations') is not null")
    if not exists:
        return []
    return [
        int(r["version"]) for r in await conn.fetch("select version from schema_migrations order by version")
    ]


async def upgrade(conn: asyncpg.Connection) -> list[int]:
    """Apply every pending migration; returns the versions applied now (empty when up to date)."""
    await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "create table if not exists schema_migrations ("
            " version integer primary key, name text not null,"
            " applied_at timestamptz not null default now())"
        )
        done = set(await applied(conn))
        now_applied = []
        for migration in available():
            if migration.version in done:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "insert into schema_migrations (version, name) values ($1, $2)",
                        migration.version,
                        migration.name,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name}.sql failed: {exc}"
                ) from exc
            now_applied.append(migration.version)
        return now_applied
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)


async def upgrade_dsn(dsn: str) -> list[int]:
    """``upgrade`` on a fresh connection to ``dsn``."""
    conn = await asyncpg.connect(dsn)
    try:
        return await upgrade(conn)
    finally:
        await conn.close()
