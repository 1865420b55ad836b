"""Put a restarted live node's working orders back into its cache from our PostgreSQL records.

Why not Nautilus's Redis-backed cache: in 1.221 a NETTING flip stores its close and open fills under
one trade id in the position's Redis list, and the next start crashes in ``load_cache`` with
``Duplicate TradeId`` (#3081); the FIX clients are NETTING. Our own records are written by the
persistence component within ``storage.flush_interval`` of each event, and the run's positions are
already rebuilt from them (``paper._resume_from_database``). This module adds the orders that were
still working, so the execution client's start-up reconciliation asks the venue about each of them
(OrderStatusRequest by ClOrdID): fills made while the node was down are booked once, cancels and
expiries close the orders, and nothing is ever sent again.

Each restored order is rebuilt with its original ``ClientOrderId``, strategy, terms, venue order id and
the fills already booked (real trade ids and prices from the ``fills`` table), and put into the cache
without publishing events: the audit trail and the database already hold its history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import (
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderType,
    TimeInForce,
    TriggerType,
)
from nautilus_trader.model.events import OrderAccepted, OrderFilled, OrderInitialized, OrderSubmitted
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
)
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.model.orders.unpacker import OrderUnpacker

from macrofund.storage.pool import connection, run_sync
from macrofund.storage.rebuild import OpenOrder, open_orders, require_run

# Terms a restored order can be rebuilt with. GTD needs its expire time, which the orders table
# does not keep, so a GTD order is reported as not restored (the venue expires it on its own).
_TYPES = {t.name: t for t in (OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT)}
_TIFS = {t.name: t for t in (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)}
_LIQUIDITY = {s.name: s for s in LiquiditySide}


@dataclass(frozen=True)
class _StoredFill:
    trade_id: str
    venue_order_id: str | None
    account_id: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    commission_currency: str
    liquidity: str
    ts_event: int


@dataclass
class RestoredOrders:
    """What was put back (``restored``) and what could not be (``skipped``: id -> why)."""

    restored: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    unrecorded: list[str] = field(default_factory=list)  # sent, never recorded, recovered (live)


async def _load(dsn: str, run_id: str) -> tuple[list[OpenOrder], dict[str, list[_StoredFill]]]:
    async with connection(dsn) as conn:
        await require_run(conn, run_id)
        orders = await open_orders(conn, run_id)
        fills = await _fills_of(conn, run_id, [o.client_order_id for o in orders])
    return orders, fills


async def _fills_of(
    conn: asyncpg.Connection, run_id: str, client_order_ids: list[str]
) -> dict[str, list[_StoredFill]]:
    rows = await conn.fetch(
        "select client_order_id, trade_id, venue_order_id, account_id, quantity, price, commission, "
        "commission_currency, liquidity, ts_event from fills "
        "where run_id = $1 and client_order_id = any($2::text[]) order by ts_event, trade_id",
        run_id,
        client_order_ids,
    )
    out: dict[str, list[_StoredFill]] = {}
    for r in rows:
        row = dict(r)
        out.setdefault(row.pop("client_order_id"), []).append(_StoredFill(**row))
    return out


def _rebuild_order(
    stored: OpenOrder,
    fills: list[_StoredFill],
    instrument: Instrument,
    trader_id: TraderId,
    account_id: AccountId,
    now: int,
) -> Order:
    """The Nautilus order as it stood at the last stored event: submitted, accepted, its fills."""
    strategy_id = StrategyId(stored.strategy_id)
    instrument_id = InstrumentId.from_str(stored.instrument_id)
    client_order_id = ClientOrderId(stored.client_order_id)
    order_type = _TYPES[stored.type or ""]
    side = OrderSide.BUY if stored.side == "BUY" else OrderSide.SELL
    options: dict[str, object] = {"expire_time_ns": 0}
    if stored.price is not None:
        options["price"] = str(instrument.make_price(stored.price))
    if stored.trigger_price is not None:
        options["trigger_price"] = str(instrument.make_price(stored.trigger_price))
        options["trigger_type"] = "DEFAULT"
    assert stored.quantity is not None
    init = OrderInitialized(
        trader_id, strategy_id, instrument_id, client_order_id, side, order_type,
        instrument.make_qty(stored.quantity), _TIFS[stored.time_in_force or ""], False, False, False,
        options, TriggerType.NO_TRIGGER, None, ContingencyType.NO_CONTINGENCY, None, None, None, None,
        None, None, ["RESTORED"], UUID4(), now,
    )  # fmt: skip
    order = OrderUnpacker.from_init(init)
    ids = (trader_id, strategy_id, instrument_id, client_order_id)
    order.apply(OrderSubmitted(*ids, account_id, UUID4(), now, now))
    venue_order_id = stored.venue_order_id or next(
        (f.venue_order_id for f in fills if f.venue_order_id), None
    )
    if venue_order_id is not None and stored.status != "SUBMITTED":
        order.apply(OrderAccepted(*ids, VenueOrderId(venue_order_id), account_id, UUID4(), now, now))
    for f in fills:
        filled = OrderFilled(
            *ids, VenueOrderId(f.venue_order_id or venue_order_id or "NONE"), AccountId(f.account_id),
            TradeId(f.trade_id), None, side, order_type, Quantity(f.quantity, instrument.size_precision),
            instrument.make_price(f.price), instrument.quote_currency,
            Money(f.commission, instrument.quote_currency),
            _LIQUIDITY.get(f.liquidity, LiquiditySide.NO_LIQUIDITY_SIDE), UUID4(), f.ts_event, now,
        )  # fmt: skip
        order.apply(filled)
    return order


def _why_not(stored: OpenOrder, fills: list[_StoredFill], instruments: dict[str, Instrument]) -> str | None:
    if stored.instrument_id not in instruments:
        return f"instrument {stored.instrument_id} is not in this run's config"
    if stored.type not in _TYPES:
        return f"order type {stored.type} is not restored"
    if stored.time_in_force not in _TIFS:
        return f"time in force {stored.time_in_force} is not restored (its expire time is not stored)"
    if stored.side not in ("BUY", "SELL") or stored.quantity is None:
        return "side or quantity missing from the stored order"
    booked = sum((f.quantity for f in fills), Decimal(0))
    if booked != stored.filled_qty:
        return f"stored fills sum to {booked}, the order says {stored.filled_qty} filled"
    return None


def restore_working_orders(
    node: Any, instruments: dict[str, Instrument], dsn: str, run_id: str
) -> RestoredOrders:
    """Add the run's working orders (latest stored status not terminal) to ``node``'s cache.

    Call after ``node.build()`` and before it runs, so start-up reconciliation sees them. Orders
    that cannot be rebuilt are listed in ``skipped`` with the reason, and left to the venue's own
    reports (which the execution client turns into external orders).
    """
    stored_orders, fills = run_sync(lambda: _load(dsn, run_id))
    cache: Any = node.kernel.cache
    trader_id = TraderId(node.kernel.trader_id.value)
    now = node.kernel.clock.timestamp_ns()
    result = RestoredOrders()
    for stored in stored_orders:
        own = fills.get(stored.client_order_id, [])
        why = _why_not(stored, own, instruments)
        if why is None and cache.order(ClientOrderId(stored.client_order_id)) is not None:
            why = "already in the cache"
        if why is not None:
            result.skipped[stored.client_order_id] = why
            continue
        instrument = instruments[stored.instrument_id]
        venue = instrument.id.venue.value
        account_id = AccountId(own[0].account_id if own else f"{venue}-001")
        order = _rebuild_order(stored, own, instrument, trader_id, account_id, now)
        position_id = PositionId(f"{stored.instrument_id}-{stored.strategy_id}")
        cache.add_order(order, position_id, ClientId(venue))
        cache.update_order(order)
        result.restored.append(stored.client_order_id)
    return result
