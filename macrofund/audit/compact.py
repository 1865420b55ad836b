"""What the kernel's thread hands to the audit sealer, and how the sealer turns it back into payloads.

Most of an audit record's cost on the engine's thread used to be Nautilus's ``to_dict()``, and most of
*that* is formatting prices, quantities and money as decimal strings (``str(Price)`` is ~0.8 µs: a
Python ``Decimal`` division and format). For the hot event types the engine now takes only what it
must capture (identifier strings, raw fixed-point integers with their precision, enums, timestamps)
into a plain tuple; the sealer process formats the decimals exactly as Nautilus does and rebuilds the
very dict ``to_dict()`` would have returned (tests compare both for every type). Every other event or
command is captured with its own ``to_dict()`` on the engine's thread, as before.

A captured item is ``(record_type, ts_event, kind, data)``; ``Rebuilder.payload(kind, data)`` gives the
payload. Both sides must see the same items in the same order (``SubmitOrder`` refers to the last
``OrderInitialized`` when it is the same order's).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.enums import (
    account_type_to_str,
    liquidity_side_to_str,
    order_side_to_str,
    order_type_to_str,
    position_side_to_str,
)
from nautilus_trader.model.events import (
    AccountState,
    OrderFilled,
    OrderInitialized,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from nautilus_trader.model.objects import FIXED_DECIMAL_SCALE

Item = tuple[str, int, str, Any]

DICT = "d"  # data is the payload itself (to_dict() taken on the engine's thread, or a plain dict)
FILL = "f"
ACCOUNT = "a"
POSITION = "p"
SUBMIT = "s"


class Capture:
    """Engine side: one item per event or command; cheap for the hot types. One per run (stateful)."""

    def __init__(self) -> None:
        self._last_init: Any = None
        self._encoders: dict[type, Callable[[Any], Item]] = {
            OrderFilled: self._fill,
            AccountState: self._account,
            PositionOpened: self._position,
            PositionChanged: self._position,
            PositionClosed: self._position,
            OrderInitialized: self._initialized,
            SubmitOrder: self._submit,
        }

    def item(self, obj: Any) -> Item:
        """The item for a Nautilus event or command (its ``ts_event``, or ``ts_init`` for commands)."""
        encoder = self._encoders.get(type(obj))
        if encoder is not None:
            return encoder(obj)
        cls = type(obj)
        ts = obj.ts_event if hasattr(obj, "ts_event") else obj.ts_init
        return (cls.__name__, ts, DICT, cls.to_dict(obj))

    @staticmethod
    def _fill(e: Any) -> Item:
        position_id = e.position_id
        qty, px, fee = e.last_qty, e.last_px, e.commission
        fee_ccy = fee.currency
        return (
            "OrderFilled",
            e.ts_event,
            FILL,
            (
                e.trader_id.value,
                e.strategy_id.value,
                e.instrument_id.value,
                e.client_order_id.value,
                e.venue_order_id.value,
                e.account_id.value,
                e.trade_id.value,
                position_id.value if position_id else None,
                e.order_side,
                e.order_type,
                qty.raw,
                qty.precision,
                px.raw,
                px.precision,
                e.currency.code,
                fee.raw,
                fee_ccy.precision,
                fee_ccy.code,
                e.liquidity_side,
                e.id.value,
                e.ts_event,
                e.ts_init,
                e.info,
                e.reconciliation,
            ),
        )

    @staticmethod
    def _account(e: Any) -> Item:
        base = e.base_currency
        margins = e.margins
        return (
            "AccountState",
            e.ts_event,
            ACCOUNT,
            (
                e.account_id.value,
                e.account_type,
                base.code if base else None,
                [
                    (b.total.raw, b.locked.raw, b.free.raw, b.currency.precision, b.currency.code)
                    for b in e.balances
                ],
                [m.to_dict() for m in margins] if margins else [],
                e.is_reported,
                e.info,
                e.id.value,
                e.ts_event,
                e.ts_init,
            ),
        )

    @staticmethod
    def _position(e: Any) -> Item:
        cls = type(e)
        closing = e.closing_order_id
        pnl = e.realized_pnl
        pnl_ccy = pnl.currency
        unrealized = e.unrealized_pnl if cls is PositionChanged else None
        quantity, peak, last_qty, last_px = e.quantity, e.peak_qty, e.last_qty, e.last_px
        return (
            cls.__name__,
            e.ts_event,
            POSITION,
            (
                e.trader_id.value,
                e.strategy_id.value,
                e.instrument_id.value,
                e.position_id.value,
                e.account_id.value,
                e.opening_order_id.value,
                closing.value if closing is not None else None,
                e.entry,
                e.side,
                e.signed_qty,
                quantity.raw,
                quantity.precision,
                (peak.raw, peak.precision),
                (last_qty.raw, last_qty.precision),
                last_px.raw,
                last_px.precision,
                e.currency.code,
                e.avg_px_open,
                e.avg_px_close,
                e.realized_return,
                pnl.raw,
                pnl_ccy.precision,
                pnl_ccy.code,
                (unrealized.raw, unrealized.currency.precision, unrealized.currency.code)
                if unrealized is not None
                else None,
                e.duration_ns,
                e.id.value,
                e.ts_opened,
                e.ts_closed,
                e.ts_event,
                e.ts_init,
            ),
        )

    def _initialized(self, e: Any) -> Item:
        self._last_init = e
        return ("OrderInitialized", e.ts_event, DICT, OrderInitialized.to_dict(e))

    def _submit(self, c: Any) -> Item:
        init = c.order.init_event
        # The sealer already holds the payload of the OrderInitialized just captured: reuse it.
        order = None if init is self._last_init else OrderInitialized.to_dict(init)
        client_id, position_id = c.client_id, c.position_id
        return (
            "SubmitOrder",
            c.ts_init,
            SUBMIT,
            (
                client_id.value if client_id is not None else None,
                c.trader_id.value,
                c.strategy_id.value,
                order,
                position_id.value if position_id is not None else None,
                c.id.value,
                c.ts_init,
            ),
        )


def _decimal(raw: int, precision: int) -> str:
    # Exactly Nautilus's Price/Quantity.__str__ (HIGH_PRECISION or not: FIXED_DECIMAL_SCALE follows it).
    return f"{Decimal(raw) / FIXED_DECIMAL_SCALE:.{precision}f}"


def _money(raw: int, precision: int, code: str) -> str:
    return f"{Decimal(raw) / FIXED_DECIMAL_SCALE:.{precision}f} {code}"


class Rebuilder:
    """Sealer side: the payload ``to_dict()`` would have given for each captured item, in order."""

    def __init__(self) -> None:
        self._last_init: dict[str, Any] | None = None

    def payload(self, record_type: str, kind: str, data: Any) -> Any:
        if kind == DICT:
            if record_type == "OrderInitialized":
                self._last_init = data
            return data
        if kind == FILL:
            return _fill(data)
        if kind == ACCOUNT:
            return _account(data)
        if kind == POSITION:
            return _position(record_type, data)
        if kind == SUBMIT:
            return self._submit(data)
        raise ValueError(f"unknown audit item kind {kind!r}")

    def _submit(self, d: tuple) -> dict[str, Any]:
        order = d[3] if d[3] is not None else self._last_init
        return {
            "type": "SubmitOrder",
            "client_id": d[0],
            "trader_id": d[1],
            "strategy_id": d[2],
            "order": order,
            "position_id": d[4],
            "command_id": d[5],
            "ts_init": d[6],
        }


def _fill(d: tuple) -> dict[str, Any]:
    return {
        "type": "OrderFilled",
        "trader_id": d[0],
        "strategy_id": d[1],
        "instrument_id": d[2],
        "client_order_id": d[3],
        "venue_order_id": d[4],
        "account_id": d[5],
        "trade_id": d[6],
        "position_id": d[7],
        "order_side": order_side_to_str(d[8]),
        "order_type": order_type_to_str(d[9]),
        "last_qty": _decimal(d[10], d[11]),
        "last_px": _decimal(d[12], d[13]),
        "currency": d[14],
        "commission": _money(d[15], d[16], d[17]),
        "liquidity_side": liquidity_side_to_str(d[18]),
        "event_id": d[19],
        "ts_event": d[20],
        "ts_init": d[21],
        "info": d[22],
        "reconciliation": d[23],
    }


def _account(d: tuple) -> dict[str, Any]:
    return {
        "type": "AccountState",
        "account_id": d[0],
        "account_type": account_type_to_str(d[1]),
        "base_currency": d[2],
        "balances": [
            {
                "type": "AccountBalance",
                "total": _decimal(total, precision),
                "locked": _decimal(locked, precision),
                "free": _decimal(free, precision),
                "currency": code,
            }
            for total, locked, free, precision, code in d[3]
        ],
        "margins": d[4],
        "reported": d[5],
        "info": d[6],
        "event_id": d[7],
        "ts_event": d[8],
        "ts_init": d[9],
    }


def _position(record_type: str, d: tuple) -> dict[str, Any]:
    # Binary floats as their shortest round-trip decimal string: no record holds a float.
    payload: dict[str, Any] = {
        "type": record_type,
        "trader_id": d[0],
        "strategy_id": d[1],
        "instrument_id": d[2],
        "position_id": d[3],
        "account_id": d[4],
        "opening_order_id": d[5],
    }
    if record_type == "PositionClosed":
        payload["closing_order_id"] = d[6]
    payload.update(
        {
            "entry": order_side_to_str(d[7]),
            "side": position_side_to_str(d[8]),
            "signed_qty": repr(d[9]),
            "quantity": _decimal(d[10], d[11]),
            "peak_qty": _decimal(*d[12]),
            "last_qty": _decimal(*d[13]),
            "last_px": _decimal(d[14], d[15]),
            "currency": d[16],
            "avg_px_open": repr(d[17]),
        }
    )
    if record_type != "PositionOpened":
        payload["avg_px_close"] = repr(d[18])
        payload["realized_return"] = repr(d[19])
    payload["realized_pnl"] = _money(d[20], d[21], d[22])
    if record_type == "PositionChanged":
        payload["unrealized_pnl"] = _money(*d[23])
    if record_type == "PositionOpened":
        payload["duration_ns"] = d[24]
    payload["event_id"] = d[25]
    if record_type != "PositionOpened":
        payload["ts_opened"] = d[26]
    if record_type == "PositionClosed":
        payload["ts_closed"] = d[27]
        payload["duration_ns"] = d[24]
    else:
        payload["ts_event"] = d[28]
    payload["ts_init"] = d[29]
    return payload
