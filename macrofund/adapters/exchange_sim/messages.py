"""The venue side of FIX 4.4 order entry: read 35=D/F/G/H/q, build 35=8/9/r/j.

The inverse of ``macrofund.adapters.fix.translate`` (which builds requests and reads reports for the
execution clients). Parsers raise ``FixFieldError`` naming the tag for a malformed message; the server
answers that with a BusinessMessageReject (35=j). Business problems with a well-formed order (unknown
symbol, off-tick price) are the matching engine's to reject with 35=8 150=8.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from macrofund.adapters.exchange_sim.orders import VenueOrder
from macrofund.adapters.fix.message import FixFieldError, FixMessage
from macrofund.adapters.fix.translate import format_utc_timestamp, plain

__all__ = [
    "CancelRequest",
    "MassCancelRequest",
    "NewOrderRequest",
    "ReplaceRequest",
    "StatusRequest",
    "business_reject",
    "cancel_reject",
    "execution_report",
    "mass_cancel_report",
    "parse_cancel",
    "parse_mass_cancel",
    "parse_new_order",
    "parse_replace",
    "parse_status",
    "rejected_order_report",
]

_SIDES = ("1", "2")


@dataclass(frozen=True)
class InstrumentRef:
    """How a message names its instrument: Symbol (55), SecurityID (48), MaturityMonthYear (200)."""

    symbol: str | None
    security_id: str | None
    maturity: str | None


@dataclass(frozen=True)
class NewOrderRequest:
    """A NewOrderSingle (35=D) as the venue reads it, wire side and prices."""

    cl_ord_id: str
    instrument: InstrumentRef
    side: str
    qty: Decimal
    ord_type: str
    price: Decimal | None
    stop_px: Decimal | None
    tif: str
    account: str | None
    expire_time: str | None = None  # 126 ExpireTime (UTC)
    expire_date: str | None = None  # 432 ExpireDate (venue-local YYYYMMDD)


@dataclass(frozen=True)
class CancelRequest:
    """An OrderCancelRequest (35=F)."""

    cl_ord_id: str
    orig_cl_ord_id: str | None
    order_id: str | None
    side: str | None


@dataclass(frozen=True)
class ReplaceRequest:
    """An OrderCancelReplaceRequest (35=G): the order's new terms."""

    orig_cl_ord_id: str | None
    order_id: str | None
    order: NewOrderRequest


@dataclass(frozen=True)
class StatusRequest:
    """An OrderStatusRequest (35=H)."""

    cl_ord_id: str | None
    order_id: str | None
    status_req_id: str | None
    instrument: InstrumentRef
    side: str | None


@dataclass(frozen=True)
class MassCancelRequest:
    """An OrderMassCancelRequest (35=q): 530=7 all orders, 530=1 one instrument; optional side."""

    cl_ord_id: str
    request_type: str
    instrument: InstrumentRef
    side: str | None


def _side(message: FixMessage, required: bool) -> str | None:
    value = message.require(54) if required else message.get(54)
    if value is not None and value not in _SIDES:
        raise FixFieldError(
            f"35={message.msg_type}: tag 54={value!r} is not a supported Side (1=Buy, 2=Sell)"
        )
    return value


def _instrument(message: FixMessage) -> InstrumentRef:
    return InstrumentRef(message.get(55), message.get(48), message.get(200))


def _order_id(message: FixMessage) -> str | None:
    value = message.get(37)
    return None if value in (None, "", "NONE") else value


def parse_new_order(message: FixMessage) -> NewOrderRequest:
    """Read a 35=D (or the terms of a 35=G); ``FixFieldError`` naming a missing or malformed tag."""
    if 55 not in message and 48 not in message:
        raise FixFieldError(f"35={message.msg_type}: required tag 55 (or 48) is missing")
    qty = message.decimal(38)
    if qty is None:
        raise FixFieldError(f"35={message.msg_type}: required tag 38 is missing")
    side = _side(message, required=True)
    assert side is not None
    return NewOrderRequest(
        cl_ord_id=message.require(11),
        instrument=_instrument(message),
        side=side,
        qty=qty,
        ord_type=message.require(40),
        price=message.decimal(44),
        stop_px=message.decimal(99),
        tif=message.get(59) or "0",
        account=message.get(1),
        expire_time=message.get(126),
        expire_date=message.get(432),
    )


def parse_cancel(message: FixMessage) -> CancelRequest:
    """Read a 35=F: ClOrdID (11) and OrigClOrdID (41) or OrderID (37)."""
    cl_ord_id = message.require(11)
    orig, order_id = message.get(41), _order_id(message)
    if orig is None and order_id is None:
        raise FixFieldError("35=F: required tag 41 (or 37) is missing")
    return CancelRequest(cl_ord_id, orig, order_id, _side(message, required=False))


