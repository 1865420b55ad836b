"""Nautilus orders <-> FIX 4.4 application messages, venue-neutral and without I/O.

The execution clients (B3, CME) call the builders here to turn a Nautilus ``Order`` into NewOrderSingle
(35=D), OrderCancelRequest (F), OrderCancelReplaceRequest (G), OrderStatusRequest (H) or
OrderMassCancelRequest (q), and the parsers to turn ExecutionReport (8) and OrderCancelReject (9) into
frozen views with exact ``Decimal`` quantities and prices. What differs per venue (identification
tags, the Parties group, instrument identification, the price convention of DI1) comes from a
``FixVenueProfile``; this module never names a venue.

Event mapping (``report_to_event_kind``), ExecType (150) first because it says what *happened*;
OrdStatus (39) only decides between a partial and a complete fill and describes status responses:

====================  ===========================  ===========================================
ExecType (150)        EventKind                    Nautilus event the exec client generates
====================  ===========================  ===========================================
0 New                 ACCEPTED                     ``generate_order_accepted``
A/6/E Pending *       PENDING                      none (the order is in flight)
8 Rejected            REJECTED                     ``generate_order_rejected`` (reason = 58)
F Trade (1/2 legacy)  PARTIALLY_FILLED / FILLED    ``generate_order_filled`` (FILLED when 39=2
                                                   or LeavesQty=0)
4 Canceled            CANCELED                     ``generate_order_canceled``
5 Replaced            REPLACED                     ``generate_order_updated`` (41 = old ClOrdID)
C Expired             EXPIRED                      ``generate_order_expired``
L Triggered           TRIGGERED                    ``generate_order_triggered``
I Order status        STATUS                       an ``OrderStatusReport`` (reconciliation)
D Restated            RESTATED                     refresh from the report (status report)
3/7/9/B/G/H           UNHANDLED                    logged; the order is reconciled by status
====================  ===========================  ===========================================

OrderCancelReject (9) maps to CANCEL_REJECTED (434=1) or MODIFY_REJECTED (434=2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from enum import Enum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from nautilus_trader.model.enums import OrderSide, OrderType, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import Order

from macrofund.adapters.fix.message import FixFieldError, FixMessage
from macrofund.errors import MacrofundError

__all__ = [
    "CancelRejectView",
    "EventKind",
    "ExecKind",
    "ExecutionReportView",
    "FillAccumulator",
    "FixTranslationError",
    "FixVenueProfile",
    "IdentityPriceConvention",
    "OrderState",
    "PriceConvention",
    "ProfileFields",
    "check_order_supported",
    "expire_fields",
    "fix_side",
    "format_utc_timestamp",
    "nautilus_side",
    "new_order_single",
    "order_cancel_replace_request",
    "order_cancel_request",
    "order_mass_cancel_request",
    "order_status_request",
    "parse_cancel_reject",
    "parse_execution_report",
    "parse_utc_timestamp",
    "report_to_event_kind",
]

Field = tuple[int, str]

# Tags used here, named once.
ACCOUNT, AVG_PX, CL_ORD_ID, CUM_QTY, EXEC_ID, LAST_PX, LAST_QTY = 1, 6, 11, 14, 17, 31, 32
ORDER_ID, ORDER_QTY, ORD_STATUS, ORD_TYPE, ORIG_CL_ORD_ID, PRICE, SIDE, SYMBOL = (
    37,
    38,
    39,
    40,
    41,
    44,
    54,
    55,
)
TEXT, TIME_IN_FORCE, TRANSACT_TIME, STOP_PX, CXL_REJ_REASON, ORD_REJ_REASON = 58, 59, 60, 99, 102, 103
EXPIRE_TIME, EXEC_TYPE, LEAVES_QTY, EXPIRE_DATE, CXL_REJ_RESPONSE_TO = 126, 150, 151, 432, 434
MASS_CANCEL_REQUEST_TYPE, ORD_STATUS_REQ_ID, LAST_LIQUIDITY_IND = 530, 790, 851

_ORD_TYPES = {
    OrderType.MARKET: "1",
    OrderType.LIMIT: "2",
    OrderType.STOP_MARKET: "3",
    OrderType.STOP_LIMIT: "4",
}
_TIFS = {
    TimeInForce.DAY: "0",
    TimeInForce.GTC: "1",
    TimeInForce.IOC: "3",
    TimeInForce.FOK: "4",
    TimeInForce.GTD: "6",
}
_SIDES = {OrderSide.BUY: "1", OrderSide.SELL: "2"}
_SIDES_BACK = {"1": OrderSide.BUY, "2": OrderSide.SELL}


class FixTranslationError(MacrofundError):
    """An order cannot be expressed on this venue (unsupported type/TIF, missing price): says which."""


# --------------------------------------------------------------------------------------------------
# Venue profile: the seam between this module and b3/, cme/
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileFields:
    """Venue fields for one message, by where they go on the wire.

    ``header`` fields (SenderSubID 50, SenderLocationID 142, ...) are moved into the standard header
    by the codec; ``leading`` follow ClOrdID/OrigClOrdID/OrderID (Parties group 453, Account 1,
    HandlInst 21); ``trailing`` follow the order terms (OrderCapacity 528, CustOrderCapacity 582,
    ManualOrderIndicator 1028, Memo 5149, self-trade prevention, ...). Repeating groups are written as
    consecutive pairs starting with their NoXxx count, already in order.
    """

    header: tuple[Field, ...] = ()
    leading: tuple[Field, ...] = ()
    trailing: tuple[Field, ...] = ()


class PriceConvention(Protocol):
    """How an instrument's Nautilus side/price map to the venue's (identity except for DI1).

    DI1 trades in Nautilus as a unit price (PU) so P&L is right, but the venue quotes a rate: buying
    PU is selling the rate, and the price is converted on the trade date ``ts_ns`` falls on.
    """

    def side_to_wire(self, side: OrderSide) -> OrderSide: ...

    def side_from_wire(self, side: OrderSide) -> OrderSide: ...

    def price_to_wire(self, price: Decimal, side: OrderSide, ts_ns: int) -> Decimal:
        """The wire price for an order of Nautilus ``side`` (rounded to the venue tick, never better)."""
        ...

    def price_from_wire(self, price: Decimal, ts_ns: int) -> Decimal: ...


class IdentityPriceConvention:
    """The venue's side and price are Nautilus's own (every contract except DI1)."""

    def side_to_wire(self, side: OrderSide) -> OrderSide:
        return side

    def side_from_wire(self, side: OrderSide) -> OrderSide:
        return side

    def price_to_wire(self, price: Decimal, side: OrderSide, ts_ns: int) -> Decimal:
        return price

    def price_from_wire(self, price: Decimal, ts_ns: int) -> Decimal:
        return price


IDENTITY = IdentityPriceConvention()


class FixVenueProfile(Protocol):
    """What a venue profile (``B3EntryPointProfile``, ``CmeGatewayProfile``) gives the builders."""

    @property
    def venue_timezone(self) -> str:
        """IANA zone whose local date is the venue's ExpireDate (432) and trade date."""
        ...

    def fields_for(self, msg_type: str) -> ProfileFields:
        """The venue's identification fields for ``msg_type`` (D, F, G, H, q)."""
        ...

    def instrument_fields(self, instrument_id: InstrumentId) -> tuple[Field, ...]:
        """Instrument block: Symbol 55 / SecurityID 48 / SecurityIDSource 22 / SecurityExchange 207."""
        ...

    def price_convention(self, instrument_id: InstrumentId) -> PriceConvention:
        """``IDENTITY`` unless the venue quotes the instrument differently (DI1)."""
        ...

    def check_supported(self, order_type: OrderType, time_in_force: TimeInForce) -> None:
        """Raise ``FixTranslationError`` if the venue does not accept this order type and TIF."""
        ...

    def expire_fields(self, expire_time_ns: int) -> tuple[Field, ...]:
        """ExpireDate (432) and/or ExpireTime (126) for a GTD order expiring at ``expire_time_ns``."""
        ...


