"""The venue-neutral FIX 4.4 execution client both the B3 and the CME clients are.

``FixExecutionClient`` is a Nautilus ``LiveExecutionClient`` that owns one ``FixInitiator`` session on
the node's event loop. Orders go out through the builders of ``translate.py`` with the venue's
profile; ExecutionReports and OrderCancelRejects come back through the session's application
callbacks and become Nautilus order events. The venue subclasses (``B3ExecutionClient``,
``CmeExecutionClient``) only choose the profile and the Logon fields; everything else is here, once.

Identity: ClOrdID (11) of a NewOrderSingle is the Nautilus ``ClientOrderId``. Cancels and replaces
need a fresh ClOrdID each; the client maps them back to the order and tracks the ClOrdID of the last
accepted replace (the next request's OrigClOrdID 41); a ``CancelOrder``/``ModifyOrder`` may dictate
its request's ClOrdID with ``params={"cl_ord_id": ...}`` (certification scripts name every identifier).
Nothing is ever re-sent on our initiative: after a reconnect the session layer recovers lost messages
by ResendRequest (PossDup, de-duplicated by ExecID), and at start-up ``generate_order_status_reports``
only *asks* the venue about orders.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig, NonNegativeFloat, PositiveInt
from nautilus_trader.execution.messages import (
    BatchCancelOrders,
    CancelAllOrders,
    CancelOrder,
    GenerateFillReports,
    GenerateOrderStatusReport,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
    ModifyOrder,
    SubmitOrder,
    SubmitOrderList,
)
from nautilus_trader.execution.reports import FillReport, OrderStatusReport, PositionStatusReport
from nautilus_trader.live.config import LiveExecClientConfig
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.enums import (
    AccountType,
    ContingencyType,
    LiquiditySide,
    OmsType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    TradeId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.objects import AccountBalance, Money, Price
from nautilus_trader.model.orders import Order
from pydantic import BaseModel, ValidationError

from macrofund.adapters.fix.application import ExecIdDeduplicator, FixApplication, FixReject
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.errors import FixStoreError
from macrofund.adapters.fix.initiator import FixInitiator
from macrofund.adapters.fix.message import FixFieldError, FixMessage
from macrofund.adapters.fix.reconciliation import (
    WIRE_ORDER_TYPES,
    WIRE_TIME_IN_FORCE,
    order_status_report,
    seeded_view,
)
from macrofund.adapters.fix.session import FixSession
from macrofund.adapters.fix.translate import (
    CancelRejectView,
    EventKind,
    ExecKind,
    ExecutionReportView,
    FillAccumulator,
    FixTranslationError,
    FixVenueProfile,
    new_order_single,
    order_cancel_replace_request,
    order_cancel_request,
    order_mass_cancel_request,
    order_status_request,
    parse_cancel_reject,
    parse_execution_report,
    parse_utc_timestamp,
    report_to_event_kind,
)
from macrofund.adapters.fix.wire import SessionEvent, report_topic, session_topic, wire_report
from macrofund.errors import ConfigError
from macrofund.venues.contracts import futures_contract

__all__ = ["ContractInstrumentProvider", "FixExecClientConfig", "FixExecutionClient", "validated"]

M = TypeVar("M", bound=BaseModel)

_LIQUIDITY = {"1": LiquiditySide.MAKER, "2": LiquiditySide.TAKER}
# An order the venue's 150=0 still applies to (RELEASED: an emulated order on its way out).
_AWAITING_ACK = frozenset({OrderStatus.INITIALIZED, OrderStatus.RELEASED, OrderStatus.SUBMITTED})


def validated(model: type[M], data: Mapping[str, Any], where: str) -> M:
    """``model`` from ``data``, or a one-line ``ConfigError`` naming ``where``, the key and the problem."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(section)"
        raise ConfigError(f"{where}.{key}: {first['msg']}") from None


class FixExecClientConfig(LiveExecClientConfig, frozen=True, kw_only=True):
    """Config of one FIX execution client (the B3/CME configs set ``venue`` and their defaults).

    ``session`` holds ``FixSessionConfig`` keys (CompIDs, host, port, store, schedule, ...), ``profile``
    the venue profile's keys; both are validated when the client is built. The password never sits in
    config: ``password_env`` names the environment variable that holds it. ``starting_balances``
    (``"10000000 BRL"``) seed the Nautilus margin account at logon: an order-entry session carries no
    balances, the real ones come from the clearing member's / FCM's statement (or drop copy), which is
    where a production deployment should feed them from.
    """

    venue: str
    account_id: str | None = None
    session: dict[str, Any]
    profile: dict[str, Any] | None = None
    password_env: str | None = None
    instrument_ids: tuple[str, ...] = ()
    starting_balances: tuple[str, ...] = ()
    mass_cancel: bool = True
    cancel_on_reconnect: bool = False
    status_timeout_secs: float = 5.0
    # OrderStatusRequests (35=H) sent per second when asking about many orders at once (start-up and the
    # periodic open-order check): venues throttle and may log out a session that bursts thousands.
    status_requests_per_second: PositiveInt = 100
    logon_timeout_secs: float = 15.0
    # An order-entry message (new order, cancel, replace, mass cancel, status request) older than this
    # is not resent when the venue asks for a resend: a SequenceReset-GapFill goes over it and the order's
    # status is asked for instead. A venue that lost its session state asks for everything from seq 1;
    # with PossDupFlag=Y it would take orders from hours or sessions ago as new ones.
    resend_max_age_secs: NonNegativeFloat = 30.0

    def session_config(self) -> FixSessionConfig:
        """The validated session config with the password resolved from ``password_env``."""
        data = dict(self.session)
        if self.password_env is not None:
            password = os.environ.get(self.password_env)
            if password is None:
                where = f"exec_clients.{self.venue}.password_env"
                raise ConfigError(f"{where}: environment variable {self.password_env} is not set")
            data["password"] = password
        return validated(FixSessionConfig, data, f"exec_clients.{self.venue}.session")

    def balances(self) -> list[Money]:
        """``starting_balances`` as ``Money``; ``ConfigError`` naming the bad entry."""
        out: list[Money] = []
        for text in self.starting_balances:
            try:
                out.append(Money.from_str(text))
            except (ValueError, TypeError, InvalidOperation):
                raise ConfigError(
                    f"exec_clients.{self.venue}.starting_balances: {text!r} is not an amount and currency "
                    "(e.g. '10000000 BRL')"
                ) from None
        return out


