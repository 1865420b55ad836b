"""``macrofund md ingest | query``: load market-data files into PostgreSQL and read bars back.

``ingest`` validates the file exactly like a backtest does, then COPYs it in (replacing the
instrument's rows in the file's time span) and refreshes the 5m/1h/1d rollups. ``query`` answers from
the coarsest rollup that can (``--explain`` shows which sources were read).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from macrofund.cli.db import DbOption

md_app = typer.Typer(
    help="Market-data time series in PostgreSQL.", no_args_is_help=True, add_completion=False
)


def _when(value: str, flag: str) -> datetime:
    from macrofund.cli import fail

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{flag} {value!r} is not an ISO date/time such as 2024-01-02 or 2024-01-02T13:30:00Z")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@md_app.command("ingest")
def ingest(
    data: Annotated[
        Path, typer.Option("--data", help="CSV / gzip CSV / Parquet file of 1-minute bars or quotes.")
    ],
    instrument: Annotated[str, typer.Option("--instrument", help="Instrument id, e.g. 6EH4.CME.")],
    db: DbOption = None,
    kind: Annotated[str, typer.Option("--kind", help="bars | quotes.")] = "bars",
    price_scale: Annotated[str, typer.Option(help="Multiply file prices by this (e.g. 0.01).")] = "1",
    timestamp_is_open: Annotated[
        bool,
        typer.Option(help="Bar timestamps are the bar's open (default: its close, Nautilus's convention)."),
    ] = False,
) -> None:
    """Validate a file and COPY it into the time-series tables."""
    from nautilus_trader.model.data import BarType

    from macrofund.adapters.files import read_bars, read_quotes
    from macrofund.cli import console, fail, note
    from macrofund.errors import MacrofundError
    from macrofund.storage.pool import connection, run_sync
    from macrofund.storage.resolve import command_database
    from macrofund.storage.timeseries import (
        bars_from_columns,
        ingest_bars,
        ingest_quotes,
        prepare_timeseries,
        quotes_from_columns,
    )
    from macrofund.venues.contracts import futures_contract

    if kind not in ("bars", "quotes"):
        fail(f"--kind {kind!r} must be bars or quotes")
    try:
        scale = Decimal(price_scale)
    except ArithmeticError:
        fail(f"--price-scale {price_scale!r} is not a number")
    try:
        contract = futures_contract(instrument)
        started = time.perf_counter()
        if kind == "bars":
            bar_type = BarType.from_str(f"{instrument}-1-MINUTE-LAST-EXTERNAL")
            columns = read_bars(
                data, contract, bar_type, price_scale=scale, timestamp_is_open=timestamp_is_open
            )
            info, bars = bars_from_columns(columns)
        else:
            info, quotes = quotes_from_columns(read_quotes(data, contract, price_scale=scale))
        read_seconds = time.perf_counter() - started

        with command_database(db, note) as dsn:

            async def work() -> Any:
                async with connection(dsn) as conn:
                    backend = await prepare_timeseries(conn)
                    if kind == "bars":
                        return backend, await ingest_bars(conn, info, bars)
                    return backend, await ingest_quotes(conn, info, quotes)

            started = time.perf_counter()
            backend, result = run_sync(work)
            seconds = time.perf_counter() - started
    except MacrofundError as exc:
        fail(str(exc))
    if result.rows == 0:
        console.print(f"{data}: no rows to ingest")
        return
    console.print(
        f"Ingested [bold]{result.rows:,}[/] {kind} of {result.instrument_id} "
        f"({result.first:%Y-%m-%d %H:%M} → {result.last:%Y-%m-%d %H:%M} UTC) into {backend} storage "
        f"in {seconds:.2f} s ({result.rows / max(seconds, 1e-9):,.0f} rows/s; "
        f"file read {read_seconds:.2f} s); "
        f"replaced {result.replaced:,}, new partitions {result.partitions_created}, "
        f"rollup buckets refreshed {result.rollup_buckets:,}",
        highlight=False,
    )


@md_app.command("query")
def query(
    instrument: Annotated[str, typer.Option("--instrument", help="Instrument id, e.g. 6EH4.CME.")],
    start: Annotated[str, typer.Option("--start", help="Range start (ISO, UTC if no offset), inclusive.")],
    end: Annotated[str, typer.Option("--end", help="Range end (ISO, UTC if no offset), exclusive.")],
    db: DbOption = None,
    resolution: Annotated[str, typer.Option("--resolution", help="1m | 5m | 1h | 1d.")] = "1d",
    fmt: Annotated[str, typer.Option("--format", help="table | csv | json.")] = "table",
    explain: Annotated[bool, typer.Option("--explain", help="Also print which sources answered.")] = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="Ignore the rollups: aggregate the 1-minute bars.")
    ] = False,
) -> None:
    """OHLCV bars of an instrument at a resolution; 1d bars are the venue's trading days."""
    from rich.table import Table

    from macrofund.cli import console, err_console, fail, note
    from macrofund.errors import MacrofundError
    from macrofund.storage.pool import connection, run_sync
    from macrofund.storage.query_optimizer import query_bars
    from macrofund.storage.resolve import command_database
    from macrofund.storage.timeseries import Resolution, prepare_timeseries

    if fmt not in ("table", "csv", "json"):
        fail(f"--format {fmt!r} must be table, csv or json")
    lo, hi = _when(start, "--start"), _when(end, "--end")
    try:
        res = Resolution.parse(resolution)
        with command_database(db, note) as dsn:

            async def work() -> Any:
                async with connection(dsn) as conn:
                    await prepare_timeseries(conn)
                    return await query_bars(conn, instrument, lo, hi, res, use_rollups=not raw)

            plan, bars = run_sync(work)
    except MacrofundError as exc:
        fail(str(exc))
    columns = ["ts_open", "open", "high", "low", "close", "volume", "bar_count"]
    rows = [
        [
            b.ts_open.isoformat(),
            str(b.open),
            str(b.high),
            str(b.low),
            str(b.close),
            str(b.volume),
            str(b.bar_count),
        ]
        for b in bars
    ]
    if explain:
        for step in plan.steps:
            err_console.print(
                f"{step.source}: {step.start.isoformat()} → {step.end.isoformat()}", highlight=False
            )
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        sys.stdout.write(json.dumps([dict(zip(columns, r, strict=True)) for r in rows]) + "\n")
    else:
        table = Table(title=f"{instrument} {res.value} bars", title_justify="left")
        for name in columns:
            table.add_column(name, justify="left" if name == "ts_open" else "right", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        table.caption = f"{len(rows)} bars from {', '.join(plan.sources) or 'no data'}"
        table.caption_justify = "left"
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``macrofund md ...``."""
    app.add_typer(md_app, name="md")