GtdExpiry = Literal["date", "time", "both"]


def expire_fields(expire_time_ns: int, timezone: str, mode: GtdExpiry) -> tuple[Field, ...]:
    """GTD expiry on the wire: ExpireDate (432, the venue-local date) and/or ExpireTime (126, UTC)."""
    fields: list[Field] = []
    if mode in ("date", "both"):
        fields.append((EXPIRE_DATE, f"{local_date(expire_time_ns, timezone):%Y%m%d}"))
    if mode in ("time", "both"):
        fields.append((EXPIRE_TIME, format_utc_timestamp(expire_time_ns)))
    return tuple(fields)


#: Order types and TIFs the builders can express; a profile narrows them in config.
ORDER_TYPE_NAMES = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP_MARKET,
                    "stop_limit": OrderType.STOP_LIMIT}  # fmt: skip
TIME_IN_FORCE_NAMES = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC,
                       "fok": TimeInForce.FOK, "gtd": TimeInForce.GTD}  # fmt: skip
_RESTING_TIFS = frozenset({TimeInForce.GTC, TimeInForce.GTD})


def check_order_supported(
    venue: str,
    order_types: Sequence[str],
    time_in_force: Sequence[str],
    order_type: OrderType,
    tif: TimeInForce,
) -> None:
    """``FixTranslationError`` unless the venue's configured order types and TIFs include these.

    A market order never rests, so it is refused with GTC/GTD whatever the config says.
    """
    allowed_types = {ORDER_TYPE_NAMES[name] for name in order_types}
    allowed_tifs = {TIME_IN_FORCE_NAMES[name] for name in time_in_force}
    if order_type not in allowed_types:
        raise FixTranslationError(
            f"{venue}: order type {order_type.name} is not accepted (configured: {', '.join(order_types)})"
        )
    if tif not in allowed_tifs:
        raise FixTranslationError(
            f"{venue}: time in force {tif.name} is not accepted (configured: {', '.join(time_in_force)})"
        )
    if order_type == OrderType.MARKET and tif in _RESTING_TIFS:
        raise FixTranslationError(f"{venue}: a MARKET order cannot be {tif.name} (it never rests)")


