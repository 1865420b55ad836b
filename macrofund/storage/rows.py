"""Nautilus events → database rows (tuples in each table's column order).

The engine thread only captures what can change under it (an order's state after an event, as immutable
Nautilus values); everything else, including ``Decimal`` conversion and JSON payloads, happens here on
the writer thread, so persistence costs the event loop a few attribute reads per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from nautilus_trader.model.enums import (
    liquidity_side_to_str,
    order_side_to_str,
    order_status_to_str,
    order_type_to_str,
    position_side_to_str,
    time_in_force_to_str,
)
from nautilus_trader.model.events import AccountState, OrderEvent, OrderFilled, OrderInitialized
from nautilus_trader.model.events.position import PositionClosed, PositionEvent
from nautilus_trader.model.orders import Order
from nautilus_trader.model.position import Position

Row = tuple[Any, ...]
_JSON = msgspec.json.Encoder(enc_hook=str)  # ~20x faster than json.dumps for event payloads

ORDER_EVENT_COLUMNS = (
    "run_id",
    "client_order_id",
    "seq",
    "event_id",
    "event_type",
    "venue_order_id",
    "strategy_id",
    "instrument_id",
    "ts_event",
    "ts_init",
    "event_time",
    "payload",
)
ORDER_COLUMNS = (
    "run_id",
    "client_order_id",
    "venue_order_id",
    "strategy_id",
    "instrument_id",
    "account_id",
    "side",
    "type",
    "time_in_force",
    "quantity",
    "filled_qty",
    "price",
    "trigger_price",
    "avg_px",
    "status",
    "last_event_type",
    "last_seq",
    "exec_algorithm_id",
    "exec_spawn_id",
    "tags",
    "ts_init",
    "ts_last",
)
FILL_COLUMNS = (
    "run_id",
    "venue",
    "trade_id",
    "client_order_id",
    "venue_order_id",
    "position_id",
    "strategy_id",
    "instrument_id",
    "account_id",
    "side",
    "quantity",
    "price",
    "currency",
    "commission",
    "commission_currency",
    "liquidity",
    "ts_event",
    "ts_init",
    "event_time",
)
POSITION_COLUMNS = (
    "run_id",
    "position_id",
    "ts_opened",
    "strategy_id",
    "instrument_id",
    "account_id",
    "entry",
    "side",
    "signed_qty",
    "quantity",
    "peak_qty",
    "avg_px_open",
    "avg_px_close",
    "realized_pnl",
    "unrealized_pnl",
    "currency",
    "ts_closed",
    "ts_last",
    "last_seq",
)
POSITION_SNAPSHOT_COLUMNS = (
    "run_id",
    "event_id",
    "event_type",
    "position_id",
    "ts_opened",
    "strategy_id",
    "instrument_id",
    "account_id",
    "side",
    "signed_qty",
    "quantity",
    "last_qty",
    "last_px",
    "avg_px_open",
    "avg_px_close",
    "realized_pnl",
    "unrealized_pnl",
    "currency",
    "ts_event",
    "event_time",
)
ACCOUNT_BALANCE_COLUMNS = (
    "run_id",
    "event_id",
    "account_id",
    "currency",
    "total",
    "locked",
    "free",
    "ts_event",
    "event_time",
)
PNL_COLUMNS = (
    "run_id",
    "ts",
    "account_id",
    "strategy_id",
    "instrument_id",
    "currency",
    "net_qty",
    "realized_pnl",
    "unrealized_pnl",
    "total_pnl",
    "snapshot_time",
)

# Index of fields inside an ``orders`` row that the upsert merges.
ORDER_SEQ = ORDER_COLUMNS.index("last_seq")


def utc(ts_ns: int) -> datetime:
    """Nanoseconds → an aware UTC ``datetime`` (microsecond precision; the ns column stays exact)."""
    return datetime.fromtimestamp(ts_ns / 1e9, UTC)


def dec(value: object) -> Decimal | None:
    """A Nautilus value (Price/Quantity/Money/double) as ``Decimal``; ``None`` stays ``None``."""
    if value is None:
        return None
    as_decimal = getattr(value, "as_decimal", None)
    if as_decimal is not None:
        return as_decimal()  # type: ignore[no-any-return]
    return Decimal(str(value))


def _ident(value: object) -> str | None:
    return None if value is None else value.value  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order's state right after one event, captured on the engine thread (immutable values only)."""

    seq: int
    status: int
    venue_order_id: object
    account_id: object
    quantity: object
    filled_qty: object
    avg_px: float
    price: object
    trigger_price: object
    ts_last: int
    # Set on the order's first event only: fields that never change afterwards.
    side: int | None = None
    order_type: int | None = None
    time_in_force: int | None = None
    exec_algorithm_id: object = None
    exec_spawn_id: object = None
    tags: tuple[str, ...] | None = None
    ts_init: int | None = None


