"""Audit-trail throughput: records/s to the file and to PostgreSQL (durable), and the kernel backtest
with the audit trail on vs off.

1. File: seal + append N realistic records (an ``OrderFilled`` payload) with the default fsync policy
   (every 100 ms), timed until the file is closed (fsynced); fsync-per-record on a small N for scale.
   The same records through the sealer process (``macrofund.audit.handover``) until durable, and what
   handing one over costs the engine's thread.
2. PostgreSQL: the same records through ``AuditDatabaseWriter`` (its own thread and loop), timed until
   the database holds all of them; also the engine-side cost of handing one record over (µs).
3. Kernel: ``bench.backtest_throughput``'s EMA cross on ~200k GBM bars, log OFF, each run in a fresh
   process: audit off, audit on (file), audit on (file + PostgreSQL). Ratio = off time / on time.

    python -m bench audit_throughput
    BENCH_AUDIT_BARS=50000 BENCH_AUDIT_RECORDS=50000 python -m bench audit_throughput
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.backtest_throughput import ema_run_config, make_bars

ADMIN_DSN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

PAYLOAD = {
    "type": "OrderFilled",
    "trader_id": "MACROFUND-001",
    "strategy_id": "EmaCross-000",
    "instrument_id": "ES.CME",
    "client_order_id": "O-20220103-000100-001-000-1",
    "venue_order_id": "CME-1-001",
    "account_id": "CME-001",
    "trade_id": "CME-1-031",
    "position_id": "ES.CME-EmaCross-000",
    "order_side": "BUY",
    "order_type": "MARKET",
    "last_qty": "1",
    "last_px": "4000.25",
    "currency": "USD",
    "commission": "2.30 USD",
    "liquidity_side": "TAKER",
    "event_id": "b58a1b79-a350-44ef-b082-f042b691b040",
    "ts_event": 1641168060000000000,
    "ts_init": 1641168060000000000,
    "info": {},
    "reconciliation": False,
}


def bench_file(tmp: Path, n: int, fsync_interval_ms: int) -> float:
    from macrofund.audit.file_sink import AuditFile
    from macrofund.audit.record import AuditChain

    chain = AuditChain("bench")
    sink = AuditFile(tmp / f"file-{fsync_interval_ms}.jsonl", fsync_interval_ms)
    t0 = time.perf_counter()
    for i in range(n):
        sink.append(chain.seal("OrderFilled", i, time.time_ns(), PAYLOAD).line)
    sink.close()
    return n / (time.perf_counter() - t0)


def bench_sealer(tmp: Path, n: int) -> float:
    """Records/s through the sealer process (sent as fast as the pipe takes them) until the file is
    durable: how far ahead of a backtest's ~10-15k records/s the sealer stays."""
    from macrofund.audit.config import AuditConfig
    from macrofund.audit.handover import SealerProcess, sealer_settings

    # The run's own defaults: fsync every 100 ms, no database.
    settings = sealer_settings("bench-sealer", tmp / "sealer.jsonl", "0" * 64, AuditConfig())
    sealer = SealerProcess(settings, flush_interval_s=0.02, acknowledge_each=False)
    t0 = time.perf_counter()
    for i in range(n):
        sealer.send(("OrderFilled", i, "d", PAYLOAD))
    summary = sealer.stop(n, completed=True)
    elapsed = time.perf_counter() - t0
    if summary.get("last_seq") != n + 1:
        raise RuntimeError(f"sealer wrote {summary.get('last_seq')} of {n + 1} records")
    return n / elapsed


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def bench_db(tmp: Path, dsn: str, n: int) -> tuple[float, float]:
    """(records/s until all are in PostgreSQL, engine-side µs per record)."""
    from macrofund.audit.db_sink import AuditDatabaseWriter
    from macrofund.audit.file_sink import AuditFile
    from macrofund.audit.record import AuditChain

    chain = AuditChain("bench-throughput")
    sealed = [chain.seal("OrderFilled", i, time.time_ns(), PAYLOAD) for i in range(n)]
    sink = AuditFile(tmp / "db.jsonl", 100)
    for s in sealed:
        sink.append(s.line)
    sink.flush()
    writer = AuditDatabaseWriter(
        dsn,
        "bench-throughput",
        tmp / "db.jsonl",
        sink.flush,
        queue_size=n,
        batch_size=5000,
        retry_interval_s=0.2,
    )
    writer.start()
    while writer.status == "connecting":  # connection and migrations are not part of throughput
        time.sleep(0.01)
    t0 = time.perf_counter()
    for s in sealed:
        writer.offer((s.seq, s.type, s.ts_event, s.ts_recorded, s.prev_hash, s.hash, s.body))
    offer_s = time.perf_counter() - t0
    writer.stop(timeout_s=600)
    elapsed = time.perf_counter() - t0
    sink.close()
    if writer.db_seq != n:
        raise RuntimeError(f"PostgreSQL holds {writer.db_seq} of {n} records ({writer.status})")
    return n / elapsed, offer_s / n * 1e6