# --------------------------------------------------------------------------------------------------
# Small conversions
# --------------------------------------------------------------------------------------------------


def fix_side(side: OrderSide) -> str:
    """Nautilus ``OrderSide`` -> FIX Side (54): BUY -> "1", SELL -> "2"."""
    try:
        return _SIDES[side]
    except KeyError:
        raise FixTranslationError(f"order side {side!r} cannot be sent (BUY or SELL only)") from None


def nautilus_side(value: str) -> OrderSide:
    """FIX Side (54) -> Nautilus ``OrderSide``; ``FixFieldError`` for anything but 1/2."""
    try:
        return _SIDES_BACK[value]
    except KeyError:
        raise FixFieldError(f"tag 54={value!r} is not a supported Side (1=Buy, 2=Sell)") from None


def plain(value: Decimal) -> str:
    """A Decimal as FIX float text: plain notation, no exponent (``1E+2`` -> ``100``)."""
    text = format(value, "f")
    return text


def format_utc_timestamp(ts_ns: int) -> str:
    """UTC nanoseconds -> FIX 4.4 UTCTimestamp with milliseconds, ``YYYYMMDD-HH:MM:SS.sss``."""
    seconds, rem = divmod(ts_ns, 1_000_000_000)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return f"{moment:%Y%m%d-%H:%M:%S}.{rem // 1_000_000:03d}"


# Epoch seconds of "YYYYMMDD-HH:MM" minutes already parsed: every ExecutionReport carries a
# TransactTime, and strptime per report cost more than the rest of the timestamp work.
_MINUTES: dict[str, int] = {}
_DIGITS = frozenset("0123456789")


def parse_utc_timestamp(value: str, tag: int = TRANSACT_TIME) -> int:
    """FIX UTCTimestamp (seconds to nanoseconds precision) -> UTC nanoseconds, exactly."""
    try:
        main, _, fraction = value.partition(".")
        if len(main) != 17 or main[14] != ":" or not _DIGITS.issuperset(main[15:]) or main[15:] > "59":
            raise ValueError(main)
        minute = _MINUTES.get(main[:14])
        if minute is None:
            moment = datetime.strptime(main[:14], "%Y%m%d-%H:%M").replace(tzinfo=UTC)
            delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
            minute = delta.days * 86_400 + delta.seconds
            if len(_MINUTES) >= 4096:
                _MINUTES.clear()
            _MINUTES[main[:14]] = minute
        if fraction and (not _DIGITS.issuperset(fraction) or len(fraction) > 9):
            raise ValueError(fraction)
        nanos = int(fraction.ljust(9, "0")) if fraction else 0
    except ValueError:
        raise FixFieldError(f"tag {tag}={value!r} is not a UTCTimestamp (YYYYMMDD-HH:MM:SS[.fff])") from None
    return (minute + int(main[15:])) * 1_000_000_000 + nanos