def capture_order_state(order: Order, seq: int, with_static: bool) -> OrderState:
    """Read what a later event could change. ``seq`` is the order's event count after this event."""
    price = getattr(order, "price", None)
    trigger = getattr(order, "trigger_price", None)
    if not with_static:
        return OrderState(
            seq,
            order.status,
            order.venue_order_id,
            order.account_id,
            order.quantity,
            order.filled_qty,
            order.avg_px,
            price,
            trigger,
            order.ts_last,
        )
    return OrderState(
        seq,
        order.status,
        order.venue_order_id,
        order.account_id,
        order.quantity,
        order.filled_qty,
        order.avg_px,
        price,
        trigger,
        order.ts_last,
        order.side,
        order.order_type,
        order.time_in_force,
        order.exec_algorithm_id,
        order.exec_spawn_id,
        tuple(order.tags) if order.tags else (),
        order.ts_init,
    )


def order_event_row(run_id: str, event: OrderEvent, seq: int) -> Row:
    """One ``order_events`` row; the full event as JSON in ``payload``."""
    payload = type(event).to_dict(event)
    return (
        run_id,
        event.client_order_id.value,
        seq,
        event.id.value,
        type(event).__name__,
        _ident(event.venue_order_id),
        event.strategy_id.value,
        event.instrument_id.value,
        event.ts_event,
        event.ts_init,
        utc(event.ts_event),
        _JSON.encode(payload).decode(),
    )


def order_row(run_id: str, event: OrderEvent, state: OrderState) -> list[Any]:
    """One ``orders`` row: the order's state after ``event``."""
    filled = dec(state.filled_qty)
    static = state.side is not None
    return [
        run_id,
        event.client_order_id.value,
        _ident(state.venue_order_id),
        event.strategy_id.value,
        event.instrument_id.value,
        _ident(state.account_id),
        order_side_to_str(state.side) if static else None,
        order_type_to_str(state.order_type) if static else None,
        time_in_force_to_str(state.time_in_force) if static else None,
        dec(state.quantity),
        filled,
        dec(state.price),
        dec(state.trigger_price),
        dec(state.avg_px) if filled else None,
        order_status_to_str(state.status),
        type(event).__name__,
        state.seq,
        _ident(state.exec_algorithm_id),
        _ident(state.exec_spawn_id),
        ",".join(state.tags) if state.tags else None,
        state.ts_init,
        state.ts_last,
    ]


def initialized_order_row(run_id: str, event: OrderInitialized) -> list[Any]:
    """The ``orders`` row of a just-created order, from its ``OrderInitialized`` event alone.

    Strategies publish this event before the order reaches the cache, so the event is the only source.
    """
    options = event.options or {}
    price = options.get("price")
    trigger = options.get("trigger_price")
    return [
        run_id,
        event.client_order_id.value,
        None,
        event.strategy_id.value,
        event.instrument_id.value,
        None,
        order_side_to_str(event.side),
        order_type_to_str(event.order_type),
        time_in_force_to_str(event.time_in_force),
        event.quantity.as_decimal(),
        Decimal(0),
        Decimal(str(price)) if price is not None else None,
        Decimal(str(trigger)) if trigger is not None else None,
        None,
        "INITIALIZED",
        "OrderInitialized",
        1,
        _ident(event.exec_algorithm_id),
        _ident(event.exec_spawn_id),
        ",".join(event.tags) if event.tags else None,
        event.ts_init,
        event.ts_event,
    ]


