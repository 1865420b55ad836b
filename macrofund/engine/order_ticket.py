"""The order ticket: JSON-line commands into a live TradingNode, every order and session event out.

Certification (B3, FCM conformance) and operations need to send exactly the orders a script dictates
through exactly the path a live run uses: the live node (``paper._build_node`` with ``LIVE_VENUES``),
the B3/CME ``FixExecutionClient``, Nautilus's risk engine with our pre-trade gate, the kill switch and
the audit trail. The only differences from ``macrofund run --mode live``: the config's strategies are
replaced by the ``TicketDesk`` strategy, and there is no market-data feed. The protocol (actions, events,
drain, exit codes) is in docs/order-ticket.md.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide, OrderStatus, TimeInForce
from nautilus_trader.model.events import OrderEvent, OrderFilled, OrderInitialized
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from macrofund.adapters.fix.wire import (
    SessionEvent,
    WireCorrelator,
    WireReport,
    report_topic,
    session_topic,
)
from macrofund.config.run_config import RunConfig
from macrofund.errors import ConfigError

Emit = Callable[[dict[str, Any]], None]

_SIDES = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}
_TIFS = {
    "day": TimeInForce.DAY,
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "fok": TimeInForce.FOK,
    "gtd": TimeInForce.GTD,
}
_TYPES = ("market", "limit", "stop", "stop_limit")
_STILL_IN_FLIGHT = (OrderStatus.SUBMITTED, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_UPDATE)


class TicketInputError(ValueError):
    """A command line the ticket cannot carry out (printed as an ``error`` event; the ticket goes on)."""


# -- config -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionOverrides:
    """``--host/--port/--sender-comp-id/--target-comp-id/--username/--password-env/--state-dir``."""

    host: str | None = None
    port: int | None = None
    sender_comp_id: str | None = None
    target_comp_id: str | None = None
    username: str | None = None
    password_env: str | None = None
    state_dir: Path | None = None


def ticket_config(config: RunConfig, venue: str, overrides: SessionOverrides, risk: bool) -> RunConfig:
    """The run config narrowed to ``venue`` (``B3``/``CME``) with its ``[venues.fix]`` session patched.

    ``--state-dir`` moves the FIX sequence store and raw message log under it. ``risk=False`` turns
    ``[risk]`` off (the same switch as ``[risk] enabled = false``).
    """
    where = str(config.source) if config.source else "run config"
    chosen = [v for v in config.venues if v.name == venue]
    if not chosen:
        names = [v.name for v in config.venues]
        raise ConfigError(f"{where}: --venue {venue.lower()}: no [[venues]] entry named {venue} ({names})")
    entry = chosen[0]
    if entry.fix is None:
        raise ConfigError(f"{where}: venues[{venue}].fix: the order ticket needs the venue's FIX session")
    instruments = [i for i in config.instruments if i.id.rsplit(".", 1)[1] == venue]
    if not instruments:
        raise ConfigError(f"{where}: [[instruments]]: none at venue {venue}")
    fix = dict(entry.fix)
    session = dict(fix.get("session") or {})
    for key in ("host", "port", "sender_comp_id", "target_comp_id", "username"):
        value = getattr(overrides, key)
        if value is not None:
            session[key] = value
    if overrides.state_dir is not None:
        session["store"] = {**(session.get("store") or {}), "path": str(overrides.state_dir / "fix-store")}
        session["log_dir"] = str(overrides.state_dir / "fix-log")
    fix["session"] = session
    if overrides.password_env is not None:
        fix["password_env"] = overrides.password_env
    update: dict[str, Any] = {
        "venues": [entry.model_copy(update={"fix": fix})],
        "instruments": instruments,
        "strategies": [],
    }
    if not risk:
        update["risk"] = config.risk.model_copy(update={"enabled": False})
    return config.model_copy(update=update)


# -- parsing a command line ---------------------------------------------------------------------------


def _field(command: dict[str, Any], name: str, required: bool = True) -> Any:
    value = command.get(name)
    if value is None and required:
        raise TicketInputError(f"{command.get('action')}: missing field {name!r}")
    return value


def _decimal(command: dict[str, Any], name: str, required: bool = True) -> Decimal | None:
    value = _field(command, name, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise TicketInputError(f"{name} {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise TicketInputError(f"{name} {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise TicketInputError(f"{name} {value!r} must be a positive number")
    return number


def _choice(
    command: dict[str, Any], name: str, choices: dict[str, Any] | tuple[str, ...], default: Any
) -> Any:
    value = command.get(name, default)
    key = str(value).lower()
    if key not in choices:
        raise TicketInputError(f"{name} {value!r} is not one of {', '.join(choices)}")
    return choices[key] if isinstance(choices, dict) else key


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64 or any(c.isspace() for c in value):
        raise TicketInputError(f"{name} {value!r} must be a non-empty string without spaces (max 64)")
    return value


# -- the desk -----------------------------------------------------------------------------------------


class TicketDesk(Strategy):
    """The strategy that carries out ticket commands and reports every event as one dict to ``emit``.

    Commands arrive on the node's event loop (``handle_line``); order events come back through
    ``on_order_event``; wire views (``macrofund.adapters.fix.wire``) through the bus topics the
    ticket subscribes to ``on_wire_report`` and ``on_session_event``.
    """

    def __init__(self, venue: str, emit: Emit) -> None:
        super().__init__(StrategyConfig(strategy_id="TICKET-001", order_id_tag="TICKET"))
        self._venue = venue
        self._emit = emit
        self._wire = WireCorrelator()
        self.pending_status: dict[str, int] = {}  # cl_ord_id -> line number of the status request
        self.started = asyncio.Event()
        self.logout_requested = False
        # A mass cancel that waits for the ticket's orders still in flight (line number, command).
        self.deferred: tuple[int, dict[str, Any]] | None = None

    def on_start(self) -> None:
        self.started.set()

    # -- input ----------------------------------------------------------------------------------

    def handle_line(self, number: int, line: str) -> None:
        """Carry out one input line; a bad one becomes an ``error`` event and nothing else happens."""
        if not line.strip():
            return
        try:
            command = json.loads(line)
            if not isinstance(command, dict):
                raise TicketInputError("a command must be a JSON object")
            action = command.get("action")
            handler = {
                "new": self._new,
                "cancel": self._cancel,
                "replace": self._replace,
                "status": self._status,
                "mass_cancel": self._mass_cancel,
                "logout": self._logout,
            }.get(action)  # type: ignore[arg-type]
            if handler is None:
                raise TicketInputError(
                    f"unknown action {action!r} (new, cancel, replace, status, mass_cancel, logout)"
                )
            handler(number, command)
        except json.JSONDecodeError as exc:
            self._emit(
                {"event": "error", "line": number, "reason": f"not JSON: {exc.msg} at column {exc.colno}"}
            )
        except (TicketInputError, ValueError, TypeError) as exc:
            self._emit({"event": "error", "line": number, "reason": str(exc)})

    def _instrument(self, command: dict[str, Any]) -> Any:
        text = _text(_field(command, "instrument"), "instrument")
        if "." not in text:
            text = f"{text}.{self._venue}"
        try:
            instrument_id = InstrumentId.from_str(text)
        except ValueError:
            raise TicketInputError(f"instrument {text!r} is not an instrument id") from None
        instrument = self.cache.instrument(instrument_id)
        if instrument is None or instrument_id.venue.value != self._venue:
            known = sorted(i.id.value for i in self.cache.instruments(venue=None))
            raise TicketInputError(f"unknown instrument {text} (this ticket trades {', '.join(known)})")
        return instrument

    def _order(self, command: dict[str, Any]) -> Order:
        cl_ord_id = _text(_field(command, "cl_ord_id"), "cl_ord_id")
        order = self.cache.order(ClientOrderId(cl_ord_id))
        if order is None or order.strategy_id != self.id:
            raise TicketInputError(f"no order {cl_ord_id} was entered by this ticket")
        return order

    def _params(self, command: dict[str, Any]) -> dict[str, Any] | None:
        dictated = command.get("request_cl_ord_id")
        if dictated is None:
            return None
        wire = _text(dictated, "request_cl_ord_id")
        if self.cache.order(ClientOrderId(wire)) is not None:
            raise TicketInputError(f"request_cl_ord_id {wire} is already an order's ClOrdID")
        return {"cl_ord_id": wire}

    def _new(self, number: int, command: dict[str, Any]) -> None:
        cl_ord_id = _text(_field(command, "cl_ord_id"), "cl_ord_id")
        if self.cache.order(ClientOrderId(cl_ord_id)) is not None:
            raise TicketInputError(f"cl_ord_id {cl_ord_id} is already used")
        instrument = self._instrument(command)
        side = _choice(command, "side", _SIDES, None)
        kind = _choice(command, "type", _TYPES, "limit")
        tif = _choice(command, "tif", _TIFS, "day")
        qty = _decimal(command, "qty")
        quantity = self._quantity(instrument, qty)
        needs_price = kind in ("limit", "stop_limit")
        needs_trigger = kind in ("stop", "stop_limit")
        price = (
            self._price(instrument, _decimal(command, "price", needs_price), "price") if needs_price else None
        )
        trigger = (
            self._price(instrument, _decimal(command, "trigger_price", needs_trigger), "trigger_price")
            if needs_trigger
            else None
        )
        expire = None
        if tif == TimeInForce.GTD:
            text = _field(command, "expire_time")
            try:
                expire = datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)
            except ValueError:
                raise TicketInputError(f"expire_time {text!r} is not an ISO time") from None
        ids = {"client_order_id": ClientOrderId(cl_ord_id)}
        factory = self.order_factory
        if kind == "market":
            order = factory.market(instrument.id, side, quantity, time_in_force=tif, **ids)
        elif kind == "limit":
            order = factory.limit(
                instrument.id, side, quantity, price, time_in_force=tif, expire_time=expire, **ids
            )
        elif kind == "stop":
            order = factory.stop_market(
                instrument.id, side, quantity, trigger, time_in_force=tif, expire_time=expire, **ids
            )
        else:
            order = factory.stop_limit(
                instrument.id, side, quantity, price, trigger, time_in_force=tif, expire_time=expire, **ids
            )
        self.submit_order(order)

    def _cancel(self, number: int, command: dict[str, Any]) -> None:
        order = self._order(command)
        params = self._params(command)
        if order.is_closed:
            raise TicketInputError(
                f"order {order.client_order_id} is {order.status_string()}: nothing to cancel"
            )
        self.cancel_order(order, params=params)

    def _replace(self, number: int, command: dict[str, Any]) -> None:
        order = self._order(command)
        params = self._params(command)
        instrument = self.cache.instrument(order.instrument_id)
        qty = _decimal(command, "qty", required=False)
        price = _decimal(command, "price", required=False)
        trigger = _decimal(command, "trigger_price", required=False)
        if qty is None and price is None and trigger is None:
            raise TicketInputError("replace: give at least one of qty, price, trigger_price")
        if order.is_closed:
            raise TicketInputError(
                f"order {order.client_order_id} is {order.status_string()}: nothing to replace"
            )
        self.modify_order(
            order,
            quantity=self._quantity(instrument, qty) if qty is not None else None,
            price=self._price(instrument, price, "price") if price is not None else None,
            trigger_price=self._price(instrument, trigger, "trigger_price") if trigger is not None else None,
            params=params,
        )

    def _status(self, number: int, command: dict[str, Any]) -> None:
        order = self._order(command)
        self.pending_status[order.client_order_id.value] = number
        self.query_order(order)

    def _mass_cancel(self, number: int, command: dict[str, Any], settled: bool = False) -> None:
        side = _choice(command, "side", {**_SIDES, "both": OrderSide.NO_ORDER_SIDE}, "both")
        scope = self._instrument(command).id if command.get("instrument") is not None else None
        if not settled and self.in_flight(scope):
            # An order sent but not yet acknowledged is not open for Nautilus: its cancel_all_orders
            # skips it, and the venue would keep it working after the operator asked for a mass cancel.
            self.deferred = (number, command)
            return
        if scope is not None:
            instruments = [scope]
        else:
            instruments = sorted({o.instrument_id for o in self.cache.orders_open(strategy_id=self.id)})
        open_orders = [
            o for i in instruments for o in self.cache.orders_open(instrument_id=i, strategy_id=self.id)
        ]
        if not open_orders:
            self._emit(
                {"event": "notice", "line": number, "reason": "mass_cancel: no open orders; nothing sent"}
            )
            return
        for instrument_id in instruments:
            self.cancel_all_orders(instrument_id, side)

    def _logout(self, number: int, command: dict[str, Any]) -> None:
        self.logout_requested = True

    @staticmethod
    def _quantity(instrument: Any, qty: Decimal | None) -> Quantity:
        assert qty is not None
        if qty != qty.to_integral_value() and instrument.size_precision == 0:
            raise TicketInputError(f"qty {qty} must be a whole number of contracts for {instrument.id}")
        return Quantity(qty, instrument.size_precision)

    @staticmethod
    def _price(instrument: Any, value: Decimal | None, name: str) -> Price:
        assert value is not None
        price = Price(value, instrument.price_precision)
        if price.as_decimal() != value:
            raise TicketInputError(
                f"{name} {value} has more decimals than {instrument.id} allows ({instrument.price_precision})"
            )
        return price

    # -- output ---------------------------------------------------------------------------------

    def on_order_event(self, event: OrderEvent) -> None:
        if isinstance(event, OrderInitialized):
            return
        name = type(event).__name__
        order = self.cache.order(event.client_order_id)
        trade_id = event.trade_id.value if isinstance(event, OrderFilled) else None
        out: dict[str, Any] = {"event": name, **_order_view(order, event)}
        if isinstance(event, OrderFilled):
            out.update(trade_id=trade_id, last_qty=str(event.last_qty), last_px=str(event.last_px))
        reason = getattr(event, "reason", None)
        if reason:
            out["reason"] = reason
        out["ts_event"] = event.ts_event
        out["ts_init"] = event.ts_init
        report = self._wire.match(name, event.client_order_id.value, trade_id)
        if report is not None:
            out["fix"] = report.fields
        self._emit(out)

    def on_wire_report(self, report: WireReport) -> None:
        """A report the FIX client received: queued for its event; a status answer is shown at once."""
        if not report.is_status_answer:
            self._wire.add(report)
            return
        self.pending_status.pop(report.client_order_id, None)
        order = self.cache.order(ClientOrderId(report.client_order_id))
        out = {
            "event": "OrderStatus",
            **_order_view(order, None),
            "ts_init": report.ts_init,
            "fix": report.fields,
        }
        self._emit(out)

    def on_session_event(self, event: SessionEvent) -> None:
        """A FIX session event (logon, reconnect, logout, disconnect, reject)."""
        out: dict[str, Any] = {"event": event.kind, "session": event.session, "ts_init": event.ts_init}
        if event.reason:
            out["reason"] = event.reason
        if event.detail:
            out["fix"] = {k: str(v) for k, v in event.detail.items() if v is not None}
        self._emit(out)

    def in_flight(self, instrument_id: InstrumentId | None = None) -> bool:
        """Whether a ticket order (of ``instrument_id``) is on its way (its command still queued in the
        engines, or sent) and not yet acknowledged."""
        return any(
            o.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED)
            for o in self.cache.orders(strategy_id=self.id, instrument_id=instrument_id)
        )

    def run_deferred(self) -> None:
        """Carry out the deferred mass cancel (the orders it waited for are acknowledged, or the wait
        is over: whatever is open then is cancelled)."""
        if self.deferred is not None:
            (number, command), self.deferred = self.deferred, None
            try:
                self._mass_cancel(number, command, settled=True)
            except (TicketInputError, ValueError, TypeError) as exc:
                self._emit({"event": "error", "line": number, "reason": str(exc)})

    def outstanding(self) -> int:
        """Orders still waiting for the venue's answer, plus unanswered status requests."""
        inflight = [o for o in self.cache.orders(strategy_id=self.id) if o.status in _STILL_IN_FLIGHT]
        return len(inflight) + len(self.pending_status)