def local_date(ts_ns: int, timezone: str) -> date:
    """The wall-clock date at ``ts_ns`` in ``timezone`` (ExpireDate, trade date)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_ns // 1_000)
    return moment.astimezone(ZoneInfo(timezone)).date()


def _decimal(value: object) -> Decimal:
    # str() of a Nautilus Price/Quantity keeps its precision ("6010.00"; as_decimal() gives "6010"),
    # so the wire shows the instrument's decimals; the value is exact either way.
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


# --------------------------------------------------------------------------------------------------
# Builders: Nautilus -> FIX
# --------------------------------------------------------------------------------------------------


def _start(msg_type: str, profile: FixVenueProfile, ids: Sequence[tuple[int, str | None]]) -> FixMessage:
    fields = profile.fields_for(msg_type)
    message = FixMessage(msg_type)
    message.extend(fields.header)
    for tag, value in ids:
        message.append(tag, value)
    message.extend(fields.leading)
    return message


def _order_terms(
    message: FixMessage,
    profile: FixVenueProfile,
    order: Order,
    ts_ns: int,
    quantity: Decimal,
    price: Decimal | None,
    trigger_price: Decimal | None,
) -> None:
    """Instrument, Side, TransactTime, OrderQty, OrdType, Price, StopPx, TIF, expiry (D and G)."""
    order_type, tif = order.order_type, order.time_in_force
    profile.check_supported(order_type, tif)
    ord_type = _ORD_TYPES.get(order_type)
    tif_code = _TIFS.get(tif)
    if ord_type is None or tif_code is None:  # pragma: no cover - check_supported refuses these first
        raise FixTranslationError(f"{order.client_order_id}: {order_type!r}/{tif!r} has no FIX 4.4 mapping")
    convention = profile.price_convention(order.instrument_id)
    message.extend(profile.instrument_fields(order.instrument_id))
    message.append(SIDE, fix_side(convention.side_to_wire(order.side)))
    message.append(TRANSACT_TIME, format_utc_timestamp(ts_ns))
    message.append(ORDER_QTY, plain(quantity))
    message.append(ORD_TYPE, ord_type)
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        if price is None:
            raise FixTranslationError(f"{order.client_order_id}: a {order_type.name} order needs a price")
        message.append(PRICE, plain(convention.price_to_wire(price, order.side, ts_ns)))
    if order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        if trigger_price is None:
            raise FixTranslationError(f"{order.client_order_id}: a {order_type.name} order needs a trigger")
        message.append(STOP_PX, plain(convention.price_to_wire(trigger_price, order.side, ts_ns)))
    message.append(TIME_IN_FORCE, tif_code)
    if tif == TimeInForce.GTD:
        expire_ns = getattr(order, "expire_time_ns", 0) or 0
        if expire_ns <= 0:
            raise FixTranslationError(f"{order.client_order_id}: a GTD order needs an expire time")
        message.extend(profile.expire_fields(expire_ns))


def _price_of(order: Order) -> Decimal | None:
    return _decimal(order.price) if order.has_price else None


def _trigger_of(order: Order) -> Decimal | None:
    return _decimal(order.trigger_price) if order.has_trigger_price else None


def new_order_single(order: Order, profile: FixVenueProfile, ts_ns: int) -> FixMessage:
    """NewOrderSingle (35=D) for ``order``; ClOrdID (11) is the Nautilus ``ClientOrderId``.

    ``ts_ns`` is TransactTime (60) and, for DI1, fixes the trade date of the rate conversion.
    """
    message = _start("D", profile, [(CL_ORD_ID, order.client_order_id.value)])
    _order_terms(
        message, profile, order, ts_ns, _decimal(order.quantity), _price_of(order), _trigger_of(order)
    )
    message.extend(profile.fields_for("D").trailing)
    return message


def order_cancel_request(
    order: Order,
    profile: FixVenueProfile,
    request_cl_ord_id: str,
    ts_ns: int,
    orig_cl_ord_id: str | None = None,
) -> FixMessage:
    """OrderCancelRequest (35=F).

    ``request_cl_ord_id`` becomes ClOrdID (11): venues demand a fresh id per request and
    certification scripts dictate it, so the caller chooses it and keeps the request -> order map.
    ``orig_cl_ord_id`` (41) defaults to the order's ``ClientOrderId``; after a replace it must be the
    ClOrdID of the last accepted replace, which the exec client tracks.
    """
    convention = profile.price_convention(order.instrument_id)
    message = _start(
        "F",
        profile,
        [
            (ORIG_CL_ORD_ID, orig_cl_ord_id or order.client_order_id.value),
            (ORDER_ID, order.venue_order_id.value if order.venue_order_id is not None else None),
            (CL_ORD_ID, request_cl_ord_id),
        ],
    )
    message.extend(profile.instrument_fields(order.instrument_id))
    message.append(SIDE, fix_side(convention.side_to_wire(order.side)))
    message.append(TRANSACT_TIME, format_utc_timestamp(ts_ns))
    message.append(ORDER_QTY, plain(_decimal(order.quantity)))
    message.extend(profile.fields_for("F").trailing)
    return message


def order_cancel_replace_request(
    order: Order,
    profile: FixVenueProfile,
    request_cl_ord_id: str,
    ts_ns: int,
    quantity: object | None = None,
    price: object | None = None,
    trigger_price: object | None = None,
    orig_cl_ord_id: str | None = None,
) -> FixMessage:
    """OrderCancelReplaceRequest (35=G): the order's full new terms (unchanged ones repeated).

    ``quantity``/``price``/``trigger_price`` are the ``ModifyOrder`` values (Nautilus value types or
    ``Decimal``); ``None`` keeps the order's current one. ClOrdID rules as for ``order_cancel_request``.
    """
    message = _start(
        "G",
        profile,
        [
            (ORIG_CL_ORD_ID, orig_cl_ord_id or order.client_order_id.value),
            (ORDER_ID, order.venue_order_id.value if order.venue_order_id is not None else None),
            (CL_ORD_ID, request_cl_ord_id),
        ],
    )
    _order_terms(
        message,
        profile,
        order,
        ts_ns,
        _decimal(quantity) if quantity is not None else _decimal(order.quantity),
        _decimal(price) if price is not None else _price_of(order),
        _decimal(trigger_price) if trigger_price is not None else _trigger_of(order),
    )
    message.extend(profile.fields_for("G").trailing)
    return message


def order_status_request(
    order: Order,
    profile: FixVenueProfile,
    cl_ord_id: str | None = None,
    status_request_id: str | None = None,
) -> FixMessage:
    """OrderStatusRequest (35=H) for ``order`` (ClOrdID = ``cl_ord_id`` or its ClientOrderId).

    ``status_request_id`` (790) lets the caller match the answer (ExecType I) to this request.
    """
    convention = profile.price_convention(order.instrument_id)
    message = _start(
        "H",
        profile,
        [
            (ORDER_ID, order.venue_order_id.value if order.venue_order_id is not None else None),
            (CL_ORD_ID, cl_ord_id or order.client_order_id.value),
            (ORD_STATUS_REQ_ID, status_request_id),
        ],
    )
    message.extend(profile.instrument_fields(order.instrument_id))
    message.append(SIDE, fix_side(convention.side_to_wire(order.side)))
    message.extend(profile.fields_for("H").trailing)
    return message


def order_mass_cancel_request(
    profile: FixVenueProfile,
    request_cl_ord_id: str,
    ts_ns: int,
    instrument_id: InstrumentId | None = None,
    side: OrderSide | None = None,
) -> FixMessage:
    """OrderMassCancelRequest (35=q): every working order (530=7) or those of one instrument (530=1).

    ``side`` narrows it to one Nautilus side (mapped through the instrument's price convention, so
    "cancel my DI1 PU buys" cancels the rate sells). Used by the kill switch.
    """
    message = _start(
        "q",
        profile,
        [(CL_ORD_ID, request_cl_ord_id), (MASS_CANCEL_REQUEST_TYPE, "7" if instrument_id is None else "1")],
    )
    if instrument_id is not None:
        message.extend(profile.instrument_fields(instrument_id))
    if side is not None:
        convention = profile.price_convention(instrument_id) if instrument_id is not None else IDENTITY
        message.append(SIDE, fix_side(convention.side_to_wire(side)))
    message.append(TRANSACT_TIME, format_utc_timestamp(ts_ns))
    message.extend(profile.fields_for("q").trailing)
    return message


# --------------------------------------------------------------------------------------------------
# Parsers: FIX -> neutral views
# --------------------------------------------------------------------------------------------------


class ExecKind(Enum):
    """ExecType (150), FIX 4.4 plus the legacy 1/2 and the FIX 5.0 Triggered (L) venues still send."""

    NEW = "0"
    PARTIAL_FILL = "1"
    FILL = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    STOPPED = "7"
    REJECTED = "8"
    SUSPENDED = "9"
    PENDING_NEW = "A"
    CALCULATED = "B"
    EXPIRED = "C"
    RESTATED = "D"
    PENDING_REPLACE = "E"
    TRADE = "F"
    TRADE_CORRECT = "G"
    TRADE_CANCEL = "H"
    ORDER_STATUS = "I"
    TRIGGERED = "L"


class OrderState(Enum):
    """OrdStatus (39)."""

    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    STOPPED = "7"
    REJECTED = "8"
    SUSPENDED = "9"
    PENDING_NEW = "A"
    CALCULATED = "B"
    EXPIRED = "C"
    ACCEPTED_FOR_BIDDING = "D"
    PENDING_REPLACE = "E"


class EventKind(Enum):
    """What the exec client turns a report into (see the module docstring for the table)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REPLACED = "replaced"
    EXPIRED = "expired"
    PENDING = "pending"
    TRIGGERED = "triggered"
    STATUS = "status"
    RESTATED = "restated"
    CANCEL_REJECTED = "cancel_rejected"
    MODIFY_REJECTED = "modify_rejected"
    UNHANDLED = "unhandled"