def merge_order_rows(older: list[Any], newer: list[Any]) -> list[Any]:
    """Two states of one order: the newer's fields, with fields only the older one knows kept."""
    base, top = (older, newer) if newer[ORDER_SEQ] >= older[ORDER_SEQ] else (newer, older)
    return [t if t is not None else b for b, t in zip(base, top)]  # noqa: B905 (same table, same length)


def fill_row(run_id: str, event: OrderFilled) -> Row:
    """One ``fills`` row; the venue (from the instrument id) scopes the trade id."""
    return (
        run_id,
        event.instrument_id.venue.value,
        event.trade_id.value,
        event.client_order_id.value,
        _ident(event.venue_order_id),
        _ident(event.position_id),
        event.strategy_id.value,
        event.instrument_id.value,
        event.account_id.value,
        order_side_to_str(event.order_side),
        event.last_qty.as_decimal(),
        event.last_px.as_decimal(),
        event.currency.code,
        event.commission.as_decimal(),
        event.commission.currency.code,
        liquidity_side_to_str(event.liquidity_side),
        event.ts_event,
        event.ts_init,
        utc(event.ts_event),
    )


def _signed_qty(quantity: Decimal, side: int) -> Decimal:
    return -quantity if position_side_to_str(side) == "SHORT" else quantity


def position_row(run_id: str, event: PositionEvent, seq: int) -> Row:
    """One ``positions`` row: the position lifecycle's state after ``event``."""
    qty = event.quantity.as_decimal()
    closed = isinstance(event, PositionClosed)
    return (
        run_id,
        event.position_id.value,
        event.ts_opened,
        event.strategy_id.value,
        event.instrument_id.value,
        event.account_id.value,
        order_side_to_str(event.entry),
        position_side_to_str(event.side),
        _signed_qty(qty, event.side),
        qty,
        event.peak_qty.as_decimal(),
        dec(event.avg_px_open),
        dec(event.avg_px_close) if event.avg_px_close else None,
        event.realized_pnl.as_decimal(),
        dec(event.unrealized_pnl) if event.unrealized_pnl is not None else None,
        event.currency.code,
        event.ts_closed if closed else None,
        event.ts_event,
        seq,
    )


def position_mark_row(run_id: str, position: Position, unrealized: Decimal | None, seq: int) -> Row:
    """A ``positions`` row from a live ``Position`` (end-of-run mark with a fresh unrealised P&L)."""
    qty = position.quantity.as_decimal()
    return (
        run_id,
        position.id.value,
        position.ts_opened,
        position.strategy_id.value,
        position.instrument_id.value,
        position.account_id.value,
        order_side_to_str(position.entry),
        position_side_to_str(position.side),
        _signed_qty(qty, position.side),
        qty,
        position.peak_qty.as_decimal(),
        dec(position.avg_px_open),
        dec(position.avg_px_close) if position.avg_px_close else None,
        position.realized_pnl.as_decimal() if position.realized_pnl is not None else Decimal(0),
        unrealized,
        position.quote_currency.code,
        position.ts_closed or None,
        position.ts_last,
        seq,
    )


def position_snapshot_row(run_id: str, event: PositionEvent) -> Row:
    """One append-only ``position_snapshots`` row."""
    qty = event.quantity.as_decimal()
    return (
        run_id,
        event.id.value,
        type(event).__name__,
        event.position_id.value,
        event.ts_opened,
        event.strategy_id.value,
        event.instrument_id.value,
        event.account_id.value,
        position_side_to_str(event.side),
        _signed_qty(qty, event.side),
        qty,
        event.last_qty.as_decimal(),
        event.last_px.as_decimal(),
        dec(event.avg_px_open),
        dec(event.avg_px_close) if event.avg_px_close else None,
        event.realized_pnl.as_decimal(),
        dec(event.unrealized_pnl) if event.unrealized_pnl is not None else None,
        event.currency.code,
        event.ts_event,
        utc(event.ts_event),
    )


def account_balance_rows(run_id: str, event: AccountState) -> list[Row]:
    """One ``account_balances`` row per currency of an account state."""
    when = utc(event.ts_event)
    return [
        (
            run_id,
            event.id.value,
            event.account_id.value,
            balance.currency.code,
            balance.total.as_decimal(),
            balance.locked.as_decimal(),
            balance.free.as_decimal(),
            event.ts_event,
            when,
        )
        for balance in event.balances
    ]
