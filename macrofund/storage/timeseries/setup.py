"""Bring a database to the market-data layout: migrations always, TimescaleDB when it is available.

A migration cannot be conditional on the server, so the plain layout (partitioned raw tables, rollup
tables) is migration 0050 and runs everywhere. ``prepare_timeseries`` then applies the TimescaleDB
layout as a separate, detected step: only if the server offers the extension, the caller allows it,
and no market data is stored yet. The chosen backend is recorded in ``md_settings``.
"""

from __future__ import annotations

import logging
from typing import Literal

import asyncpg

from macrofund.storage.migrations import upgrade
from macrofund.storage.timeseries.buckets import venues_by_calendar as known_venues_by_calendar
from macrofund.storage.timeseries.timescale import TimescalePolicies, timescale_setup_sql

Backend = Literal["partitioned", "timescale"]
log = logging.getLogger(__name__)


async def timescale_available(conn: asyncpg.Connection) -> bool:
    """Whether the server can ``create extension timescaledb``."""
    return bool(
        await conn.fetchval(
            "select exists (select 1 from pg_available_extensions where name = 'timescaledb')"
        )
    )


async def backend(conn: asyncpg.Connection) -> Backend:
    """The layout this database uses (``partitioned`` until the Timescale step ran)."""
    value = await conn.fetchval("select value from md_settings where key = 'backend'")
    return "timescale" if value == "timescale" else "partitioned"


async def prepare_timeseries(
    conn: asyncpg.Connection,
    *,
    use_timescale: bool = True,
    venues_by_calendar: dict[str, list[str]] | None = None,
    policies: TimescalePolicies | None = None,
) -> Backend:
    """Apply pending migrations, then the TimescaleDB step when possible; returns the backend in use."""
    await upgrade(conn)
    current = await backend(conn)
    if current == "timescale" or not use_timescale or not await timescale_available(conn):
        return current
    has_data = await conn.fetchval(
        "select exists (select 1 from md_bars_1m) or exists (select 1 from md_quotes)"
    )
    if has_data:
        log.warning("timescaledb available but market data already stored: keeping the partitioned layout")
        return current
    venues = venues_by_calendar or known_venues_by_calendar()
    async with conn.transaction():
        for statement in timescale_setup_sql(venues, policies):
            await conn.execute(statement)
    log.info("market-data layout: timescaledb hypertables and continuous aggregates")
    return "timescale"
