"""The audit trail's PostgreSQL copy over real connections: dual write, outage mid-run with back-fill,
catch-up after the run, no duplicates, conflicts refused, tampering in the database found."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.model.data import Bar, BarType

import macrofund.engine.assembly as assembly
from macrofund.audit.store import fetch_rows, insert_rows, row_from_record
from macrofund.audit.sync import sync_file_to_db
from macrofund.audit.verify import verify_db
from macrofund.config.run_config import RunConfig, load_run_config
from macrofund.storage.embedded import EmbeddedPostgres
from tests.fixtures.servers import free_port


def _config(out: Path, run_id: str, dsn: str | None, **extra: Any) -> RunConfig:
    from macrofund.cli import default_config_path

    overrides: dict[str, Any] = {"run.output_dir": str(out), "run.run_id": run_id, **extra}
    if dsn is not None:
        overrides["audit.database_url"] = dsn
    return load_run_config(default_config_path(), overrides)


def _file_rows(out: Path) -> list[tuple[int, str, str]]:
    from macrofund.audit.record import canonical_body

    rows = []
    for line in (out / "audit.jsonl").read_bytes().splitlines():
        record = json.loads(line)
        rows.append((record["seq"], canonical_body(record).decode(), record["hash"]))
    return rows


async def _db_rows(dsn: str, run_id: str) -> list[tuple[int, str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        return await fetch_rows(conn, run_id)
    finally:
        await conn.close()


def test_dual_write_puts_exactly_the_file_records_in_postgres(postgres_dsn: str, tmp_path: Path) -> None:
    result = assembly.run(_config(tmp_path, "dual", postgres_dsn))
    section = result.summary["audit"]
    assert section["db_status"] == "in sync"
    assert section["records_db"] == section["records_file"] == section["last_seq"]
    assert asyncio.run(_db_rows(postgres_dsn, "dual")) == _file_rows(result.output_dir)
    assert asyncio.run(verify_db(postgres_dsn, "dual")).ok


class DatabaseOutage(Actor):
    """Stops the embedded server at one bar and starts it again some bars later (sim time)."""

    def __init__(self, server: EmbeddedPostgres, bar_type: str, stop_at: int, start_at: int) -> None:
        super().__init__()
        self._server, self._bar_type = server, BarType.from_str(bar_type)
        self._stop_at, self._start_at, self._bars = stop_at, start_at, 0
        self.stopped = self.restarted = False

    def on_start(self) -> None:
        self.subscribe_bars(self._bar_type)

    def on_bar(self, bar: Bar) -> None:
        self._bars += 1
        if self._bars == self._stop_at:
            self._server.stop()
            self.stopped = True
            time.sleep(0.3)  # let the writer meet the dead server while the run goes on
        elif self._bars == self._start_at:
            self._server.start()
            self.restarted = True


def test_database_down_mid_run_the_run_goes_on_and_the_db_back_fills_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    dsn = server.start()
    try:
        outage = DatabaseOutage(server, "6EH4.CME-1-MINUTE-LAST-EXTERNAL", stop_at=5_000, start_at=20_000)
        build = assembly.build_backtest

        def build_with_outage(*args: Any, **kwargs: Any) -> Any:
            built = build(*args, **kwargs)
            built.engine.add_actor(outage)
            return built

        monkeypatch.setattr(assembly, "build_backtest", build_with_outage)
        config = _config(tmp_path / "runs", "outage", dsn, **{"audit.db_retry_interval": "100ms"})
        result = assembly.run(config)
        assert outage.stopped and outage.restarted
        section = result.summary["audit"]
        assert section["db_outages"] >= 1 and section["db_backfilled"] > 0
        assert section["db_status"] == "in sync"
        file_rows = _file_rows(result.output_dir)
        assert len(file_rows) == section["records_file"] == section["last_seq"]
        assert asyncio.run(_db_rows(dsn, "outage")) == file_rows  # same records, each once
    finally:
        server.stop()


def test_database_unreachable_all_run_then_sync_catches_up_once(postgres_dsn: str, tmp_path: Path) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    config = _config(
        tmp_path, "later", dead, **{"audit.db_retry_interval": "100ms", "audit.db_drain_timeout": "1s"}
    )
    result = assembly.run(config)
    section = result.summary["audit"]
    assert section["db_status"].startswith(("unreachable", "behind"))
    assert section["records_file"] == section["last_seq"]  # the file kept the truth
    first = asyncio.run(sync_file_to_db(result.output_dir, postgres_dsn))
    assert first.inserted == first.file_records == first.db_records == section["last_seq"]
    again = asyncio.run(sync_file_to_db(result.output_dir, postgres_dsn))
    assert again.inserted == 0 and again.db_records == first.db_records
    assert asyncio.run(_db_rows(postgres_dsn, "later")) == _file_rows(result.output_dir)


def test_restart_catch_up_writes_only_what_the_db_lacks(postgres_dsn: str, tmp_path: Path) -> None:
    result = assembly.run(_config(tmp_path, "partial", None))
    records = [json.loads(line) for line in (result.output_dir / "audit.jsonl").read_bytes().splitlines()]

    async def preload() -> None:
        from macrofund.storage.migrations import upgrade

        conn = await asyncpg.connect(postgres_dsn)
        try:
            await upgrade(conn)
            await insert_rows(conn, "partial", [row_from_record(r) for r in records[:1000]])
        finally:
            await conn.close()

    asyncio.run(preload())
    synced = asyncio.run(sync_file_to_db(result.output_dir, postgres_dsn))
    assert synced.inserted == len(records) - 1000 and synced.db_records == len(records)


def test_a_different_trail_under_the_same_run_id_is_refused(postgres_dsn: str, tmp_path: Path) -> None:
    first = assembly.run(_config(tmp_path / "a", "same-id", postgres_dsn))
    second = assembly.run(_config(tmp_path / "b", "same-id", postgres_dsn))
    assert first.summary["audit"]["db_status"] == "in sync"
    assert second.summary["audit"]["db_status"].startswith("conflict")
    assert asyncio.run(_db_rows(postgres_dsn, "same-id")) == _file_rows(first.output_dir)  # untouched


def test_database_rows_are_append_only_and_tampering_is_found(postgres_dsn: str, tmp_path: Path) -> None:
    result = assembly.run(_config(tmp_path, "tamper", postgres_dsn))
    assert result.summary["audit"]["db_status"] == "in sync"

    async def tamper() -> None:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("delete from audit_records where run_id = 'tamper' and seq = 10")
            # a superuser can switch triggers off; the chain still tells
            await conn.execute("set session_replication_role = replica")
            await conn.execute(
                'update audit_records set body = replace(body, \'"seq":42\', \'"seq":42,"x":1\') '
                "where run_id = 'tamper' and seq = 42"
            )
        finally:
            await conn.close()

    asyncio.run(tamper())
    verdict = asyncio.run(verify_db(postgres_dsn, "tamper"))
    assert not verdict.ok and verdict.broken_seq == 42