_TRADE_KINDS = frozenset({ExecKind.TRADE, ExecKind.PARTIAL_FILL, ExecKind.FILL})


@dataclass(frozen=True)
class ExecutionReportView:
    """An ExecutionReport (35=8) read into exact types, values as the venue sent them (wire side/price).

    Convert side and prices to Nautilus terms with the instrument's ``PriceConvention`` (identity for
    all but DI1). ``trade_id`` is ExecID (17), the key the session layer de-duplicates on.
    """

    cl_ord_id: str | None
    orig_cl_ord_id: str | None
    order_id: str
    exec_id: str
    exec_kind: ExecKind
    order_state: OrderState
    side: OrderSide
    symbol: str | None
    security_id: str | None
    order_qty: Decimal | None
    price: Decimal | None
    stop_px: Decimal | None
    last_qty: Decimal | None
    last_px: Decimal | None
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal | None
    text: str | None
    ord_rej_reason: str | None
    transact_time_ns: int | None
    last_liquidity_ind: str | None

    @property
    def is_trade(self) -> bool:
        """Whether the report carries a fill (LastQty/LastPx)."""
        return self.exec_kind in _TRADE_KINDS


@dataclass(frozen=True)
class CancelRejectView:
    """An OrderCancelReject (35=9): which request failed and the venue's reason."""

    cl_ord_id: str
    orig_cl_ord_id: str | None
    order_id: str | None
    order_state: OrderState | None
    response_to: str  # 434: "1" cancel request, "2" cancel/replace request
    cxl_rej_reason: str | None
    text: str | None
    transact_time_ns: int | None

    @property
    def reason(self) -> str:
        """One line for ``OrderCancelRejected``/``OrderModifyRejected``: venue text, else the code."""
        parts = [
            p
            for p in (self.text, f"CxlRejReason={self.cxl_rej_reason}" if self.cxl_rej_reason else None)
            if p
        ]
        return "; ".join(parts) or "rejected by venue (no reason given)"


