"""Venue answers -> Nautilus reconciliation reports, without I/O.

At start-up Nautilus asks the execution client what the venue thinks of every order
(``generate_mass_status``). A FIX 4.4 order-entry session answers that with OrderStatusRequests (35=H):
one ExecutionReport with ExecType I per order. This module turns such an answer into an
``OrderStatusReport`` (prices and sides in Nautilus terms: DI1 rates become PUs again). Nautilus then
compares it with its cache: a CumQty above the cached filled quantity yields an inferred fill (a fill
that happened while we were away is recovered), a terminal status closes the order. Nothing here ever
sends an order: ClOrdID is the idempotency key, and a report only *describes* an order.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from nautilus_trader.model.identifiers import AccountId, ClientOrderId, VenueOrderId
from nautilus_trader.model.instruments import Instrument

from macrofund.adapters.fix.translate import ExecKind, ExecutionReportView, OrderState, PriceConvention

__all__ = ["WIRE_ORDER_TYPES", "WIRE_TIME_IN_FORCE", "order_status", "order_status_report", "seeded_view"]

#: OrdType (40) and TimeInForce (59) of an order we did not send (reported as external).
WIRE_ORDER_TYPES = {
    "1": OrderType.MARKET,
    "2": OrderType.LIMIT,
    "3": OrderType.STOP_MARKET,
    "4": OrderType.STOP_LIMIT,
}
WIRE_TIME_IN_FORCE = {
    "0": TimeInForce.DAY,
    "1": TimeInForce.GTC,
    "3": TimeInForce.IOC,
    "4": TimeInForce.FOK,
    "6": TimeInForce.GTD,
}

_STATUS_BY_STATE = {
    OrderState.NEW: OrderStatus.ACCEPTED,
    OrderState.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    OrderState.FILLED: OrderStatus.FILLED,
    OrderState.CANCELED: OrderStatus.CANCELED,
    OrderState.PENDING_CANCEL: OrderStatus.PENDING_CANCEL,
    OrderState.REJECTED: OrderStatus.REJECTED,
    OrderState.EXPIRED: OrderStatus.EXPIRED,
    # Done for day: the venue will not fill it again today; for a DAY order that is its end.
    OrderState.DONE_FOR_DAY: OrderStatus.EXPIRED,
    OrderState.PENDING_NEW: OrderStatus.SUBMITTED,
    OrderState.PENDING_REPLACE: OrderStatus.PENDING_UPDATE,
}


def order_status(view: ExecutionReportView) -> OrderStatus:
    """The Nautilus ``OrderStatus`` of an order the venue describes (working states by CumQty)."""
    status = _STATUS_BY_STATE.get(view.order_state)
    if status is None:  # replaced, stopped, suspended, calculated, accepted for bidding: still working
        status = OrderStatus.ACCEPTED
    if status == OrderStatus.ACCEPTED and view.cum_qty > 0:
        status = OrderStatus.PARTIALLY_FILLED
    return status


def order_status_report(
    view: ExecutionReportView,
    *,
    account_id: AccountId,
    instrument: Instrument,
    convention: PriceConvention,
    client_order_id: ClientOrderId | None,
    order_type: OrderType,
    time_in_force: TimeInForce,
    avg_px: Decimal | None,
    ts_init: int,
) -> OrderStatusReport:
    """An ``OrderStatusReport`` for the order ``view`` describes (``client_order_id`` None: external).

    ``order_type``/``time_in_force`` come from our own order when we know it (a status answer need
    not repeat them); ``avg_px`` is our exact average when we hold every fill, else the venue's AvgPx
    converted (Nautilus needs an average on any filled quantity).
    """
    ts = view.transact_time_ns or ts_init
    quantity = view.order_qty if view.order_qty is not None else view.cum_qty + view.leaves_qty
    if avg_px is None and view.avg_px is not None and view.cum_qty > 0:
        avg_px = convention.price_from_wire(view.avg_px, ts)
    price = instrument.make_price(convention.price_from_wire(view.price, ts)) if view.price else None
    trigger = instrument.make_price(convention.price_from_wire(view.stop_px, ts)) if view.stop_px else None
    return OrderStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(view.order_id),
        order_side=convention.side_from_wire(view.side),
        order_type=order_type,
        time_in_force=time_in_force,
        order_status=order_status(view),
        quantity=instrument.make_qty(quantity),
        filled_qty=instrument.make_qty(view.cum_qty),
        report_id=UUID4(),
        ts_accepted=ts,
        ts_last=ts,
        ts_init=ts_init,
        client_order_id=client_order_id,
        price=price,
        trigger_price=trigger,
        avg_px=avg_px if view.cum_qty > 0 else None,
        cancel_reason=view.text if view.order_state == OrderState.CANCELED else None,
    )


def seeded_view(order_id: str, filled: Decimal, avg_px: Decimal) -> ExecutionReportView:
    """A synthetic trade report of ``filled`` at ``avg_px``: seeds a ``FillAccumulator`` after a restart.

    The accumulator checks every later CumQty against its running sum, so an order that was already
    partly filled before a restart must start from what the cache holds, not from zero.
    """
    return ExecutionReportView(
        cl_ord_id=None,
        orig_cl_ord_id=None,
        order_id=order_id,
        exec_id=f"seed-{order_id}",
        exec_kind=ExecKind.TRADE,
        order_state=OrderState.PARTIALLY_FILLED,
        side=OrderSide.BUY,  # not used by the accumulator
        symbol=None,
        security_id=None,
        order_qty=None,
        price=None,
        stop_px=None,
        last_qty=filled,
        last_px=avg_px,
        cum_qty=filled,
        leaves_qty=Decimal(0),
        avg_px=avg_px,
        text=None,
        ord_rej_reason=None,
        transact_time_ns=None,
        last_liquidity_ind=None,
    )
