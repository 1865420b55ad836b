"""Which PostgreSQL a paper or live node uses: the configured one, else an embedded server of our own.

Precedence: ``MACROFUND_DATABASE_URL`` (the operator's environment) over ``storage.database_url`` (the
run config) over the embedded default. The embedded server keeps its data under
``<data_dir>/pg`` (default data dir ``~/.local/share/macrofund``), so state survives restarts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from macrofund.storage.config import StorageConfig
from macrofund.storage.embedded import EmbeddedPostgres
from macrofund.storage.pool import ENV_DATABASE_URL

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
    server = EmbeddedPostgres(root.expanduser())
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