def _enum(message: FixMessage, tag: int, kind: type[Enum], required: bool = True) -> Enum | None:
    value = message.require(tag) if required else message.get(tag)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise FixFieldError(
            f"35={message.msg_type}: tag {tag}={value!r} is not a valid {kind.__name__}"
        ) from None


def _non_negative(message: FixMessage, tag: int, required: bool) -> Decimal | None:
    value = message.decimal(tag)
    if value is None:
        if required:
            raise FixFieldError(f"35={message.msg_type}: required tag {tag} is missing")
        return None
    if value < 0:
        raise FixFieldError(f"35={message.msg_type}: tag {tag}={value} must not be negative")
    return value


def parse_execution_report(message: FixMessage) -> ExecutionReportView:
    """Read an ExecutionReport; ``FixFieldError`` naming the tag for anything missing or malformed.

    Checks what a fill's accounting relies on: quantities are non-negative numbers, a trade has a
    positive LastQty and a LastPx, and CumQty never exceeds OrderQty.
    """
    if message.msg_type != "8":
        raise FixFieldError(f"35={message.msg_type}: not an ExecutionReport (35=8)")
    exec_kind = _enum(message, EXEC_TYPE, ExecKind)
    order_state = _enum(message, ORD_STATUS, OrderState)
    assert isinstance(exec_kind, ExecKind) and isinstance(order_state, OrderState)
    cum_qty = _non_negative(message, CUM_QTY, required=True)
    leaves_qty = _non_negative(message, LEAVES_QTY, required=True)
    assert cum_qty is not None and leaves_qty is not None
    order_qty = _non_negative(message, ORDER_QTY, required=False)
    is_trade = exec_kind in _TRADE_KINDS
    last_qty = _non_negative(message, LAST_QTY, required=is_trade)
    last_px = message.decimal(LAST_PX)
    if is_trade:
        assert last_qty is not None
        if last_qty == 0:
            raise FixFieldError(f"35=8: tag {LAST_QTY}=0 on a trade (150={exec_kind.value})")
        if last_px is None:
            raise FixFieldError(f"35=8: required tag {LAST_PX} is missing on a trade (150={exec_kind.value})")
    if order_qty is not None and cum_qty > order_qty:
        raise FixFieldError(f"35=8: tag {CUM_QTY}={cum_qty} exceeds tag {ORDER_QTY}={order_qty}")
    transact = message.get(TRANSACT_TIME)
    return ExecutionReportView(
        cl_ord_id=message.get(CL_ORD_ID),
        orig_cl_ord_id=message.get(ORIG_CL_ORD_ID),
        order_id=message.require(ORDER_ID),
        exec_id=message.require(EXEC_ID),
        exec_kind=exec_kind,
        order_state=order_state,
        side=nautilus_side(message.require(SIDE)),
        symbol=message.get(SYMBOL),
        security_id=message.get(48),
        order_qty=order_qty,
        price=message.decimal(PRICE),
        stop_px=message.decimal(STOP_PX),
        last_qty=last_qty,
        last_px=last_px,
        cum_qty=cum_qty,
        leaves_qty=leaves_qty,
        avg_px=message.decimal(AVG_PX),
        text=message.get(TEXT),
        ord_rej_reason=message.get(ORD_REJ_REASON),
        transact_time_ns=parse_utc_timestamp(transact) if transact else None,
        last_liquidity_ind=message.get(LAST_LIQUIDITY_IND),
    )


