"""Rebuild a run's open orders and positions from PostgreSQL, our own durable record.

A restarted node cannot trust a Redis warm restart in Nautilus 1.221 (a NETTING flip stores two fills
with one trade id and the reload crashes, #3081), so it starts from these records instead; live
reconciliation with the venue comes on top. ``positions_from_fills`` replays the stored fills
independently, so the two views can be checked against each other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from macrofund.storage.pool import StorageError, connection, run_sync

TERMINAL_STATUSES = ("FILLED", "CANCELED", "EXPIRED", "REJECTED", "DENIED")


@dataclass(frozen=True)
class OpenOrder:
    """An order that was still working when the records end."""

    client_order_id: str
    venue_order_id: str | None
    strategy_id: str
    instrument_id: str
    side: str | None
    type: str | None
    time_in_force: str | None
    quantity: Decimal | None
    filled_qty: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    status: str
    ts_last: int


@dataclass(frozen=True)
class NetPosition:
    """Net position of one strategy in one instrument: signed quantity, average open price, realised P&L.

    ``realized_pnl`` is over the whole run (every closed lifecycle plus the open one), net of
    commissions, in ``currency``, exactly as Nautilus accounts it.
    """

    strategy_id: str
    instrument_id: str
    net_qty: Decimal
    avg_px_open: Decimal | None
    realized_pnl: Decimal
    currency: str
    position_id: str | None = None
    account_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.net_qty != 0


@dataclass(frozen=True)
class RebuiltState:
    """What a restarted node resumes from."""

    run_id: str
    open_orders: list[OpenOrder] = field(default_factory=list)
    positions: list[NetPosition] = field(default_factory=list)

    def position(self, strategy_id: str, instrument_id: str) -> NetPosition | None:
        """The net position of one strategy in one instrument, if it ever traded it."""
        for p in self.positions:
            if p.strategy_id == strategy_id and p.instrument_id == instrument_id:
                return p
        return None


async def require_run(conn: asyncpg.Connection, run_id: str) -> None:
    """Raise a one-line ``StorageError`` when ``run_id`` is not in the database."""
    exists = await conn.fetchval("select to_regclass('public.runs') is not null")
    if not exists:
        raise StorageError("the database has no macrofund tables: run `macrofund db upgrade --db DSN` first")
    if await conn.fetchval("select 1 from runs where run_id = $1", run_id) is None:
        known = [
            r["run_id"] for r in await conn.fetch("select run_id from runs order by started_at desc limit 5")
        ]
        hint = f" (latest: {', '.join(known)})" if known else " (the database has no runs)"
        raise StorageError(f"run {run_id!r} is not in the database{hint}")


async def open_orders(conn: asyncpg.Connection, run_id: str) -> list[OpenOrder]:
    """Orders whose latest stored state is not terminal."""
    rows = await conn.fetch(
        "select client_order_id, venue_order_id, strategy_id, instrument_id, side, type, time_in_force, "
        "quantity, filled_qty, price, trigger_price, status, ts_last from orders "
        "where run_id = $1 and status <> all($2::text[]) order by ts_init, client_order_id",
        run_id,
        list(TERMINAL_STATUSES),
    )
    return [OpenOrder(**dict(r)) for r in rows]


async def net_positions(conn: asyncpg.Connection, run_id: str) -> list[NetPosition]:
    """Net positions per (strategy, instrument) from the stored position lifecycles.

    Only the latest lifecycle of each position id counts for the quantity: a resumed session re-opens
    a carried-over position as a new lifecycle (``paper._seed_positions``), so the previous session's
    row of the same position is superseded, not added (realised P&L still sums over every lifecycle).
    """
    rows = await conn.fetch(
        "with latest as ("
        " select distinct on (position_id) position_id, strategy_id, instrument_id, currency, side, "
        " signed_qty, quantity, avg_px_open from positions where run_id = $1 "
        " order by position_id, ts_opened desc, last_seq desc), "
        "totals as (select strategy_id, instrument_id, currency, sum(realized_pnl) as realized_pnl, "
        " max(account_id) as account_id from positions where run_id = $1 "
        " group by strategy_id, instrument_id, currency) "
        "select t.strategy_id, t.instrument_id, t.currency, t.realized_pnl, t.account_id, "
        " sum(l.signed_qty) filter (where l.side <> 'FLAT') as net_qty, "
        " sum(l.avg_px_open * l.quantity) filter (where l.side <> 'FLAT') as open_notional, "
        " sum(l.quantity) filter (where l.side <> 'FLAT') as open_qty, "
        " max(l.position_id) filter (where l.side <> 'FLAT') as position_id "
        "from totals t left join latest l using (strategy_id, instrument_id, currency) "
        "group by t.strategy_id, t.instrument_id, t.currency, t.realized_pnl, t.account_id "
        "order by t.instrument_id, t.strategy_id",
        run_id,
    )
    out = []
    for r in rows:
        open_qty = r["open_qty"] or Decimal(0)
        out.append(
            NetPosition(
                strategy_id=r["strategy_id"],
                instrument_id=r["instrument_id"],
                net_qty=r["net_qty"] or Decimal(0),
                avg_px_open=(r["open_notional"] / open_qty) if open_qty else None,
                realized_pnl=r["realized_pnl"],
                currency=r["currency"],
                position_id=r["position_id"],
                account_id=r["account_id"],
            )
        )
    return out


async def positions_from_fills(conn: asyncpg.Connection, run_id: str) -> list[NetPosition]:
    """Net positions implied by replaying the stored fills (netting, Nautilus's P&L rules)."""
    multipliers = {
        r["instrument_id"]: (r["multiplier"], r["currency"])
        for r in await conn.fetch(
            "select instrument_id, multiplier, currency from instruments where run_id = $1", run_id
        )
    }
    fills = await conn.fetch(
        "select strategy_id, instrument_id, side, quantity, price, commission, commission_currency "
        "from fills where run_id = $1 order by ts_event, trade_id",
        run_id,
    )
    qty: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    avg: dict[tuple[str, str], Decimal | None] = {}
    realized: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for f in fills:
        key = (f["strategy_id"], f["instrument_id"])
        multiplier, currency = multipliers.get(f["instrument_id"], (Decimal(1), f["commission_currency"]))
        if f["commission_currency"] == currency:
            realized[key] -= f["commission"]
        signed = f["quantity"] if f["side"] == "BUY" else -f["quantity"]
        held, price = qty[key], f["price"]
        opening = avg.get(key)
        if held == 0 or (held > 0) == (signed > 0):
            base = opening if opening is not None else price
            avg[key] = (base * abs(held) + price * abs(signed)) / (abs(held) + abs(signed))
        else:
            closing = min(abs(signed), abs(held))
            assert opening is not None
            realized[key] += (price - opening) * closing * (1 if held > 0 else -1) * multiplier
            if abs(signed) > abs(held):
                avg[key] = price  # flipped: the remainder opens at this fill's price
            elif abs(signed) == abs(held):
                avg[key] = None
        qty[key] = held + signed
    return [
        NetPosition(
            strategy_id=s,
            instrument_id=i,
            net_qty=qty[(s, i)],
            avg_px_open=avg.get((s, i)) if qty[(s, i)] != 0 else None,
            realized_pnl=realized[(s, i)],
            currency=multipliers.get(i, (None, ""))[1],
        )
        for s, i in sorted(qty, key=lambda k: (k[1], k[0]))
    ]


async def rebuild_state(conn: asyncpg.Connection, run_id: str) -> RebuiltState:
    """Open orders and net positions of ``run_id`` as the database records them."""
    await require_run(conn, run_id)
    return RebuiltState(
        run_id=run_id,
        open_orders=await open_orders(conn, run_id),
        positions=await net_positions(conn, run_id),
    )


def rebuild(dsn: str, run_id: str) -> RebuiltState:
    """Synchronous ``rebuild_state`` on a fresh connection (for node start-up and the CLI)."""

    async def go() -> RebuiltState:
        async with connection(dsn) as conn:
            return await rebuild_state(conn, run_id)

    return run_sync(go)