def worker(data_path: Path, out_dir: Path, audit: str, dsn: str, attempt: int = 0) -> dict:
    from macrofund.engine.assembly import run

    audit_section: dict = {"enabled": audit != "off"}
    if audit == "db":
        audit_section["database_url"] = dsn
    config = ema_run_config(data_path, out_dir, f"bench-{audit}-{attempt}", audit=audit_section)
    t0 = time.perf_counter()
    result = run(config)
    total_s = time.perf_counter() - t0
    section = result.summary.get("audit", {})
    return {
        "run_s": result.summary["engine_seconds"],
        "total_s": total_s,
        "records": section.get("records_file", 0),
        "records_db": section.get("records_db", 0),
        "db_status": section.get("db_status", "off"),
        "orders": result.summary["accounts"][0]["orders"],
    }


def _spawn(data_path: Path, out_dir: Path, audit: str, dsn: str, attempt: int) -> dict:
    args = [str(data_path), str(out_dir), audit, dsn, str(attempt)]
    proc = subprocess.run(
        [sys.executable, "-m", "bench.audit_throughput", "--worker", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"audit={audit} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    from tests.fixtures.servers import with_database

    n_bars = int(os.environ.get("BENCH_AUDIT_BARS", "200000"))
    n_records = int(os.environ.get("BENCH_AUDIT_RECORDS", "200000"))
    db_name = f"mf_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{db_name}"'))
    dsn = with_database(ADMIN_DSN, db_name)
    try:
        with tempfile.TemporaryDirectory(prefix="macrofund-bench-audit-") as tmp_name:
            tmp = Path(tmp_name)
            file_rate = bench_file(tmp, n_records, 100)
            fsync_each_rate = bench_file(tmp, 2_000, 0)
            db_rate, offer_us = bench_db(tmp, dsn, n_records)
            sealer_rate = bench_sealer(tmp, n_records)
            print(f"file (fsync every 100 ms): {file_rate:>10,.0f} records/s durable ({n_records:,} records)")
            print(f"file (fsync every record): {fsync_each_rate:>10,.0f} records/s durable (2,000 records)")
            print(f"sealer process (file):     {sealer_rate:>10,.0f} records/s durable")
            print(
                f"PostgreSQL:                {db_rate:>10,.0f} records/s stored; "
                f"engine hand-over {offer_us:.2f} µs"
            )
            data = tmp / "bars.parquet"
            make_bars(n_bars).to_parquet(data)
            # Interleaved, twice each, fastest kept: the machine is shared, so single runs are noisy.
            runs: dict[str, list[dict]] = {"off": [], "file": [], "db": []}
            for attempt in range(2):
                for side in runs:
                    runs[side].append(_spawn(data, tmp / f"{side}-{attempt}", side, dsn, attempt))
            off, on, db = (min(runs[side], key=lambda r: r["run_s"]) for side in ("off", "file", "db"))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    ratio_file = off["run_s"] / on["run_s"]
    ratio_db = off["run_s"] / db["run_s"]
    for name, r in (("audit off", off), ("audit file", on), ("audit file+PG", db)):
        print(
            f"kernel {n_bars:,} bars, {name:<14} engine {r['run_s']:6.2f} s "
            f"({n_bars / r['run_s']:>8,.0f} bars/s), "
            f"{r['records']:,} records, DB {r['db_status']}, orders={r['orders']}"
        )
    print(f"ratio off/on: file {ratio_file:.3f}x, file+PG {ratio_db:.3f}x")
    lines = [
        {
            "name": "audit_file_throughput",
            "records": n_records,
            "records_per_s": round(file_rate),
            "fsync_every_record_records_per_s": round(fsync_each_rate),
            "target": "reported",
            "met": True,
        },
        {
            "name": "audit_sealer_throughput",
            "records": n_records,
            "records_per_s": round(sealer_rate),
            "target": "reported",
            "met": True,
        },
        {
            "name": "audit_postgres_throughput",
            "records": n_records,
            "records_per_s": round(db_rate),
            "engine_handover_us": round(offer_us, 3),
            "target": ">= 50000 records/s",
            "met": db_rate >= 50_000,
        },
        {
            "name": "audit_kernel_ratio_file",
            "bars": n_bars,
            "off_bars_per_s": round(n_bars / off["run_s"]),
            "on_bars_per_s": round(n_bars / on["run_s"]),
            "records": on["records"],
            "ratio": round(ratio_file, 3),
            "target": ">= 0.9",
            "met": ratio_file >= 0.9 and on["orders"] == off["orders"],
        },
        {
            "name": "audit_kernel_ratio_postgres",
            "bars": n_bars,
            "on_bars_per_s": round(n_bars / db["run_s"]),
            "records_db": db["records_db"],
            "db_status": db["db_status"],
            "ratio": round(ratio_db, 3),
            "target": "in sync, run not stalled (>= 0.9)",
            "met": db["db_status"] == "in sync" and db["records_db"] == db["records"] and ratio_db >= 0.9,
        },
    ]
    for line in lines:
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        print(
            json.dumps(
                worker(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]))
            )
        )
    else:
        sys.exit(main())