def parse_cancel_reject(message: FixMessage) -> CancelRejectView:
    """Read an OrderCancelReject (35=9); ``FixFieldError`` naming the tag when malformed."""
    if message.msg_type != "9":
        raise FixFieldError(f"35={message.msg_type}: not an OrderCancelReject (35=9)")
    response_to = message.require(CXL_REJ_RESPONSE_TO)
    if response_to not in ("1", "2"):
        raise FixFieldError(
            f"35=9: tag {CXL_REJ_RESPONSE_TO}={response_to!r} is not 1 (cancel) or 2 (replace)"
        )
    state = _enum(message, ORD_STATUS, OrderState, required=False)
    order_id = message.get(ORDER_ID)
    transact = message.get(TRANSACT_TIME)
    return CancelRejectView(
        cl_ord_id=message.require(CL_ORD_ID),
        orig_cl_ord_id=message.get(ORIG_CL_ORD_ID),
        # FIX 4.4 makes 37 required and allows "NONE" for an unknown order: normalise to None.
        order_id=None if order_id in (None, "", "NONE") else order_id,
        order_state=state if isinstance(state, OrderState) else None,
        response_to=response_to,
        cxl_rej_reason=message.get(CXL_REJ_REASON),
        text=message.get(TEXT),
        transact_time_ns=parse_utc_timestamp(transact) if transact else None,
    )


