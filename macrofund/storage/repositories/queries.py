"""Reads behind ``macrofund db orders|fills|pnl``: one run, optionally from a point in time on."""

from __future__ import annotations

from typing import Any

import asyncpg

Record = dict[str, Any]

_ORDERS = (
    "select client_order_id, venue_order_id, strategy_id, instrument_id, side, type, time_in_force, "
    "quantity, filled_qty, price, trigger_price, avg_px, status, last_event_type, ts_init, ts_last "
    "from orders where run_id = $1 and ts_last >= $2 order by ts_init, client_order_id"
)
_FILLS = (
    "select event_time as time, trade_id, client_order_id, venue_order_id, position_id, strategy_id, "
    "instrument_id, account_id, side, quantity, price, currency, commission, commission_currency, "
    "liquidity, ts_event from fills where run_id = $1 and ts_event >= $2 order by ts_event, trade_id"
)
_PNL = (
    "select snapshot_time as time, account_id, strategy_id, instrument_id, currency, net_qty, "
    "realized_pnl, unrealized_pnl, total_pnl, ts from pnl_snapshots where run_id = $1 and ts >= $2 "
    "order by ts, account_id, strategy_id, instrument_id"
)
QUERIES = {"orders": _ORDERS, "fills": _FILLS, "pnl": _PNL}


async def fetch(conn: asyncpg.Connection, what: str, run_id: str, since_ns: int = 0) -> list[Record]:
    """Rows of ``orders``, ``fills`` or ``pnl`` for one run, each as a column → value mapping."""
    return [dict(r) for r in await conn.fetch(QUERIES[what], run_id, since_ns)]
