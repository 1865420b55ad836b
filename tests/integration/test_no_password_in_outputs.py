"""A database password given on the command line never lands in the run folder or the runs table."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from macrofund.audit.file_sink import read_records
from macrofund.cli import default_config_path
from macrofund.config.run_config import load_run_config
from macrofund.engine.assembly import run
from tests.integration.test_persistence_run import fetch

SECRET = "s3cret-pw-4711"


def with_password(dsn: str) -> str:
    """The DSN with a password (the test servers trust their clients: it is accepted and ignored)."""
    return re.sub(r"://([^:@/]*)(:[^@]*)?@", rf"://\1:{SECRET}@", dsn, count=1)


def test_config_json_the_audit_hash_and_the_runs_table_hold_no_password(
    postgres_dsn: str, tmp_path: Path
) -> None:
    dsn = with_password(postgres_dsn)
    assert SECRET in dsn
    overrides = {
        "run.run_id": "secret",
        "run.output_dir": str(tmp_path),
        "run.end": "2024-01-03T00:00:00Z",
        "storage.database_url": dsn,  # --db
        "audit.enabled": True,
        "audit.database_url": dsn,  # --audit-db
    }
    result = run(load_run_config(default_config_path(), overrides))

    for path in result.output_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path.name
    config = json.loads((result.output_dir / "config.json").read_text())
    assert config["storage"]["database_url"] == re.sub(SECRET, "***", dsn)
    assert config["audit"]["database_url"] == re.sub(SECRET, "***", dsn)
    # The trail's config_hash is still the hash of config.json, as docs/audit.md promises.
    _, start = next(read_records(result.output_dir / "audit.jsonl"))
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    assert isinstance(start, dict)
    assert start["payload"]["config_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    # The run was stored through that DSN, and its row holds the masked config too.
    rows = fetch(postgres_dsn, "SELECT config::text AS config FROM runs WHERE run_id = $1", "secret")
    assert len(rows) == 1 and SECRET not in rows[0]["config"] and "***" in rows[0]["config"]
