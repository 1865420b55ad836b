"""What the kernel's thread hands to the audit sealer, and how the sealer turns it back into payloads.

Most of an audit record's cost on the engine's thread used to be Nautilus's ``to_dict()``, and most of
*that* is formatting prices, quantities and money as decimal strings (``str(Price)`` is ~0.8 µs: a
Python ``Decimal`` division and format). For the hot event types the engine now takes only what it
must capture (identifier strings, raw fixed-point integers with their precision, enums, timestamps)
into a plain tuple; the sealer process formats the decimals exactly as Nautilus does and rebuilds the
very dict ``to_dict()`` would have returned (tests compare both for every type). Every other event or
command is captured with its own ``to_dict()`` on the engine's thread, as before.

A captured item is ``(record_type, ts_event, kind, data)`` of plain values. It travels as JSON (msgspec
keeps 128-bit integers and finite floats exactly and encodes enums as their integer value);
``macrofund.audit.rebuild.Rebuilder`` gives the payload back. Both sides must see the same items
in the same order (``SubmitOrder`` refers to the last ``OrderInitialized`` when it is the same order's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.enums import (
    AccountType,
    LiquiditySide,
    OrderSide,
    OrderType,
    PositionSide,
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
from nautilus_trader.model.objects import FIXED_PRECISION

from macrofund.audit.rebuild import ACCOUNT, DICT, FILL, POSITION, SUBMIT, Item

# Position events' binary floats, written as their shortest round-trip decimal string.
_FLOAT_KEYS = frozenset({"signed_qty", "avg_px_open", "avg_px_close", "realized_return"})


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
        floats = e.signed_qty + e.avg_px_open + e.avg_px_close + e.realized_return
        if floats - floats != 0.0:  # a NaN or infinity would not survive JSON: keep to_dict's repr
            payload = cls.to_dict(e)
            for key in _FLOAT_KEYS.intersection(payload):
                payload[key] = repr(payload[key])
            return (cls.__name__, e.ts_event, DICT, payload)
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


def rebuild_tables() -> dict[str, Any]:
    """What the sealer needs to format like Nautilus without importing it (it starts in ~0.1 s)."""

    def names(enum: Any, to_str: Callable[[Any], str]) -> dict[str, str]:
        return {str(int(member)): to_str(member) for member in enum}

    return {
        "fixed_precision": FIXED_PRECISION,
        "order_side": names(OrderSide, order_side_to_str),
        "order_type": names(OrderType, order_type_to_str),
        "liquidity_side": names(LiquiditySide, liquidity_side_to_str),
        "position_side": names(PositionSide, position_side_to_str),
        "account_type": names(AccountType, account_type_to_str),
    }