def report_to_event_kind(report: ExecutionReportView | CancelRejectView) -> EventKind:
    """The Nautilus event kind a report stands for (table in the module docstring)."""
    if isinstance(report, CancelRejectView):
        return EventKind.CANCEL_REJECTED if report.response_to == "1" else EventKind.MODIFY_REJECTED
    kind = report.exec_kind
    if report.is_trade:
        if report.order_state == OrderState.FILLED or report.leaves_qty == 0:
            return EventKind.FILLED
        return EventKind.PARTIALLY_FILLED
    return _EVENT_BY_EXEC_KIND.get(kind, EventKind.UNHANDLED)


_EVENT_BY_EXEC_KIND = {
    ExecKind.NEW: EventKind.ACCEPTED,
    ExecKind.PENDING_NEW: EventKind.PENDING,
    ExecKind.PENDING_CANCEL: EventKind.PENDING,
    ExecKind.PENDING_REPLACE: EventKind.PENDING,
    ExecKind.REJECTED: EventKind.REJECTED,
    ExecKind.CANCELED: EventKind.CANCELED,
    ExecKind.REPLACED: EventKind.REPLACED,
    ExecKind.EXPIRED: EventKind.EXPIRED,
    ExecKind.TRIGGERED: EventKind.TRIGGERED,
    ExecKind.ORDER_STATUS: EventKind.STATUS,
    ExecKind.RESTATED: EventKind.RESTATED,
}


# --------------------------------------------------------------------------------------------------
# Fill accounting
# --------------------------------------------------------------------------------------------------

_AVG_PLACES = Decimal(1).scaleb(-12)


class FillAccumulator:
    """Our own cumulative quantity and average price of one order, checked against the venue's.

    Nautilus needs ``avg_px`` on a FILLED order status report; venues round AvgPx (6) or omit it, so
    the exec client keeps the exact figure here: ``avg_px = sum(last_px * last_qty) / cum_qty``,
    rounded to 12 decimal places only at the division. A fill whose CumQty (14) disagrees with our
    running sum means a fill was missed or duplicated: ``apply`` raises ``FixFieldError`` so the
    caller reconciles by status instead of booking a wrong position.
    """

    def __init__(self, order_qty: Decimal) -> None:
        self.order_qty = order_qty
        self.cum_qty = Decimal(0)
        self._notional = Decimal(0)
        self._exec_ids: set[str] = set()

    @property
    def leaves_qty(self) -> Decimal:
        return self.order_qty - self.cum_qty

    @property
    def avg_px(self) -> Decimal | None:
        """Exact average fill price (``None`` before the first fill)."""
        if self.cum_qty == 0:
            return None
        with localcontext() as ctx:
            ctx.prec = 60
            return (self._notional / self.cum_qty).quantize(_AVG_PLACES).normalize()

    def apply(self, report: ExecutionReportView, last_px: Decimal | None = None) -> bool:
        """Book a trade report; ``False`` for a duplicate ExecID or a non-trade report.

        ``last_px`` overrides the wire LastPx with the Nautilus price (DI1: the PU of the traded rate,
        so the average is an average of PUs, not the PU of an average rate).
        """
        if not report.is_trade or report.exec_id in self._exec_ids:
            return False
        assert report.last_qty is not None and report.last_px is not None
        price = report.last_px if last_px is None else last_px
        cum = self.cum_qty + report.last_qty
        if cum != report.cum_qty:
            raise FixFieldError(
                f"35=8 ExecID {report.exec_id}: tag {CUM_QTY}={report.cum_qty} but the fills received sum "
                f"to {cum}"
            )
        if cum > self.order_qty:
            raise FixFieldError(
                f"35=8 ExecID {report.exec_id}: fills {cum} exceed the order quantity {self.order_qty}"
            )
        try:
            self._notional += price * report.last_qty
        except InvalidOperation:  # pragma: no cover - finite Decimals only reach here
            raise FixFieldError(f"35=8 ExecID {report.exec_id}: tag {LAST_PX} is not usable") from None
        self.cum_qty = cum
        self._exec_ids.add(report.exec_id)
        return True
