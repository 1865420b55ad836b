"""The hash chain of a real backtest: it verifies, it matches what the run did, tampering is found."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from macrofund.audit.record import AuditChain, AuditError, canonical_body, genesis_hash
from macrofund.audit.verify import verify_file
from tests.unit.audit.conftest import Trail


def _records(trail: Trail) -> list[dict]:
    return [json.loads(line) for line in trail.lines]


def test_real_backtest_trail_verifies(backtest_trail: Trail) -> None:
    result = verify_file(backtest_trail.path)
    assert result.ok, result.reason
    assert result.records == len(backtest_trail.lines)
    assert result.head == backtest_trail.result.summary["audit"]["chain_head"]


def test_trail_records_every_order_fill_account_state_and_run_start_stop(backtest_trail: Trail) -> None:
    records = _records(backtest_trail)
    counts = Counter(r["type"] for r in records)
    out = backtest_trail.result.output_dir
    orders, fills = pd.read_parquet(out / "orders.parquet"), pd.read_parquet(out / "fills.parquet")
    accounts = pd.read_parquet(out / "accounts.parquet")
    assert records[0]["type"] == "RunStart" and records[-1]["type"] == "RunStop"
    assert counts["RunStart"] == counts["RunStop"] == 1
    assert records[-1]["payload"]["completed"] is True
    # every order: its initialisation, the command that passed risk, its submission
    for kind in ("OrderInitialized", "SubmitOrder", "OrderSubmitted"):
        assert counts[kind] == len(orders), kind
    # every fill, with its price, quantity and liquidity, exactly as in fills.parquet
    audited_fills = [r["payload"] for r in records if r["type"] == "OrderFilled"]
    assert len(audited_fills) == len(fills)
    assert [(f["trade_id"], f["last_px"], f["last_qty"], f["liquidity_side"]) for f in audited_fills] == [
        (row.trade_id, str(row.price), str(row.quantity), row.liquidity) for row in fills.itertuples()
    ]
    assert counts["AccountState"] == len(accounts)  # the first states (before the run) included
    assert counts["PositionOpened"] >= 1 and counts["PositionClosed"] >= 1
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))


def test_run_start_carries_the_resolved_config_hash(backtest_trail: Trail) -> None:
    start = _records(backtest_trail)[0]
    config = backtest_trail.result.output_dir / "config.json"
    canonical = json.dumps(json.loads(config.read_text()), sort_keys=True, separators=(",", ":"))
    assert start["payload"]["config_hash"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_canonical_form_is_reproducible_with_the_standard_json_library(backtest_trail: Trail) -> None:
    for record in _records(backtest_trail)[:500]:
        body = {k: v for k, v in record.items() if k != "hash"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert hashlib.sha256(text).hexdigest() == record["hash"]
        assert canonical_body(record) == text


def test_first_record_links_to_a_genesis_derived_from_the_run_id(backtest_trail: Trail) -> None:
    first = _records(backtest_trail)[0]
    assert first["prev_hash"] == genesis_hash("audit-unit") != genesis_hash("audit-unit2")


# -- tampering --------------------------------------------------------------------------------------


def _write(tmp: Path, lines: list[bytes]) -> Path:
    path = tmp / "audit.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def _line(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def _forge(record: dict, **changes: object) -> dict:
    """A record changed and re-hashed, as an attacker who knows the format would write it."""
    forged = {**record, **changes}
    forged["hash"] = hashlib.sha256(canonical_body(forged)).hexdigest()
    return forged


TAMPERS = ["edit", "delete", "insert_forged", "insert_copy", "swap_adjacent", "swap_any"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(TAMPERS), where=st.floats(0, 1, exclude_max=True), other=st.floats(0, 1))
def test_any_tampering_is_reported_at_the_right_seq(
    backtest_trail: Trail, tmp_path_factory: pytest.TempPathFactory, kind: str, where: float, other: float
) -> None:
    lines = list(backtest_trail.lines)
    n = len(lines)
    k = int(where * n)  # 0-based index of the tampered record; its seq is k + 1
    record = json.loads(lines[k])
    if kind == "edit":
        record["payload"] = {**record["payload"], "tampered": True}
        lines[k] = _line(record)
        expected = k + 1
    elif kind == "delete":
        del lines[k]
        expected = k + 1
    elif kind == "insert_forged":  # a well-formed record claiming seq k+1, linked to seq k
        prev = genesis_hash("audit-unit") if k == 0 else json.loads(lines[k - 1])["hash"]
        lines.insert(k, _line(_forge(record, prev_hash=prev, payload={"forged": True})))
        expected = k + 1
    elif kind == "insert_copy":  # a verbatim copy of another record, inserted at index k
        copy = lines[min(int(other * n), n - 1)]
        copy_seq = json.loads(copy)["seq"]
        lines.insert(k, copy)
        # a copy of the record just before (or of the one it displaces) makes two claims to one seq
        expected = k if copy_seq == k else k + 1
    elif kind == "swap_adjacent":
        k = min(k, n - 2)
        lines[k], lines[k + 1] = lines[k + 1], lines[k]
        expected = k + 1
    else:
        m = min(int(other * n), n - 1)
        if m == k:
            return
        k, m = min(k, m), max(k, m)
        lines[k], lines[m] = lines[m], lines[k]
        expected = k + 1
    result = verify_file(_write(tmp_path_factory.mktemp("tamper"), lines))
    assert not result.ok
    assert result.broken_seq == expected, (kind, k, result.reason)


def test_an_edited_and_rehashed_record_is_reported_at_itself(backtest_trail: Trail, tmp_path: Path) -> None:
    lines = list(backtest_trail.lines)
    k = 100
    lines[k] = _line(_forge(json.loads(lines[k]), payload={"rewritten": True}))
    result = verify_file(_write(tmp_path, lines))
    assert not result.ok and result.broken_seq == k + 1


def test_a_trail_cut_short_is_tampered_unless_declared_open(backtest_trail: Trail, tmp_path: Path) -> None:
    path = _write(tmp_path, backtest_trail.lines[:50])
    result = verify_file(path)
    assert not result.ok and result.broken_seq == 51 and "RunStop" in (result.reason or "")
    assert verify_file(path, allow_open=True).ok


def test_unreadable_input_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="not found"):
        verify_file(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with pytest.raises(AuditError, match="empty"):
        verify_file(tmp_path / "empty.jsonl")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(AuditError, match="not an audit trail"):
        verify_file(tmp_path / "other.csv")


def test_chain_numbers_from_one_and_links_each_record_to_the_last() -> None:
    chain = AuditChain("r1")
    first = chain.seal("A", 1, 2, {"x": "1"})
    second = chain.seal("B", 3, 4, {})
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == genesis_hash("r1") and second.prev_hash == first.hash
    assert hashlib.sha256(second.body).hexdigest() == second.hash == chain.head
    assert json.loads(second.line)["hash"] == second.hash
