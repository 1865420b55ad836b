"""Orders a killed live node sent that our records never got: found in the FIX session's own store.

The persistence component commits within ``storage.flush_interval``, so an order sent in the last
instant before a kill can be at the venue and missing from PostgreSQL. The FIX session store keeps
every message we sent (it is written before the socket, for ResendRequests), so it is the complete
list of what the venue can have from us. A restarted session compares the NewOrderSingles sent since
the run started with the orders the database knows; each one it does not know is put into the cache
as a SUBMITTED order tagged ``UNRECORDED`` (its ``OrderInitialized`` and ``OrderSubmitted`` are
published, so the audit trail and the database record it), and start-up reconciliation then asks the
venue about it like any other: working, filled (the fill is inferred and booked), cancelled, or
unknown at the venue (rejected). It is never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import ContingencyType, OrderType, TimeInForce, TriggerType
from nautilus_trader.model.events import OrderInitialized, OrderSubmitted
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TraderId,
)
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order
from nautilus_trader.model.orders.unpacker import OrderUnpacker

from macrofund.adapters.fix.codec import decode
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.reconciliation import WIRE_ORDER_TYPES, WIRE_TIME_IN_FORCE
from macrofund.adapters.fix.store import SessionStore
from macrofund.adapters.fix.translate import FixVenueProfile, nautilus_side, parse_utc_timestamp
from macrofund.storage.pool import connection, run_sync

# Sent this long before the run's recorded start still counts as the run's (clock skew to the DB).
_START_SLACK_NS = 1_000_000_000


@dataclass(frozen=True)
class SentOrder:
    """A NewOrderSingle from the session store: the venue, the message and the profile to read it."""

    venue: str
    account_id: str
    message: FixMessage
    profile: FixVenueProfile
    sent_ns: int


async def _recorded(dsn: str, run_id: str) -> tuple[set[str], int]:
    async with connection(dsn) as conn:
        started: datetime = await conn.fetchval("select started_at from runs where run_id = $1", run_id)
        ids = await conn.fetch("select client_order_id from orders where run_id = $1", run_id)
    return {r["client_order_id"] for r in ids}, int(started.timestamp() * 1e9)


async def _sent_messages(store: SessionStore) -> list[bytes]:
    state = await store.open()
    try:
        return [raw for _, raw in await store.get_outbound(1, state.next_sender_seq - 1)]
    finally:
        await store.close()


def find_unrecorded(exec_configs: dict[str, Any], dsn: str, run_id: str) -> list[SentOrder]:
    """NewOrderSingles sent since ``run_id`` started whose ClOrdID the database does not hold.

    ``exec_configs`` are the FIX execution client configs by venue (their session store and profile).
    """
    recorded, started_ns = run_sync(lambda: _recorded(dsn, run_id))
    found: list[SentOrder] = []
    for venue, exec_config in exec_configs.items():
        profile = exec_config.venue_profile()
        store = exec_config.session_config().build_store()
        for raw in run_sync(lambda store=store: _sent_messages(store)):  # type: ignore[misc]
            message = decode(raw)
            if message.msg_type != "D" or message.get(11) in recorded:
                continue
            sent_ns = parse_utc_timestamp(message.get(52) or "", 52)
            if sent_ns >= started_ns - _START_SLACK_NS:
                account_id = exec_config.account_id or f"{venue}-001"
                found.append(SentOrder(venue, account_id, message, profile, sent_ns))
    return found


def _instrument_of(sent: SentOrder, instruments: dict[str, Instrument]) -> Instrument | None:
    for instrument in instruments.values():
        if instrument.id.venue.value != sent.venue:
            continue
        fields = sent.profile.instrument_fields(instrument.id)
        if all(sent.message.get(tag) == value for tag, value in fields):
            return instrument
    return None


def _placeholder(
    sent: SentOrder, instrument: Instrument, strategy_id: StrategyId, trader_id: TraderId, now: int
) -> tuple[OrderInitialized, Order] | None:
    """The order as the NewOrderSingle describes it (wire side/prices back to Nautilus terms)."""
    message = sent.message
    order_type = WIRE_ORDER_TYPES.get(message.get(40) or "")
    time_in_force = WIRE_TIME_IN_FORCE.get(message.get(59) or "")
    if order_type is None or time_in_force is None:
        return None
    convention = sent.profile.price_convention(instrument.id)
    options: dict[str, object] = {"expire_time_ns": 0}
    if time_in_force == TimeInForce.GTD:
        if message.get(126) is None:
            return None  # expire date (432) only: the placeholder cannot carry it
        options["expire_time_ns"] = parse_utc_timestamp(message.get(126) or "", 126)
    for tag, key in ((44, "price"), (99, "trigger_price")):
        if message.get(tag) is not None:
            price = convention.price_from_wire(Decimal(message.get(tag) or ""), sent.sent_ns)
            options[key] = str(instrument.make_price(price))
    if order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        options["trigger_type"] = "DEFAULT"
    side = convention.side_from_wire(nautilus_side(message.get(54) or ""))
    init = OrderInitialized(
        trader_id, strategy_id, instrument.id, ClientOrderId(message.get(11) or ""), side, order_type,
        instrument.make_qty(Decimal(message.get(38) or "")), time_in_force, False, False, False, options,
        TriggerType.NO_TRIGGER, None, ContingencyType.NO_CONTINGENCY, None, None, None, None, None, None,
        ["UNRECORDED"], UUID4(), now,
    )  # fmt: skip
    return init, OrderUnpacker.from_init(init)


def recover_unrecorded(
    node: Any, instruments: dict[str, Instrument], sent_orders: list[SentOrder]
) -> dict[str, str]:
    """Put each unrecorded order into ``node``'s cache as SUBMITTED (events published); ``{id: why}``
    for those that could not be (left to the venue's own reports: external orders)."""
    kernel: Any = node.kernel
    trader_id = TraderId(kernel.trader_id.value)
    now = kernel.clock.timestamp_ns()
    strategies = {s.id.value.rsplit("-", 1)[-1]: s.id for s in node.trader.strategies()}
    skipped: dict[str, str] = {}
    for sent in sent_orders:
        cl_ord_id = sent.message.get(11) or ""
        instrument = _instrument_of(sent, instruments)
        if instrument is None:
            skipped[cl_ord_id] = "instrument not in this run's config"
            continue
        # Nautilus ids are O-<date>-<time>-<trader tag>-<strategy tag>-<n>: the tag names the strategy.
        parts = cl_ord_id.split("-")
        strategy_id = strategies.get(parts[-2], StrategyId("EXTERNAL")) if len(parts) > 2 else None
        built = _placeholder(sent, instrument, strategy_id or StrategyId("EXTERNAL"), trader_id, now)
        if built is None:
            skipped[cl_ord_id] = "order type or time in force cannot be rebuilt"
            continue
        init, order = built
        account_id = AccountId(sent.account_id)
        submitted = OrderSubmitted(
            trader_id, init.strategy_id, instrument.id, init.client_order_id, account_id, UUID4(),
            sent.sent_ns, now,
        )  # fmt: skip
        order.apply(submitted)
        kernel.cache.add_order(order, PositionId(f"{instrument.id}-{init.strategy_id}"), ClientId(sent.venue))
        kernel.cache.update_order(order)
        topic = f"events.order.{init.strategy_id}"
        kernel.msgbus.publish(topic, init)
        kernel.msgbus.publish(topic, submitted)
    return skipped
