"""``macrofund db``: migrate the database and query what a run stored (orders, fills, positions, P&L).

The DSN comes from ``--db``, else ``MACROFUND_DATABASE_URL``, else the embedded database paper and live
runs use by default (``macrofund.storage.resolve.command_database``). Tables go to the terminal; ``--format
csv|json`` writes plain data to stdout for scripts.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from macrofund.cli import console, fail, note
from macrofund.errors import MacrofundError

db_app = typer.Typer(
    name="db",
    help="PostgreSQL: apply migrations; show a run's orders, fills, positions and P&L.",
    no_args_is_help=True,
)


class OutputFormat(StrEnum):
    """How query results are printed."""

    table = "table"
    csv = "csv"
    json = "json"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="PostgreSQL DSN (default: $MACROFUND_DATABASE_URL, else the embedded one paper and live use).",
        show_default=False,
    ),
]
RunOption = Annotated[str, typer.Option("--run", help="Run id (as printed by `macrofund run`).")]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only rows at or after this ISO time (UTC if no zone).")
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table | csv | json.")]


def _since_ns(value: str | None) -> int:
    if value is None:
        return 0
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since {value!r} is not an ISO date/time such as 2024-01-02 or 2024-01-02T13:30:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1_000


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _human(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return str(value)


def _emit(title: str, rows: list[dict[str, Any]], fmt: OutputFormat, columns: list[str]) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps([{k: _plain(r[k]) for k in columns} for r in rows], indent=1) + "\n")
        return
    if fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_plain(r[k]) for k in columns])
        return
    # A terminal shows what a person scans for; csv/json keep every column (ids, ns timestamps).
    shown = [c for c in _TABLE_COLUMNS.get(title.split()[0].lower(), columns) if c in columns]
    table = Table(title=title, title_justify="left")
    for column in shown:
        table.add_column(column, justify="right" if _numeric(rows, column) else "left")
    for r in rows:
        table.add_row(*[_human(r[c]) for c in shown])
    table.caption = f"{len(rows):,} row(s)"
    table.caption_justify = "left"
    console.print(table)


def _numeric(rows: list[dict[str, Any]], column: str) -> bool:
    return any(isinstance(r[column], Decimal | int) and not isinstance(r[column], bool) for r in rows[:20])


def _time_first(rows: list[dict[str, Any]], ts_key: str) -> list[dict[str, Any]]:
    for r in rows:
        r["time"] = datetime.fromtimestamp(r[ts_key] / 1e9, UTC) if r.get(ts_key) is not None else None
    return rows


def _query(what: str, run: str, since: str | None, fmt: OutputFormat, db: str | None) -> None:
    from macrofund.storage.pool import connection, run_sync
    from macrofund.storage.rebuild import require_run
    from macrofund.storage.repositories.queries import fetch
    from macrofund.storage.resolve import command_database

    since_ns = _since_ns(since)
    try:
        with command_database(db, note) as dsn:

            async def go() -> list[dict[str, Any]]:
                async with connection(dsn) as conn:
                    await require_run(conn, run)
                    return await fetch(conn, what, run, since_ns)

            rows = run_sync(go)
    except MacrofundError as exc:
        fail(str(exc))
    if what == "orders":
        rows = _time_first(rows, "ts_last")
        columns = ["time", *[c for c in (rows[0] if rows else _ORDER_COLUMNS) if c != "time"]]
    else:
        columns = list(rows[0]) if rows else _EMPTY_COLUMNS[what]
    _emit(f"{what.capitalize()} of run {run}", rows, fmt, columns)


_ORDER_COLUMNS = [
    "client_order_id",
    "venue_order_id",
    "strategy_id",
    "instrument_id",
    "side",
    "type",
    "time_in_force",
    "quantity",
    "filled_qty",
    "price",
    "trigger_price",
    "avg_px",
    "status",
    "last_event_type",
    "ts_init",
    "ts_last",
]
_TABLE_COLUMNS = {
    "orders": [
        "time",
        "client_order_id",
        "instrument_id",
        "side",
        "type",
        "quantity",
        "filled_qty",
        "price",
        "avg_px",
        "status",
    ],
    "fills": [
        "time",
        "trade_id",
        "client_order_id",
        "instrument_id",
        "side",
        "quantity",
        "price",
        "commission",
    ],
    "pnl": ["time", "strategy_id", "instrument_id", "net_qty", "realized_pnl", "unrealized_pnl", "total_pnl"],
    "positions": ["instrument_id", "strategy_id", "net_qty", "avg_px_open", "realized_pnl", "currency"],
}
_EMPTY_COLUMNS = {
    "fills": ["time", "trade_id", "client_order_id", "side", "quantity", "price", "ts_event"],
    "pnl": ["time", "account_id", "strategy_id", "instrument_id", "realized_pnl", "unrealized_pnl", "ts"],
}


@db_app.command()
def upgrade(db: DbOption = None) -> None:
    """Apply pending migrations (safe to repeat; persistence also does this when a run starts)."""
    from macrofund.storage.migrations import available, upgrade_dsn
    from macrofund.storage.pool import connect, run_sync
    from macrofund.storage.resolve import command_database

    try:
        with command_database(db, note) as dsn:

            async def go() -> list[int]:
                conn = await connect(dsn)  # one-line error for a bad DSN before the migrations run
                await conn.close()
                return await upgrade_dsn(dsn)

            applied = run_sync(go)
    except MacrofundError as exc:
        fail(str(exc))
    latest = max((m.version for m in available()), default=0)
    if applied:
        console.print(f"applied {len(applied)} migration(s): {', '.join(f'{v:04d}' for v in applied)}")
    else:
        console.print(f"database is up to date (version {latest:04d})")


@db_app.command()
def orders(
    run: RunOption, since: SinceOption = None, format: FormatOption = OutputFormat.table, db: DbOption = None
) -> None:
    """Every order of a run in its latest state."""
    _query("orders", run, since, format, db)


@db_app.command()
def fills(
    run: RunOption, since: SinceOption = None, format: FormatOption = OutputFormat.table, db: DbOption = None
) -> None:
    """Every fill of a run (each venue trade id once)."""
    _query("fills", run, since, format, db)


@db_app.command()
def pnl(
    run: RunOption, since: SinceOption = None, format: FormatOption = OutputFormat.table, db: DbOption = None
) -> None:
    """Sampled realised/unrealised P&L per account, strategy and instrument."""
    _query("pnl", run, since, format, db)


@db_app.command()
def positions(
    run: RunOption, since: SinceOption = None, format: FormatOption = OutputFormat.table, db: DbOption = None
) -> None:
    """Net positions per strategy and instrument, rebuilt from the database (as a restart would)."""
    from macrofund.storage.pool import connection, run_sync
    from macrofund.storage.rebuild import RebuiltState, rebuild_state
    from macrofund.storage.resolve import command_database

    if since is not None:
        fail("--since does not apply to positions: they are the run's latest state (see `db pnl --since`)")
    try:
        with command_database(db, note) as dsn:

            async def go() -> RebuiltState:
                async with connection(dsn) as conn:
                    return await rebuild_state(conn, run)

            state = run_sync(go)
    except MacrofundError as exc:
        fail(str(exc))
    columns = [
        "instrument_id",
        "strategy_id",
        "net_qty",
        "avg_px_open",
        "realized_pnl",
        "currency",
        "position_id",
        "account_id",
    ]
    rows = [{c: getattr(p, c) for c in columns} for p in state.positions]
    _emit(f"Positions of run {run} ({len(state.open_orders)} open order(s))", rows, format, columns)


def register(app: typer.Typer) -> None:
    """Add ``macrofund db ...``."""
    app.add_typer(db_app, name="db")