class ContractInstrumentProvider(InstrumentProvider):
    """The venue's ``FuturesContract``s from our contract specs (``macrofund.venues``), by id."""

    def __init__(
        self, instrument_ids: tuple[str, ...], config: InstrumentProviderConfig | None = None
    ) -> None:
        super().__init__(config=config)
        self._ids = instrument_ids

    async def load_all_async(self, filters: dict | None = None) -> None:
        for instrument_id in self._ids:
            self.add(futures_contract(instrument_id))

    async def load_ids_async(self, instrument_ids: list[InstrumentId], filters: dict | None = None) -> None:
        for instrument_id in instrument_ids:
            self.add(futures_contract(instrument_id))

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        self.add(futures_contract(instrument_id))


def _sequence_went_back(error: str) -> str:
    """What the operator reads when the venue's Logon came with a sequence number lower than ours."""
    return (
        f"the venue's Logon said {error}: its sequence numbers went back (a reset on its side?); not "
        "reconnecting. Check with the venue, then start once with [venues.fix.session] reset_on_logon = true"
    )


# Order-entry messages a resend could turn into stale orders at the venue (35 -> name for the log).
_ORDER_ENTRY = {
    "D": "NewOrderSingle",
    "F": "OrderCancelRequest",
    "G": "OrderCancelReplaceRequest",
    "q": "OrderMassCancelRequest",
    "H": "OrderStatusRequest",
}


class _SessionCallbacks(FixApplication):
    """The FIX application of the client: forwards session events to it (on the event loop)."""

    def __init__(self, client: FixExecutionClient) -> None:
        self._client = client

    def logon_fields(self, session: FixSession) -> list[tuple[int, str]]:
        return list(self._client.logon_fields())

    def on_logon(self, session: FixSession) -> None:
        self._client._on_logon()

    def on_logout(self, session: FixSession, text: str) -> None:
        self._client._last_logout_text = text
        self._client._publish_session("logout", text)

    def on_disconnect(self, session: FixSession, reason: str) -> None:
        self._client._on_session_lost(reason)

    def on_message(self, session: FixSession, message: FixMessage) -> None:
        self._client._on_message(message)

    def on_reject(self, session: FixSession, reject: FixReject) -> None:
        self._client._on_session_reject(reject)

    def on_resend(self, session: FixSession, message: FixMessage) -> bool:
        return self._client._on_resend(message)