def _order_view(order: Order | None, event: OrderEvent | None) -> dict[str, Any]:
    """The order's state after ``event``: ids, status, cum/leaves qty and the exact average price."""
    if order is None:
        return {"client_order_id": event.client_order_id.value if event is not None else None}
    venue_order_id = order.venue_order_id
    cum = order.filled_qty.as_decimal()
    notional = sum(
        (
            e.last_qty.as_decimal() * e.last_px.as_decimal()
            for e in order.events
            if isinstance(e, OrderFilled)
        ),
        Decimal(0),
    )
    avg = (notional / cum).normalize() if cum else None
    return {
        "client_order_id": order.client_order_id.value,
        "venue_order_id": venue_order_id.value if venue_order_id is not None else None,
        "instrument_id": order.instrument_id.value,
        "side": order.side_string(),
        "type": order.type_string(),
        "status": order.status_string(),
        "qty": str(order.quantity),
        "cum_qty": str(order.filled_qty),
        "leaves_qty": str(order.leaves_qty),
        "avg_px": f"{avg:f}" if avg is not None else None,
    }


# -- running ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketOptions:
    """How long to wait: for the node to start and, after logout/end of input, for answers (drain)."""

    drain_secs: float = 5.0
    start_timeout_secs: float = 30.0


def _read_lines(
    stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[int, str | None]]
) -> None:
    """Read ``stream`` off the event loop (a blocking read would stall the FIX session)."""
    number = 0
    for number, line in enumerate(stream, start=1):
        loop.call_soon_threadsafe(queue.put_nowait, (number, line))
    loop.call_soon_threadsafe(queue.put_nowait, (number + 1, None))


