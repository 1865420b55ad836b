"""``macrofund audit verify | export | sync``: check, export and replicate hash-chained audit trails.

Exit codes: 0 intact (or done), 1 tampering (the first broken link, one line), 2 unreadable input
(missing file, unreachable database, unknown run, bad flags).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

audit_app = typer.Typer(
    help="Verify, export and sync the hash-chained audit trail.", no_args_is_help=True, add_completion=False
)


def _source(
    target: Path | None, run_dir: Path | None, db: str | None, run: str | None
) -> tuple[Path | None, str | None, str | None]:
    """Exactly one of: a file/run folder, or --run (with --db, else the database ``macrofund db`` uses)."""
    from macrofund.cli import fail

    path = target or run_dir
    if path is not None and (db is not None or run is not None):
        fail("give either an audit file/run folder or --run RUN_ID [--db DSN], not both")
    if path is None and not run:
        if db is not None:
            fail("--db needs --run RUN_ID")
        fail("give an audit file (or --run-dir DIR), or --run RUN_ID [--db DSN]")
    if path is not None and path.is_dir():
        path = path / "audit.jsonl"
    return path, db, run


@audit_app.command("verify")
def verify(
    file: Annotated[Path | None, typer.Argument(help="audit.jsonl (or its run folder).")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Run folder holding audit.jsonl.")] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="PostgreSQL DSN holding the trail (default: as for `macrofund db`)."),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Run id: the trail in the database.")] = None,
    allow_open: Annotated[
        bool, typer.Option("--open", help="Accept a trail without RunStop (a run still in progress).")
    ] = False,
) -> None:
    """Check the hash chain; report the first broken link with its sequence number."""
    from macrofund.audit.verify import verify_db, verify_file
    from macrofund.cli import console, fail, note
    from macrofund.errors import MacrofundError
    from macrofund.storage.resolve import command_database

    path, dsn, run_id = _source(file, run_dir, db, run)
    try:
        if path is not None:
            result, source = verify_file(path, allow_open=allow_open), str(path)
        else:
            assert run_id is not None
            with command_database(dsn, note) as resolved:
                result = asyncio.run(verify_db(resolved, run_id, allow_open=allow_open))
            source = f"database run {run_id}"
    except MacrofundError as exc:
        fail(str(exc))
    if not result.ok:
        fail(result.message(source), code=1)
    console.print(result.message(source), markup=False, highlight=False, soft_wrap=True)


def _file_records(path: Path) -> Iterator[dict[str, Any]]:
    from macrofund.audit.file_sink import read_records

    for _, record in read_records(path):
        assert isinstance(record, dict)  # verified before export
        yield record


@audit_app.command("export")
def export(
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Run folder holding audit.jsonl.")] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="PostgreSQL DSN holding the trail (default: as for `macrofund db`)."),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Run id: the trail in the database.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: csv.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default: stdout).")] = None,
) -> None:
    """Export the trail as CSV close to CME Rule 536-B audit-trail fields (verified first)."""
    from macrofund.audit.export import export_csv
    from macrofund.audit.record import decode
    from macrofund.audit.store import fetch_rows
    from macrofund.audit.verify import verify_db, verify_file
    from macrofund.cli import err_console, fail, note
    from macrofund.errors import MacrofundError
    from macrofund.storage.resolve import command_database

    if fmt != "csv":
        fail(f"--format {fmt!r}: only csv is supported")
    path, dsn, run_id = _source(None, run_dir, db, run)
    try:
        if path is not None:
            result, source = verify_file(path), str(path)
            records: Any = _file_records(path)
        else:
            assert run_id is not None
            with command_database(dsn, note) as resolved:
                result, source = asyncio.run(verify_db(resolved, run_id)), f"database run {run_id}"
                records = [
                    {**decode(body), "hash": digest}
                    for _, body, digest in asyncio.run(_rows(resolved, run_id, fetch_rows))
                ]
        if not result.ok:
            fail(result.message(source) + " (nothing exported)", code=1)
        if out is None:
            count = export_csv(records, sys.stdout)
        else:
            try:
                with open(out, "w", encoding="utf-8", newline="") as fh:
                    count = export_csv(records, fh)
            except OSError as exc:
                fail(f"--out {out}: {exc.strerror}")
            err_console.print(f"exported {count} rows from {source} to {out}", markup=False, highlight=False)
    except MacrofundError as exc:
        fail(str(exc))


async def _rows(dsn: str, run_id: str, fetch: Any) -> list[tuple[int, str, str]]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return list(await fetch(conn, run_id))
    finally:
        await conn.close()


@audit_app.command("sync")
def sync(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Run folder holding audit.jsonl.")],
    db: Annotated[str, typer.Option("--db", help="PostgreSQL DSN to catch up.")],
) -> None:
    """Copy the records PostgreSQL lacks from a run's audit file (verified first; idempotent)."""
    from macrofund.audit.sync import AuditTamperedError, sync_file_to_db
    from macrofund.cli import console, fail
    from macrofund.errors import MacrofundError

    path, _, _ = _source(run_dir, None, None, None)
    assert path is not None
    try:
        result = asyncio.run(sync_file_to_db(path, db))
    except AuditTamperedError as exc:
        fail(str(exc) + " (nothing copied)", code=1)
    except MacrofundError as exc:
        code = 1 if type(exc).__name__ == "AuditConflictError" else 2
        fail(str(exc), code=code)
    console.print(
        f"synced run {result.run_id}: {result.inserted} new records, "
        f"{result.file_records - result.inserted} already present; the database holds {result.db_records}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``macrofund audit ...``."""
    app.add_typer(audit_app, name="audit")