def parse_replace(message: FixMessage) -> ReplaceRequest:
    """Read a 35=G: which order (41 or 37) and its complete new terms."""
    orig, order_id = message.get(41), _order_id(message)
    if orig is None and order_id is None:
        raise FixFieldError("35=G: required tag 41 (or 37) is missing")
    return ReplaceRequest(orig, order_id, parse_new_order(message))


def parse_status(message: FixMessage) -> StatusRequest:
    """Read a 35=H: ClOrdID (11) and/or OrderID (37), optional OrdStatusReqID (790)."""
    cl_ord_id, order_id = message.get(11), _order_id(message)
    if cl_ord_id is None and order_id is None:
        raise FixFieldError("35=H: required tag 11 (or 37) is missing")
    return StatusRequest(cl_ord_id, order_id, message.get(790), _instrument(message), _side(message, False))


def parse_mass_cancel(message: FixMessage) -> MassCancelRequest:
    """Read a 35=q: ClOrdID (11), MassCancelRequestType (530), instrument and side filters."""
    return MassCancelRequest(
        cl_ord_id=message.require(11),
        request_type=message.require(530),
        instrument=_instrument(message),
        side=_side(message, required=False),
    )


def execution_report(
    order: VenueOrder,
    exec_id: str,
    exec_type: str,
    ts_ns: int,
    *,
    last_qty: Decimal | None = None,
    last_px: Decimal | None = None,
    text: str | None = None,
    status_req_id: str | None = None,
) -> FixMessage:
    """An ExecutionReport (35=8) for ``order`` as it stands after the event ``exec_type`` (150)."""
    message = FixMessage("8")
    message.append(37, order.order_id).append(11, order.cl_ord_id).append(41, order.orig_cl_ord_id)
    message.append(790, status_req_id)
    message.append(17, exec_id).append(150, exec_type).append(39, order.status)
    if order.account is not None:
        message.append(1, order.account)
    message.append(55, order.symbol).append(54, order.side).append(38, plain(order.qty))
    message.append(40, order.ord_type)
    if order.price is not None:
        message.append(44, plain(order.price))
    if order.stop_px is not None:
        message.append(99, plain(order.stop_px))
    message.append(59, order.tif)
    if last_qty is not None and last_px is not None:
        message.append(32, plain(last_qty)).append(31, plain(last_px))
    message.append(151, plain(order.leaves_qty)).append(14, plain(order.cum_qty))
    message.append(6, plain(order.avg_px)).append(60, format_utc_timestamp(ts_ns))
    message.append(58, text)
    return message


def rejected_order_report(
    request: NewOrderRequest, exec_id: str, ts_ns: int, text: str, reason: str
) -> FixMessage:
    """35=8 150=8 39=8 for a NewOrderSingle the venue refused (no order is created: 37=NONE)."""
    message = FixMessage("8")
    message.append(37, "NONE").append(11, request.cl_ord_id).append(17, exec_id)
    message.append(150, "8").append(39, "8").append(103, reason)
    message.append(55, request.instrument.symbol or "").append(48, request.instrument.security_id)
    message.append(54, request.side).append(38, plain(request.qty)).append(40, request.ord_type)
    message.append(151, "0").append(14, "0").append(6, "0").append(60, format_utc_timestamp(ts_ns))
    message.append(58, text)
    return message


def cancel_reject(
    cl_ord_id: str,
    orig_cl_ord_id: str | None,
    order: VenueOrder | None,
    response_to: str,
    reason: str,
    text: str,
    ts_ns: int,
) -> FixMessage:
    """OrderCancelReject (35=9): 434=1 for a cancel, 2 for a replace; 102 = reason code; 58 = why."""
    message = FixMessage("9")
    message.append(37, order.order_id if order is not None else "NONE").append(11, cl_ord_id)
    message.append(41, orig_cl_ord_id or (order.cl_ord_id if order is not None else "NONE"))
    message.append(39, order.status if order is not None else "8")
    message.append(434, response_to).append(102, reason).append(60, format_utc_timestamp(ts_ns))
    message.append(58, text)
    return message


def mass_cancel_report(
    request: MassCancelRequest, report_id: str, response: str, affected: int, ts_ns: int, text: str | None
) -> FixMessage:
    """OrderMassCancelReport (35=r): 531 = the request type on success, 0 when rejected."""
    message = FixMessage("r")
    message.append(11, request.cl_ord_id).append(37, report_id).append(530, request.request_type)
    message.append(531, response)
    if response == "0":
        message.append(532, "0")
    message.append(533, str(affected))
    message.append(55, request.instrument.symbol).append(54, request.side)
    message.append(60, format_utc_timestamp(ts_ns)).append(58, text)
    return message


def business_reject(ref: FixMessage, reason: int, text: str) -> FixMessage:
    """BusinessMessageReject (35=j) for a message the venue cannot read: 45/372/379/380/58."""
    message = FixMessage("j")
    message.append(45, ref.get(34)).append(372, ref.msg_type).append(379, ref.get(11))
    message.append(380, str(reason)).append(58, text)
    return message