def run_order_ticket(
    config: RunConfig, stdin: TextIO, emit: Emit, options: TicketOptions, out_dir: Path
) -> int:
    """Run the ticket until ``logout`` or end of input, drain, log out; returns the exit code."""
    from macrofund.engine.live import LIVE_VENUES
    from macrofund.engine.paper import _build_node, _engine_backlog

    venue = config.venues[0].name
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    desk = TicketDesk(venue, emit)
    out_dir.mkdir(parents=True, exist_ok=True)
    paper = _build_node(
        config, out_dir.name, out_dir, [], loop, LIVE_VENUES, strategies=[desk], market_data=False
    )
    msgbus: Any = paper.node.kernel.msgbus
    msgbus.subscribe(report_topic(venue), desk.on_wire_report)
    msgbus.subscribe(session_topic(venue), desk.on_session_event)
    try:
        code = loop.run_until_complete(
            _session(paper, desk, stdin, emit, options, _engine_backlog(paper.node))
        )
        end_ns = paper.node.kernel.clock.timestamp_ns()
        for component in paper.components:
            component.on_run_end(end_ns)
            component.write_outputs(out_dir)
        return code
    finally:
        for component in paper.components:
            component.close()
        paper.node.dispose()
        if not loop.is_closed():
            loop.close()


