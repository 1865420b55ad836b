"""The CME Rule 536-B-shaped CSV export of a real backtest's trail."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd

from macrofund.audit.export import COLUMNS, export_csv, iso_ns
from tests.unit.audit.conftest import Trail


def _export(trail: Trail) -> list[dict[str, str]]:
    buffer = io.StringIO()
    export_csv((json.loads(line) for line in trail.lines), buffer)
    buffer.seek(0)
    return list(csv.DictReader(buffer))


def test_export_has_one_row_per_order_message_with_the_order_attributes(backtest_trail: Trail) -> None:
    rows = _export(backtest_trail)
    out = backtest_trail.result.output_dir
    orders, fills = pd.read_parquet(out / "orders.parquet"), pd.read_parquet(out / "fills.parquet")
    assert list(rows[0]) == COLUMNS
    new_orders = [r for r in rows if r["message_type"] == "SubmitOrder"]
    assert len(new_orders) == len(orders)
    assert all(r["fix_msg_type"] == "D" and r["manual_order_indicator"] == "N" for r in new_orders)
    filled = [r for r in rows if r["message_type"] == "OrderFilled"]
    assert len(filled) == len(fills)
    first_fill = fills.iloc[0]
    row = filled[0]
    assert (row["client_order_id"], row["side"], row["fill_price"], row["fill_quantity"]) == (
        first_fill.client_order_id,
        first_fill.side,
        str(first_fill.price),
        str(first_fill.quantity),
    )
    assert row["account"] == "CME-001" and row["instrument"] == "6EH4.CME"
    assert row["order_type"] == "MARKET" and row["time_in_force"] == "GTC"
    assert row["status"] in ("FILLED", "PARTIALLY_FILLED")
    assert row["operator_id"] == "UNASSIGNED" and row["trader_id"] == "MACROFUND-001"
    # every row names the record it came from
    assert all(len(r["record_hash"]) == 64 for r in rows)
    assert not any(r["message_type"] in ("AccountState", "PositionOpened", "RunStart") for r in rows)


def test_timestamps_keep_nanoseconds_in_utc() -> None:
    assert iso_ns(1_704_151_860_000_000_123) == "2024-01-01T23:31:00.000000123Z"