class FixExecutionClient(LiveExecutionClient):
    """Orders to a FIX 4.4 venue and its reports back as Nautilus events (see the module docstring)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: FixExecClientConfig,
        profile: FixVenueProfile,
        name: str | None = None,
        instrument_provider: InstrumentProvider | None = None,
    ) -> None:
        venue = Venue(config.venue)
        self._session_config = config.session_config()
        self._balances = config.balances()
        base = self._balances[0].currency if self._balances else None
        super().__init__(
            loop=loop,
            client_id=ClientId(name or config.venue),
            venue=venue,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=base,
            instrument_provider=instrument_provider
            or ContractInstrumentProvider(config.instrument_ids, config.instrument_provider),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._set_account_id(AccountId(config.account_id or f"{config.venue}-001"))
        self._fix_config = config
        self.profile = profile
        self._dedup = ExecIdDeduplicator()
        self._initiator: FixInitiator | None = None
        self._ids = itertools.count(1)
        self._request_prefix = f"{clock.timestamp_ns() // 1_000_000:x}"
        # wire ClOrdID of a cancel/replace request -> the order it is for
        self._requests: dict[str, ClientOrderId] = {}
        # the ClOrdID the venue currently knows the order by (changes with each accepted replace)
        self._wire_ids: dict[ClientOrderId, str] = {}
        self._pending_modify: dict[str, ModifyOrder] = {}
        self._fills: dict[ClientOrderId, FillAccumulator] = {}
        # OrdStatusReqID (790) -> (the ClOrdID asked about, the answer)
        self._status_waiters: dict[str, tuple[str, asyncio.Future[ExecutionReportView]]] = {}
        self._lost_session = False
        self._lost_at_ns = 0
        self._stopping = False
        self._last_logout_text = ""  # the venue's 58 on its last Logout (a refused logon says why)
        self._closed_before_logon = ""  # why the venue's end closed the last connection before a logon
        self._stale_resends: list[tuple[str, str, float]] = []  # (35, ClOrdID, age s) gap-filled
        self._session_up = False  # logged on since the last logon callback (what a loss is measured from)
        # Why connecting failed at start-up, one line (read by the run's start check, ``engine.paper``).
        self.connect_error: str | None = None
        # mass cancels asked for while the session was down: sent first thing at the next logon
        self._pending_mass_cancels: list[tuple[InstrumentId | None, OrderSide]] = []
        self._report_topic = report_topic(self.id.value)
        self._session_topic = session_topic(self.id.value)

    # -- venue hooks -------------------------------------------------------------------------------

    def logon_fields(self) -> tuple[tuple[int, str], ...]:
        """Venue-specific Logon (35=A) fields beyond the session config's (CME: 1603/1604/1605)."""
        return ()

    def instrument_id_of(self, view: ExecutionReportView) -> InstrumentId:
        """The Nautilus id of the instrument a report names (the venue's symbology)."""
        symbology = getattr(self.profile, "symbology", None)
        if symbology is not None:
            return symbology.instrument_id(view.symbol, view.security_id)  # type: ignore[no-any-return]
        return InstrumentId.from_str(f"{view.symbol}.{self.venue}")

    # -- connection --------------------------------------------------------------------------------

    @property
    def session(self) -> FixSession | None:
        """The FIX session (``None`` before ``connect``)."""
        return self._initiator.session if self._initiator is not None else None

    async def _connect(self) -> None:
        await self._instrument_provider.load_all_async()
        for instrument in self._instrument_provider.list_all():
            if self._cache.instrument(instrument.id) is None:
                self._cache.add_instrument(instrument)
        # Fills already booked must never be booked again, even if the venue resends them.
        self._dedup.seed([t.value for o in self._cache.orders(venue=self.venue) for t in o.trade_ids])
        self._initiator = FixInitiator(
            self._session_config, _SessionCallbacks(self), duplicate_filter=self._dedup
        )
        try:
            session = await self._initiator.start()
        except FixStoreError as exc:  # e.g. the session is in use by another process: no point waiting
            self._initiator = None
            self.connect_error = f"{self.id}: {exc}"
            raise ConnectionError(self.connect_error) from None
        logon = self._loop.create_task(session.wait_logged_on())
        retrying = self._initiator.task
        try:
            await asyncio.wait(
                {logon} if retrying is None else {logon, retrying},
                timeout=self._fix_config.logon_timeout_secs,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:  # the run stopped while logging on ("Task was destroyed" else)
            logon.cancel()
            raise
        if not logon.done():
            logon.cancel()
            why = f" ({self._why_no_logon()})"
            # Stop retrying: a session that logged on later would trade without an account state.
            await self._initiator.stop()
            self._initiator = None
            where = f"{self._session_config.host}:{self._session_config.port}"
            timeout = self._fix_config.logon_timeout_secs
            self.connect_error = (
                f"{self.id}: FIX logon with {where} given up{why}"
                if session.sequence_error is not None
                else f"{self.id}: no FIX logon with {where} within {timeout} s{why}"
            )
            raise ConnectionError(self.connect_error) from None
        self._log.info(f"FIX session {session.name} logged on")
        balances = [AccountBalance(m, Money(0, m.currency), m) for m in self._balances]
        self.generate_account_state(
            balances=balances, margins=[], reported=False, ts_event=self._clock.timestamp_ns()
        )
        await self._await_account_registered()

    async def _disconnect(self) -> None:
        if self._initiator is not None:
            self._stopping = True
            await self._initiator.stop("macrofund stopping")
            self._initiator = None

    def _why_no_logon(self) -> str:
        """What stands between this client and a logon, as far as it knows."""
        session = self.session
        if session is not None and session.sequence_error is not None:
            return _sequence_went_back(session.sequence_error)
        if self._last_logout_text:
            return f"venue said: {self._last_logout_text}"
        if self._closed_before_logon:
            return f"connected, no logon: {self._closed_before_logon}"
        if self._initiator is not None and self._initiator.last_connect_error:
            return f"cannot connect: {self._initiator.last_connect_error}"
        return "connected, no Logon answered"

    def logon_pending(self) -> str:
        """For a run stopped while this client was still logging on: one line on where it stood."""
        where = f"{self._session_config.host}:{self._session_config.port}"
        return f"{self.id}: no FIX logon with {where} yet ({self._why_no_logon()})"

    @property
    def session_state(self) -> str:
        """For the run's status line: ``up``, ``DOWN 12s`` (lost, reconnecting), ``logon refused (<the
        venue's text>)`` (retrying: the operator sees why at once, not when the logon timeout ends the
        start) or ``logging on``."""
        if self._session_up:
            return "up"
        if self._lost_session:
            return f"DOWN {(self._clock.timestamp_ns() - self._lost_at_ns) / 1e9:.0f}s"
        if self._last_logout_text:
            return f"logon refused ({self._last_logout_text})"
        return "logging on"

    def _on_logon(self) -> None:
        self._session_up = True
        self._closed_before_logon = ""
        self._publish_session("reconnect" if self._lost_session else "logon", "")
        if self._lost_session:
            # At error level, like the loss: the configs run at log_level ERROR and an operator must
            # see both edges of an outage (orders sent meanwhile were rejected, not queued).
            down = (self._clock.timestamp_ns() - self._lost_at_ns) / 1e9
            name = self._session_config.name
            self._log.error(f"FIX session {name} logged on again after {down:.1f} s down")
        if self._lost_session and self._fix_config.cancel_on_reconnect:
            self._log.warning(
                "FIX session back after a loss: cancelling all working orders (cancel_on_reconnect)"
            )
            self._pending_mass_cancels = [(None, OrderSide.NO_ORDER_SIDE)]
        pending, self._pending_mass_cancels = self._pending_mass_cancels, []
        for instrument_id, side in dict.fromkeys(pending):
            self._send_mass_cancel(instrument_id, side)
        self._lost_session = False

    def _on_session_lost(self, reason: str) -> None:
        self._publish_session("disconnect", reason)
        if self._stopping:
            self._log.info(f"FIX session closed: {reason}")
            return
        was_up, self._session_up = self._session_up, False
        session = self.session
        if session is not None and session.sequence_error is not None:
            if was_up:
                self._lost_session, self._lost_at_ns = True, self._clock.timestamp_ns()
            self._log.error(
                f"FIX session {self._session_config.name}: {_sequence_went_back(session.sequence_error)}"
            )
            return
        if not was_up:
            # Not an outage: a connection that never logged on (the venue closed it during the logon,
            # e.g. one session already connected with these CompIDs). The start-up error or the
            # outage already under way says so; an error line per reconnect attempt would not.
            self._closed_before_logon = reason
            self._log.warning(f"FIX connection {self._session_config.name} closed before logon: {reason}")
            return
        self._lost_session = True
        self._lost_at_ns = self._clock.timestamp_ns()
        self._log.error(
            f"FIX session {self._session_config.name} lost: {reason}; reconnecting (orders are rejected "
            "until it is back)"
        )

    def _on_resend(self, message: FixMessage) -> bool:
        """Resend ``message`` (a stored one the venue asked for again) unless it is a stale order."""
        if message.msg_type not in _ORDER_ENTRY:
            return True
        try:
            age_s = (self._clock.timestamp_ns() - parse_utc_timestamp(message.get(52) or "", 52)) / 1e9
        except FixFieldError:
            age_s = float("inf")
        if age_s <= self._fix_config.resend_max_age_secs:
            return True
        if not self._stale_resends:
            self._loop.call_soon(self._after_stale_resends)
        self._stale_resends.append((message.msg_type, message.get(11) or "", age_s))
        return False

    def _after_stale_resends(self) -> None:
        stale, self._stale_resends = self._stale_resends, []
        names = ", ".join(f"{_ORDER_ENTRY[k]} {cl_ord_id} ({age:.0f} s old)" for k, cl_ord_id, age in stale)
        self._log.error(
            f"FIX session {self._session_config.name}: the venue asked for a resend; {len(stale)} order "
            f"message(s) older than resend_max_age_secs ({self._fix_config.resend_max_age_secs:g} s) were "
            f"gap-filled, not resent: {names}; asking the venue for their orders' status"
        )
        # A cancel's or replace's ClOrdID is its own request id: the order is the one it was sent for.
        orders = {self._requests.get(wire) or ClientOrderId(wire) for _, wire, _ in stale if wire}
        for client_order_id in sorted(orders, key=str):
            order = self._cache.order(client_order_id)
            if order is not None and not order.is_closed:
                self._loop.create_task(self._reconcile_one(order))

    def _on_session_reject(self, reject: FixReject) -> None:
        self._log.error(f"FIX reject from the venue: {reject}")
        self._publish_session(
            "reject",
            reject.text or "",
            {
                "MsgType": reject.message.msg_type, "RefSeqNum": reject.ref_seq_num,
                "RefMsgType": reject.ref_msg_type, "RefTagID": reject.ref_tag,
                "RejectReason": reject.reason, "BusinessRejectRefID": reject.ref_id,
            },
        )  # fmt: skip

    # -- the wire view (``macrofund.adapters.fix.wire``): built only when someone listens -------------

    def _publish_session(self, kind: str, reason: str, detail: dict[str, Any] | None = None) -> None:
        if self._msgbus.has_subscribers(self._session_topic):
            name = self._session_config.name
            event = SessionEvent(kind, name, reason, self._clock.timestamp_ns(), detail or {})
            self._msgbus.publish(self._session_topic, event)

    def _publish_report(self, message: FixMessage, order: Order) -> None:
        if self._msgbus.has_subscribers(self._report_topic):
            report = wire_report(message, order.client_order_id.value, self._clock.timestamp_ns())
            self._msgbus.publish(self._report_topic, report)

    # -- commands ----------------------------------------------------------------------------------

    def _next_id(self, kind: str) -> str:
        return f"{kind}{self._request_prefix}-{next(self._ids)}"

    def _request_id(self, kind: str, params: Mapping[str, Any] | None) -> tuple[str, str | None]:
        """The ClOrdID of a cancel/replace: the command's ``params["cl_ord_id"]``, else a fresh one.

        Returns ``(id, problem)``: a dictated id that is already in use is refused (a venue rejects a
        duplicate ClOrdID, and it would no longer identify one request).
        """
        dictated = (params or {}).get("cl_ord_id")
        if dictated is None:
            return self._next_id(kind), None
        wire = str(dictated)
        if wire in self._requests or self._cache.order(ClientOrderId(wire)) is not None:
            return wire, f"ClOrdID {wire} is already in use; request not sent"
        return wire, None

    def _logged_on(self) -> FixSession | None:
        session = self.session
        return session if session is not None and session.is_logged_on else None

    # Submits and cancels go to the wire on the engine's own call (so Nautilus's async _submit_order and
    # _cancel_order are never used). Its LiveExecutionClient formats the order and the command for its
    # log and schedules a task per command: one more loop turn, behind whatever else is ready, before
    # the message leaves (docs/live-execution.md, Speed).

    def submit_order(self, command: SubmitOrder) -> None:
        self._submit(command.order)

    def cancel_order(self, command: CancelOrder) -> None:
        self._cancel_command(command)

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        """Send a list's orders one by one; refuse a list whose orders depend on each other.

        FIX 4.4 NewOrderSingle carries no contingency, so a bracket sent order by order would put its
        stop-loss and take-profit on the venue's book before the entry filled, and leave the other one
        working after one of them filled: a position nobody asked for. The backtest and paper venues
        honour OTO/OCO/OUO; here such a list is rejected whole, nothing sent, with a reason that says so.
        """
        orders = command.order_list.orders
        if any(o.contingency_type != ContingencyType.NO_CONTINGENCY for o in orders):
            now = self._clock.timestamp_ns()
            reason = (
                f"{self.id}: order list {command.order_list.id.value} links its orders (OTO/OCO/OUO, "
                "e.g. a bracket); this FIX session sends independent orders only, so none was sent"
            )
            for order in orders:
                ids = (order.strategy_id, order.instrument_id, order.client_order_id)
                self.generate_order_submitted(*ids, now)
                self.generate_order_rejected(*ids, reason, now)
            return
        for order in orders:
            self._submit(order)

    def _submit(self, order: Order) -> None:
        now = self._clock.timestamp_ns()
        self.generate_order_submitted(order.strategy_id, order.instrument_id, order.client_order_id, now)
        session = self._logged_on()
        reason: str | None = None
        if session is None:
            reason = f"{self.id}: FIX session not logged on; order not sent"
        else:
            try:
                message = new_order_single(order, self.profile, now)
            except (FixTranslationError, FixFieldError, ValueError) as exc:
                reason = str(exc)
            else:
                self._wire_ids[order.client_order_id] = order.client_order_id.value
                self._fills[order.client_order_id] = FillAccumulator(order.quantity.as_decimal())
                session.send(message)
        if reason is not None:
            self.generate_order_rejected(
                order.strategy_id, order.instrument_id, order.client_order_id, reason, now
            )

    def _cancel_command(self, command: CancelOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            self._log.warning(f"cancel: {command.client_order_id} is not in the cache")
            return
        self._cancel(order, command.params)

    def _cancel(self, order: Order, params: Mapping[str, Any] | None = None) -> None:
        now = self._clock.timestamp_ns()
        session = self._logged_on()
        request_id, problem = self._request_id("C", params)
        if session is None or problem is not None:
            self.generate_order_cancel_rejected(
                order.strategy_id, order.instrument_id, order.client_order_id, order.venue_order_id,
                problem or f"{self.id}: FIX session not logged on; cancel not sent", now,
            )  # fmt: skip
            return
        self._requests[request_id] = order.client_order_id
        orig = self._wire_ids.get(order.client_order_id)
        session.send(order_cancel_request(order, self.profile, request_id, now, orig_cl_ord_id=orig))

    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            self._log.warning(f"modify: {command.client_order_id} is not in the cache")
            return
        now = self._clock.timestamp_ns()
        session = self._logged_on()
        request_id, reason = self._request_id("R", command.params)
        if session is None:
            reason = f"{self.id}: FIX session not logged on; modify not sent"
        elif reason is None:
            try:
                message = order_cancel_replace_request(
                    order, self.profile, request_id, now,
                    quantity=command.quantity, price=command.price, trigger_price=command.trigger_price,
                    orig_cl_ord_id=self._wire_ids.get(order.client_order_id),
                )  # fmt: skip
            except (FixTranslationError, FixFieldError, ValueError) as exc:
                reason = str(exc)
            else:
                self._requests[request_id] = order.client_order_id
                self._pending_modify[request_id] = command
                session.send(message)
        if reason is not None:
            self.generate_order_modify_rejected(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                reason,
                now,
            )

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        if self._fix_config.mass_cancel:
            self._send_mass_cancel(command.instrument_id, command.order_side)
            return
        for order in self._cache.orders_open(venue=self.venue, instrument_id=command.instrument_id):
            if command.order_side in (OrderSide.NO_ORDER_SIDE, order.side):
                self._cancel(order)

    def _send_mass_cancel(self, instrument_id: InstrumentId | None, side: OrderSide) -> None:
        """OrderMassCancelRequest (q): the venue cancels and reports each order (150=4) itself."""
        session = self._logged_on()
        if session is None:
            self._log.error(f"{self.id}: FIX session not logged on; mass cancel sent at the next logon")
            self._pending_mass_cancels.append((instrument_id, side))
            return
        request_id = self._next_id("Q")
        narrowed = None if side == OrderSide.NO_ORDER_SIDE else side
        session.send(order_mass_cancel_request(self.profile, request_id, self._clock.timestamp_ns(),
                                               instrument_id, narrowed))  # fmt: skip
        self._log.warning(f"mass cancel {request_id} sent for {instrument_id or 'all instruments'}")

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        for cancel in command.cancels:
            self._cancel_command(cancel)

    # -- status (35=H) and reconciliation ----------------------------------------------------------

    async def _request_status(self, order: Order) -> ExecutionReportView | None:
        """Ask the venue about ``order`` (35=H) and wait for its ExecType I answer."""
        session = self._logged_on()
        if session is None:
            return None
        request_id = self._next_id("H")
        future: asyncio.Future[ExecutionReportView] = self._loop.create_future()
        wire_id = self._wire_ids.get(order.client_order_id, order.client_order_id.value)
        self._status_waiters[request_id] = (wire_id, future)
        session.send(
            order_status_request(order, self.profile, cl_ord_id=wire_id, status_request_id=request_id)
        )
        try:
            return await asyncio.wait_for(future, self._fix_config.status_timeout_secs)
        except TimeoutError:
            self._log.warning(f"no status answer for {order.client_order_id} within "
                              f"{self._fix_config.status_timeout_secs} s")  # fmt: skip
            return None
        finally:
            self._status_waiters.pop(request_id, None)

    def _status_report(self, order: Order, view: ExecutionReportView) -> OrderStatusReport | None:
        instrument = self._cache.instrument(order.instrument_id)
        if instrument is None:
            return None
        convention = self.profile.price_convention(order.instrument_id)
        accumulator = self._fills.get(order.client_order_id)
        avg = accumulator.avg_px if accumulator is not None and accumulator.cum_qty == view.cum_qty else None
        return order_status_report(
            view, account_id=self.account_id, instrument=instrument, convention=convention,
            client_order_id=order.client_order_id, order_type=order.order_type,
            time_in_force=order.time_in_force, avg_px=avg, ts_init=self._clock.timestamp_ns(),
        )  # fmt: skip

    async def generate_order_status_report(
        self, command: GenerateOrderStatusReport
    ) -> OrderStatusReport | None:
        order = self._cache.order(command.client_order_id) if command.client_order_id else None
        if order is None and command.venue_order_id is not None:
            client_order_id = self._cache.client_order_id(command.venue_order_id)
            order = self._cache.order(client_order_id) if client_order_id else None
        if order is None:
            self._log.warning(
                f"status: no order known for {command.client_order_id or command.venue_order_id}"
            )
            return None
        view = await self._request_status(order)
        return self._status_report(order, view) if view is not None else None

    async def generate_order_status_reports(
        self, command: GenerateOrderStatusReports
    ) -> list[OrderStatusReport]:
        """One OrderStatusRequest per order the cache holds open or in flight at this venue.

        The answers let Nautilus recover fills and cancels that happened while we were away; an order
        the venue does not know (rejected answer) is reported as such. No order is ever re-sent.
        """
        orders = {
            o.client_order_id: o
            for o in (
                *self._cache.orders_open(venue=self.venue),
                *self._cache.orders_inflight(venue=self.venue),
            )
            if command.instrument_id is None or o.instrument_id == command.instrument_id
        }
        for order in orders.values():
            self._track(order)
        views = await self._paced_status_requests(list(orders.values()))
        reports = []
        for order, view in zip(orders.values(), views, strict=True):
            report = self._status_report(order, view) if view is not None else None
            if report is not None:
                reports.append(report)
        return reports

    async def _paced_status_requests(self, orders: list[Order]) -> list[ExecutionReportView | None]:
        """Ask about ``orders`` in waves of ``status_requests_per_second``, one wave per second."""
        per_second = self._fix_config.status_requests_per_second
        loop = asyncio.get_running_loop()
        start = loop.time()
        pending: list[asyncio.Task[ExecutionReportView | None]] = []
        for i, order in enumerate(orders):
            delay = start + i // per_second - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(loop.create_task(self._request_status(order)))
        return list(await asyncio.gather(*pending))

    def _track(self, order: Order) -> None:
        """Resume fill accounting for an order the cache restored (its fills so far are booked)."""
        self._wire_ids.setdefault(order.client_order_id, order.client_order_id.value)
        if order.client_order_id not in self._fills:
            accumulator = FillAccumulator(order.quantity.as_decimal())
            filled = order.filled_qty.as_decimal()
            if filled > 0 and order.avg_px is not None:
                accumulator.apply(
                    seeded_view(order.client_order_id.value, filled, Decimal(str(order.avg_px)))
                )
            self._fills[order.client_order_id] = accumulator

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        """None: a FIX 4.4 order-entry session cannot list past trades.

        Fills missed while away still reach Nautilus: resent ExecutionReports after a reconnect, and the
        CumQty/AvgPx of the status answers (Nautilus infers the missing fill from them).
        """
        return []

    async def generate_position_status_reports(
        self, command: GeneratePositionStatusReports
    ) -> list[PositionStatusReport]:
        """None: positions are the clearing member's / FCM's (not on the order-entry session)."""
        return []

    # -- inbound -----------------------------------------------------------------------------------

    def _on_message(self, message: FixMessage) -> None:
        try:
            if message.msg_type == "8" and message.get(150) == ExecKind.ORDER_STATUS.value:
                self._on_status_answer(parse_execution_report(message), message)
            elif message.msg_type == "8":
                self._on_execution_report(parse_execution_report(message), message)
            elif message.msg_type == "9":
                self._on_cancel_reject(parse_cancel_reject(message), message)
            elif message.msg_type == "r":
                self._log.info(f"mass cancel {message.get(11)} answered: 531={message.get(531)} "
                               f"58={message.get(58) or '-'}")  # fmt: skip
            else:
                self._log.debug(f"ignored FIX 35={message.msg_type}")
        except (FixFieldError, ValueError) as exc:
            self._log.error(f"bad FIX 35={message.msg_type} from the venue: {exc}")

    def _order_for(
        self, cl_ord_id: str | None, orig: str | None, order_id: str | None = None
    ) -> Order | None:
        """Our order a report is about: by ClOrdID / OrigClOrdID, else by the venue's OrderID (37).

        The OrderID fallback matters after a restart: the venue knows a replaced order by the replace's
        ClOrdID, which only the previous process had mapped.
        """
        for wire in (cl_ord_id, orig):
            if not wire:
                continue
            client_order_id = self._requests.get(wire) or ClientOrderId(wire)
            order = self._cache.order(client_order_id)
            if order is not None:
                return order
        if order_id:
            client_order_id = self._cache.client_order_id(VenueOrderId(order_id))
            order = self._cache.order(client_order_id) if client_order_id is not None else None
            if order is not None and cl_ord_id:
                self._requests[cl_ord_id] = order.client_order_id
                self._wire_ids[order.client_order_id] = cl_ord_id
            return order
        return None

    def _on_unknown_order(self, view: ExecutionReportView, message: FixMessage) -> None:
        """A report for an order we never sent (entered elsewhere on the account): an external order.

        Nautilus adds it to the cache with strategy ``EXTERNAL`` (a strategy with
        ``external_order_claims`` for the instrument adopts it), so the position stays true.
        """
        self._log.warning(
            f"ExecutionReport for an order we did not send: 11={view.cl_ord_id} 37={view.order_id} "
            f"150={view.exec_kind.value}; reporting it as an external order"
        )
        try:
            instrument_id = self.instrument_id_of(view)
        except ValueError as exc:
            self._log.error(f"external order {view.order_id}: {exc}")
            return
        instrument = self._cache.instrument(instrument_id)
        if instrument is None:
            self._log.error(f"external order {view.order_id}: instrument {instrument_id} is not loaded")
            return
        report = order_status_report(
            view, account_id=self.account_id, instrument=instrument,
            convention=self.profile.price_convention(instrument_id), client_order_id=None,
            order_type=WIRE_ORDER_TYPES.get(message.get(40) or "", OrderType.LIMIT),
            time_in_force=WIRE_TIME_IN_FORCE.get(message.get(59) or "", TimeInForce.DAY),
            avg_px=None, ts_init=self._clock.timestamp_ns(),
        )  # fmt: skip
        self._send_order_status_report(report)

    def _on_status_answer(self, view: ExecutionReportView, message: FixMessage) -> None:
        """Resolve the OrderStatusRequest this answer (150=I) is for: by 790, else by ClOrdID."""
        if self._msgbus.has_subscribers(self._report_topic):
            order = self._order_for(view.cl_ord_id, view.orig_cl_ord_id, view.order_id)
            if order is not None:
                self._publish_report(message, order)
        entry = self._status_waiters.get(message.get(790) or "")
        if entry is None:
            entry = next((e for e in self._status_waiters.values() if e[0] == view.cl_ord_id), None)
        if entry is not None and not entry[1].done():
            entry[1].set_result(view)

    def _on_execution_report(self, view: ExecutionReportView, message: FixMessage) -> None:
        order = self._order_for(view.cl_ord_id, view.orig_cl_ord_id, view.order_id)
        if order is None:
            self._on_unknown_order(view, message)
            return
        self._track(order)
        self._publish_report(message, order)
        kind = report_to_event_kind(view)
        now = self._clock.timestamp_ns()
        ts = view.transact_time_ns or now
        venue_order_id = VenueOrderId(view.order_id)
        ids = (order.strategy_id, order.instrument_id, order.client_order_id)
        if kind == EventKind.ACCEPTED:
            # Not yet SUBMITTED in the cache is normal: our OrderSubmitted may still wait in the live
            # engine's event queue when a fast venue's 150=0 is read. The queue keeps the two in order;
            # dropping the ack here left the order SUBMITTED until the in-flight check, ~10 s later.
            if order.status in _AWAITING_ACK:
                self.generate_order_accepted(*ids, venue_order_id, ts)
        elif kind == EventKind.REJECTED:
            reason = view.text or (
                f"OrdRejReason={view.ord_rej_reason}" if view.ord_rej_reason else "rejected"
            )
            self.generate_order_rejected(*ids, reason, ts)
        elif kind in (EventKind.PARTIALLY_FILLED, EventKind.FILLED):
            self._on_fill(order, view, venue_order_id, ts)
        elif kind == EventKind.CANCELED:
            self.generate_order_canceled(*ids, venue_order_id, ts)
        elif kind == EventKind.REPLACED:
            self._on_replaced(order, view, venue_order_id, ts)
        elif kind == EventKind.EXPIRED:
            self.generate_order_expired(*ids, venue_order_id, ts)
        elif kind == EventKind.TRIGGERED:
            self.generate_order_triggered(*ids, venue_order_id, ts)
        elif kind != EventKind.PENDING:
            self._log.info(
                f"ExecutionReport 150={view.exec_kind.value} for {order.client_order_id} not mapped"
            )

    def _on_fill(
        self, order: Order, view: ExecutionReportView, venue_order_id: VenueOrderId, ts: int
    ) -> None:
        instrument = self._cache.instrument(order.instrument_id)
        if instrument is None:
            self._log.error(f"fill {view.exec_id} for {order.instrument_id}: instrument not in the cache")
            return
        assert view.last_qty is not None and view.last_px is not None
        convention = self.profile.price_convention(order.instrument_id)
        last_px: Price = instrument.make_price(convention.price_from_wire(view.last_px, ts))
        if view.cum_qty <= order.filled_qty.as_decimal():
            # Already booked: a fill Nautilus inferred from a status answer at start-up, then the
            # venue's resent report of the same trade. Resume accounting from what is booked.
            self._log.info(
                f"fill {view.exec_id} for {order.client_order_id} already booked (CumQty {view.cum_qty})"
            )
            self._fills.pop(order.client_order_id, None)
            self._track(order)
            return
        accumulator = self._fills[order.client_order_id]
        try:
            if not accumulator.apply(view, last_px.as_decimal()):
                self._log.info(f"duplicate fill {view.exec_id} for {order.client_order_id} ignored")
                return
        except FixFieldError as exc:
            self._log.error(f"{exc}; asking the venue for the order's status")
            self.create_task(self._reconcile_one(order))
            return
        self.generate_order_filled(
            order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id, None,
            TradeId(view.exec_id), order.side, order.order_type, instrument.make_qty(view.last_qty), last_px,
            instrument.quote_currency, Money(0, instrument.quote_currency),
            _LIQUIDITY.get(view.last_liquidity_ind or "", LiquiditySide.NO_LIQUIDITY_SIDE), ts,
        )  # fmt: skip

    async def _reconcile_one(self, order: Order) -> None:
        view = await self._request_status(order)
        report = self._status_report(order, view) if view is not None else None
        if report is not None:
            self._send_order_status_report(report)

    def _on_replaced(
        self, order: Order, view: ExecutionReportView, venue_order_id: VenueOrderId, ts: int
    ) -> None:
        instrument = self._cache.instrument(order.instrument_id)
        command = self._pending_modify.pop(view.cl_ord_id or "", None)
        if view.cl_ord_id is not None:
            self._wire_ids[order.client_order_id] = view.cl_ord_id
        quantity = command.quantity if command is not None and command.quantity is not None else None
        if quantity is None and instrument is not None and view.order_qty is not None:
            quantity = instrument.make_qty(view.order_qty)
        price = command.price if command is not None else None
        trigger = command.trigger_price if command is not None else None
        accumulator = self._fills.get(order.client_order_id)
        if accumulator is not None and quantity is not None:
            accumulator.order_qty = quantity.as_decimal()
        self.generate_order_updated(
            order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id,
            quantity or order.quantity, price or (order.price if order.has_price else None),
            trigger or (order.trigger_price if order.has_trigger_price else None), ts,
            venue_order_id != order.venue_order_id,
        )  # fmt: skip

    def _on_cancel_reject(self, view: CancelRejectView, message: FixMessage) -> None:
        order = self._order_for(view.cl_ord_id, view.orig_cl_ord_id, view.order_id)
        self._pending_modify.pop(view.cl_ord_id, None)
        if order is None:
            self._log.warning(f"OrderCancelReject for an unknown order: 11={view.cl_ord_id} ({view.reason})")
            return
        self._publish_report(message, order)
        venue_order_id = VenueOrderId(view.order_id) if view.order_id else order.venue_order_id
        ts = view.transact_time_ns or self._clock.timestamp_ns()
        ids = (order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id)
        if report_to_event_kind(view) == EventKind.CANCEL_REJECTED:
            self.generate_order_cancel_rejected(*ids, view.reason, ts)
        else:
            self.generate_order_modify_rejected(*ids, view.reason, ts)
