"""The embedded default: no database configured → our own PostgreSQL under the data directory,
persistent across restarts; a configured URL always wins."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from macrofund.storage import resolve_database_url
from macrofund.storage.config import StorageConfig
from macrofund.storage.migrations import upgrade_dsn
from macrofund.storage.pool import ENV_DATABASE_URL


async def _scalar(dsn: str, sql: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Outside pytest's temp tree: run as root, the server runs as another user that must traverse the
    path, and a concurrently starting pytest resets ``/tmp/pytest-of-root`` to mode 0700."""
    folder = Path(tempfile.mkdtemp(prefix="macrofund-embedded-"))
    try:
        yield folder / "macrofund-data"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_embedded_database_keeps_its_data_across_restarts(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    dsn, server = resolve_database_url(StorageConfig(), data_dir)
    assert server is not None
    try:
        assert (data_dir / "pg").is_dir()
        asyncio.run(upgrade_dsn(dsn))
        asyncio.run(
            _scalar(dsn, "insert into runs (run_id, mode, trader_id) values ('kept', 'paper', 'T-1')")
        )
    finally:
        server.stop()

    dsn_again, server_again = resolve_database_url(StorageConfig(), data_dir)
    assert server_again is not None
    try:
        assert asyncio.run(upgrade_dsn(dsn_again)) == []  # already migrated
        assert asyncio.run(_scalar(dsn_again, "select mode from runs where run_id = 'kept'")) == "paper"
    finally:
        server_again.stop()


def test_a_configured_url_wins_and_the_environment_wins_over_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    configured = "postgresql://postgres@127.0.0.1:5432/from_config"
    assert resolve_database_url(StorageConfig(database_url=configured), tmp_path) == (configured, None)
    monkeypatch.setenv(ENV_DATABASE_URL, "postgresql://postgres@127.0.0.1:5432/from_env")
    dsn, server = resolve_database_url(StorageConfig(database_url=configured), tmp_path)
    assert (dsn, server) == ("postgresql://postgres@127.0.0.1:5432/from_env", None)
    assert not (tmp_path / "pg").exists()  # nothing embedded was started
