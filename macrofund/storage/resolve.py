"""Which PostgreSQL a paper or live node uses: the configured one, else an embedded server of our own.

Precedence: ``MACROFUND_DATABASE_URL`` (the operator's environment) over ``storage.database_url`` (the
run config) over the embedded default. The embedded server keeps its data under
``<data_dir>/pg`` (default data dir ``~/.local/share/macrofund``), so state survives restarts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from macrofund.storage.config import StorageConfig
from macrofund.storage.embedded import EmbeddedPostgres
from macrofund.storage.pool import ENV_DATABASE_URL, StorageError

if TYPE_CHECKING:
    from macrofund.config.run_config import RunConfig


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/macrofund`` (``~/.local/share/macrofund``): per user, outside any checkout."""
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "macrofund"


def resolve_database_url(
    config: RunConfig | StorageConfig, data_dir: Path | None = None
) -> tuple[str, EmbeddedPostgres | None]:
    """The DSN to persist to, and the embedded server started for it (``None`` when one is configured).

    The caller owns the returned server and stops it at shutdown (``server.stop()``); its data stays.
    The embedded database is ``macrofund`` (created on first use) on a server under ``<data_dir>/pg``.
    """
    storage = config if isinstance(config, StorageConfig) else config.storage
    configured = os.environ.get(ENV_DATABASE_URL) or storage.database_url
    if configured:
        return configured, None
    root = storage.embedded_dir or (data_dir or default_data_dir()) / "pg"
    return _start_embedded(root.expanduser())


def _start_embedded(root: Path) -> tuple[str, EmbeddedPostgres]:
    """Start (or reattach to) the server under ``root``; the DSN of its ``macrofund`` database."""
    server = EmbeddedPostgres(root)
    admin_dsn = server.start()
    try:
        dsn = _ensure_database(admin_dsn, "macrofund")
    except BaseException:
        server.stop()
        raise
    return dsn, server


def _ensure_database(admin_dsn: str, name: str) -> str:
    from macrofund.storage.pool import connection, run_sync

    async def go() -> None:
        async with connection(admin_dsn) as conn:
            if await conn.fetchval("select 1 from pg_database where datname = $1", name) is None:
                await conn.execute(f'create database "{name}"')

    run_sync(go)
    base, _, query = admin_dsn.partition("?")
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


@contextmanager
def command_database(option: str | None, notice: Callable[[str], None]) -> Iterator[str]:
    """The DSN a ``macrofund db`` or ``md`` command uses: ``--db``, else ``MACROFUND_DATABASE_URL``, else
    the embedded database paper and live runs persist to by default.

    Without the fallback, the orders of a paper run made with the defaults could not be queried at all:
    that server is stopped when the run ends and listens on a socket inside its data folder. It is
    started for the command and stopped after it; a node still running on it keeps it up (the server
    counts its users). ``notice`` is told which folder was used (stderr: csv and json stay clean).
    """
    configured = option or os.environ.get(ENV_DATABASE_URL)
    if configured:
        yield configured
        return
    root = default_data_dir() / "pg"
    if not (root / "PG_VERSION").is_file():
        raise StorageError(
            f"no database given: pass --db postgresql://user@host:5432/db or set {ENV_DATABASE_URL} "
            f"(the embedded database paper and live runs use by default, {root}, does not exist yet)"
        )
    notice(f"database: the embedded one in {root} (paper and live runs' default; --db for another)")
    dsn, server = _start_embedded(root)
    try:
        yield dsn
    finally:
        server.stop()