async def _session(
    paper: Any,
    desk: TicketDesk,
    stdin: TextIO,
    emit: Emit,
    options: TicketOptions,
    backlog: Callable[[], bool],
) -> int:
    from macrofund.engine.paper import engine_failure, route_shutdown, start_failure, watch_start

    node = paper.node
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, str | None]] = asyncio.Queue()
    failure: list[str] = []

    def on_shutdown(command: Any) -> None:
        # The node asked to stop (see ``macrofund.engine.paper``): stop reading; an engine's is an error.
        error = engine_failure(command)
        if error is not None and not failure:
            failure.append(error)
            emit({"event": "error", "reason": error})
        queue.put_nowait((0, None))

    start_failed: asyncio.Future[str] = loop.create_future()

    def on_start_failed(why: str) -> None:
        if not start_failed.done():
            start_failed.set_result(why)

    route_shutdown(node, on_shutdown)
    watch_start(node, on_start_failed)
    run_task = loop.create_task(node.run_async(), name="macrofund-order-ticket-node")
    started = loop.create_task(desk.started.wait())
    await asyncio.wait(
        {run_task, started, start_failed},
        timeout=options.start_timeout_secs,
        return_when=asyncio.FIRST_COMPLETED,
    )
    if not desk.started.is_set():
        started.cancel()
        why = start_failed.result() if start_failed.done() else start_failure(node)
        emit({"event": "error", "reason": f"{why}; see the log lines on stderr"})
        await _stop(node, run_task)
        return 1
    threading.Thread(target=_read_lines, args=(stdin, loop, queue), name="ticket-stdin", daemon=True).start()
    why = "end of input"
    while not run_task.done():
        number, line = await queue.get()
        if line is None:
            break
        desk.handle_line(number, line)
        if desk.deferred is not None:
            settle_by = time.monotonic() + options.drain_secs
            while desk.in_flight() and time.monotonic() < settle_by and not run_task.done():
                await asyncio.sleep(0.005)
            desk.run_deferred()
        if desk.logout_requested:
            why = "logout"
            break
        await asyncio.sleep(0)  # let the engines move the command on before the next line
    deadline = time.monotonic() + options.drain_secs
    while time.monotonic() < deadline and (desk.outstanding() or backlog()):
        await asyncio.sleep(0.05)
    left = desk.outstanding()
    emit({"event": "stopping", "reason": failure[0] if failure else why, "outstanding": left})
    await _stop(node, run_task)
    return 1 if failure else 0


async def _stop(node: Any, run_task: asyncio.Task[Any]) -> None:
    if not run_task.done():
        await node.stop_async()  # disconnects the clients: the FIX session logs out
        try:
            await asyncio.wait_for(run_task, timeout=10.0)
        except TimeoutError:
            run_task.cancel()
