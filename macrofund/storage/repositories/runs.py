"""The ``runs`` and ``instruments`` rows: written once at start (and end) of a run, outside batches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import asyncpg
from nautilus_trader.model.instruments import Instrument


async def start_run(
    conn: asyncpg.Connection, run_id: str, mode: str, trader_id: str, config: dict[str, Any] | None
) -> bool:
    """Record a run as RUNNING. Returns True when the run id already existed (a restart continues it)."""
    row = await conn.fetchrow(
        "insert into runs (run_id, mode, trader_id, config) values ($1, $2, $3, $4::jsonb) "
        "on conflict (run_id) do update set status = 'RUNNING', ended_at = null, "
        "restarts = runs.restarts + 1 returning restarts",
        run_id,
        mode,
        trader_id,
        json.dumps(config, default=str) if config is not None else None,
    )
    assert row is not None
    return int(row["restarts"]) > 0


async def finish_run(conn: asyncpg.Connection, run_id: str) -> None:
    """Mark a run FINISHED (a run that never gets here crashed or is still running)."""
    await conn.execute("update runs set status = 'FINISHED', ended_at = now() where run_id = $1", run_id)


def instrument_row(run_id: str, instrument: Instrument) -> tuple[Any, ...]:
    """One ``instruments`` row with the full Nautilus definition as JSON."""
    expiration = getattr(instrument, "expiration_ns", None)
    return (
        run_id,
        instrument.id.value,
        instrument.id.venue.value,
        str(instrument.asset_class.name) if hasattr(instrument.asset_class, "name") else None,
        instrument.quote_currency.code,
        instrument.price_precision,
        instrument.size_precision,
        instrument.price_increment.as_decimal(),
        instrument.size_increment.as_decimal(),
        Decimal(str(instrument.multiplier)),
        int(expiration) if expiration else None,
        json.dumps(type(instrument).to_dict(instrument), default=str),
    )


async def write_instruments(conn: asyncpg.Connection, run_id: str, instruments: Iterable[Instrument]) -> None:
    """Upsert the run's instrument definitions (needed to value positions when rebuilding)."""
    rows = [instrument_row(run_id, i) for i in instruments]
    if not rows:
        return
    await conn.executemany(
        "insert into instruments (run_id, instrument_id, venue, asset_class, currency, price_precision, "
        "size_precision, price_increment, size_increment, multiplier, expiration_ns, definition) "
        "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb) "
        "on conflict (run_id, instrument_id) do update set definition = excluded.definition",
        rows,
    )
