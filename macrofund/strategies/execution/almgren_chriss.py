"""The Almgren-Chriss optimal-execution algorithm, registered as ``ExecAlgorithmId("AC")``.

A strategy sends one MARKET parent order with ``exec_algorithm_id=ExecAlgorithmId("AC")`` and
``exec_algorithm_params={"horizon": "30m", "slices": 10, "risk_aversion": 1e-6}``; the algorithm splits
it into whole-lot MARKET children along the optimal trajectory (``macrofund.venues.impact``) and sends
them on the kernel clock, so backtest, paper and live run the same schedule. See ``docs/execution.md``.

Design notes:

- Children are spawned from the parent (Nautilus reduces the parent by each child), and the LAST
  non-zero slice is the parent itself, as Nautilus's own TWAP does: when the schedule completes the
  parent is submitted for what is left and ends FILLED like any order.
- Slices go out from time alerts on ``self.clock``: the simulated clock in backtest, the live clock
  otherwise. No wall time, no threads.
- Anything the algorithm cannot execute (bad params, missing model parameters, non-MARKET parent, no
  price to measure arrival against) denies the parent with an ``OrderDenied`` whose reason starts with
  ``"AC: "``, exactly as the RiskEngine denies orders, so the strategy sees it in ``on_order_denied``.
- The rest of a schedule is dropped when the parent is canceled (a strategy's ``cancel_order`` /
  ``cancel_all_orders``, which the kill switch uses), when a slice is denied or rejected (the parent is
  then canceled so the strategy knows), when the owning strategy stops, or when the algorithm stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.common.component import TimeEvent
from nautilus_trader.common.enums import ComponentState
from nautilus_trader.common.messages import ComponentStateChanged
from nautilus_trader.config import ExecAlgorithmConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.model.enums import OrderSide, OrderType, PriceType, TimeInForce
from nautilus_trader.model.events import OrderCanceled, OrderDenied, OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId, StrategyId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import Order

from macrofund.errors import MacrofundError
from macrofund.strategies.execution.events import (
    PARENT_FINISHED_TOPIC,
    PARENT_STARTED_TOPIC,
    ParentFinished,
    ParentStarted,
)
from macrofund.strategies.execution.impact_source import read_impact_params
from macrofund.strategies.execution.params import ParamsError, parse_order_params, resolve_impact
from macrofund.strategies.execution.schedule import Slice, plan_slices

AC_EXEC_ALGORITHM_ID = ExecAlgorithmId("AC")
"""The id strategies route parent orders to: ``order_factory.market(..., exec_algorithm_id=...)``."""

DENIAL_PREFIX = "AC: "

# Market children accept these; GTD needs an expiry a market child has no use for, and Nautilus's
# simulated matching does not support MARKET AT_THE_OPEN/AT_THE_CLOSE.
_CHILD_TIME_IN_FORCE = (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY)


class AlmgrenChrissExecAlgorithmConfig(ExecAlgorithmConfig, frozen=True):
    """Configuration of :class:`AlmgrenChrissExecAlgorithm` (the id defaults to ``"AC"``)."""

    exec_algorithm_id: ExecAlgorithmId | None = AC_EXEC_ALGORITHM_ID


@dataclass
class _Program:
    """The working state of one parent: its slices and how far the algorithm got."""

    parent_id: ClientOrderId
    strategy_id: StrategyId
    ts_arrival: int
    slices: tuple[Slice, ...]
    next_slice: int = 0
    alert: str | None = None

    @property
    def done(self) -> bool:
        return self.next_slice >= len(self.slices)


class AlmgrenChrissExecAlgorithm(ExecAlgorithm):
    """Executes MARKET parent orders along the Almgren-Chriss optimal trajectory in whole-lot children.

    ``exec_algorithm_params`` of the parent:

    - ``horizon``: seconds (number) or a duration string (``"90s"``, ``"30m"``, ``"2h"``);
    - ``slices``: N, the number of trajectory intervals (zero-size slices after rounding are skipped);
    - ``risk_aversion``: lambda >= 0 (0 gives the straight line, i.e. TWAP);
    - optional overrides of the instrument's model parameters: ``sigma``, ``eta``, ``gamma``,
      ``epsilon``, ``beta``, ``alpha``, ``trading_day_hours`` (same units as ``[venues.fill_model.impact]``).
    """

    def __init__(self, config: AlmgrenChrissExecAlgorithmConfig | None = None) -> None:
        super().__init__(config or AlmgrenChrissExecAlgorithmConfig())
        self._programs: dict[ClientOrderId, _Program] = {}
        self._alerts: dict[str, ClientOrderId] = {}
        self._watched_strategies: set[StrategyId] = set()

    # -- parent arrival ------------------------------------------------------------------------------

    def on_order(self, order: Order) -> None:
        """Plan the parent and send its first slice now, or deny it with the reason."""
        try:
            started, slices = self._plan(order)
        except (ParamsError, MacrofundError) as exc:
            self._deny(order, f"{DENIAL_PREFIX}{exc}")
            return
        self._watch_strategy(order.strategy_id)
        program = _Program(
            parent_id=order.client_order_id,
            strategy_id=order.strategy_id,
            ts_arrival=started.ts_arrival,
            slices=slices,
        )
        self._programs[order.client_order_id] = program
        self.msgbus.publish(PARENT_STARTED_TOPIC, started)
        self._advance(program)

    def _plan(self, order: Order) -> tuple[ParentStarted, tuple[Slice, ...]]:
        if order.order_type != OrderType.MARKET:
            raise ParamsError(
                f"only MARKET parent orders are executed, got {order.type_string()}; "
                "send LIMIT orders without exec_algorithm_id"
            )
        if order.time_in_force not in _CHILD_TIME_IN_FORCE:
            raise ParamsError(
                f"time in force {order.tif_string()} is not supported (use GTC, IOC, FOK or DAY)"
            )
        if order.is_quote_quantity:
            raise ParamsError("quote-quantity parent orders are not supported; give a contract quantity")
        instrument: Instrument | None = self.cache.instrument(order.instrument_id)
        if instrument is None:
            raise ParamsError(f"instrument {order.instrument_id} is not in the cache")
        params = parse_order_params(order.exec_algorithm_params)
        impact = resolve_impact(
            order.instrument_id.value, read_impact_params(self.cache, order.instrument_id.value), params
        )
        arrival = self._arrival_price(order)
        if arrival is None:
            raise ParamsError(
                f"no price for {order.instrument_id} in the cache yet (no quote, trade or bar), "
                "so there is no arrival price to execute against"
            )
        price, price_type = arrival
        plan = plan_slices(
            quantity=order.quantity.as_decimal(),
            is_sell=order.side == OrderSide.SELL,
            size_increment=instrument.size_increment.as_decimal(),
            params=impact,
            horizon_ns=params.horizon_ns,
            slices=params.slices,
            risk_aversion=params.risk_aversion,
        )
        currency = instrument.quote_currency
        multiplier = instrument.multiplier.as_decimal()
        expected = (Decimal(repr(plan.expected_cost)) * multiplier).quantize(
            Decimal(1).scaleb(-currency.precision)
        )
        started = ParentStarted(
            exec_algorithm_id=self.id.value,
            parent_order_id=order.client_order_id.value,
            strategy_id=order.strategy_id.value,
            instrument_id=order.instrument_id.value,
            side=order.side_string(),
            quantity=order.quantity.as_decimal(),
            arrival_price=price.as_decimal(),
            arrival_price_type=price_type,
            multiplier=multiplier,
            currency=currency.code,
            horizon_ns=params.horizon_ns,
            planned_slices=params.slices,
            slices=len(plan.slices),
            risk_aversion=params.risk_aversion,
            expected_cost=expected,
            ts_arrival=self.clock.timestamp_ns(),
        )
        return started, plan.slices

    def _arrival_price(self, order: Order) -> tuple[Price, str] | None:
        """Mid from quotes if there are any, else the last trade or bar close."""
        for price_type, name in ((PriceType.MID, "MID"), (PriceType.LAST, "LAST")):
            price = self.cache.price(order.instrument_id, price_type)
            if price is not None:
                return price, name
        return None

    def _deny(self, order: Order, reason: str) -> None:
        """Deny the parent as the RiskEngine would: the strategy gets ``on_order_denied(reason)``."""
        self.log.warning(f"Denied {order.client_order_id}: {reason}")
        denied = OrderDenied(
            trader_id=order.trader_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            reason=reason,
            event_id=UUID4(),
            ts_init=self.clock.timestamp_ns(),
        )
        self.msgbus.send("ExecEngine.process", denied)

    # -- slices --------------------------------------------------------------------------------------

    def _advance(self, program: _Program) -> None:
        """Send every slice that is due, then set an alert for the next one (or finish)."""
        now = self.clock.timestamp_ns()
        while not program.done and program.ts_arrival + program.slices[program.next_slice].offset_ns <= now:
            if not self._send_slice(program):
                return
        if program.done:
            self._finish(program, "COMPLETED", None, cancel_parent=False)
            return
        due = program.ts_arrival + program.slices[program.next_slice].offset_ns
        name = f"{self.id.value}-{program.parent_id.value}-{program.slices[program.next_slice].index}"
        program.alert = name
        self._alerts[name] = program.parent_id
        self.clock.set_time_alert_ns(name, due, callback=self._on_slice_due)

    def _send_slice(self, program: _Program) -> bool:
        """Submit the next slice; False if the program ended meanwhile (e.g. a synchronous denial)."""
        parent = self.cache.order(program.parent_id)
        if parent is None or not parent.is_active_local:
            self._finish(
                program, "CANCELED", "parent is no longer held by the algorithm", cancel_parent=False
            )
            return False
        piece = program.slices[program.next_slice]
        program.next_slice += 1
        if program.done:
            # The last slice is the parent itself, reduced by every child before it.
            sent = parent
        else:
            instrument = self.cache.instrument(parent.instrument_id)
            sent = self.spawn_market(
                primary=parent,
                quantity=instrument.make_qty(piece.quantity),
                time_in_force=parent.time_in_force,
                reduce_only=parent.is_reduce_only,
                tags=parent.tags,
            )
        self.submit_order(sent)
        # In backtest the RiskEngine answers inline, possibly before the algorithm subscribed to this
        # strategy's order events (its first parent), so look at the slice's state as well.
        status = sent.status_string()
        if status in ("DENIED", "REJECTED"):
            why = getattr(sent.last_event, "reason", "")
            self._abort_on_child(
                sent.client_order_id, f"slice {sent.client_order_id} {status.lower()}: {why}"
            )
        return program.parent_id in self._programs

    def _on_slice_due(self, event: TimeEvent) -> None:
        parent_id = self._alerts.pop(event.name, None)
        program = self._programs.get(parent_id) if parent_id is not None else None
        if program is None or program.alert != event.name:
            return
        program.alert = None
        self._advance(program)

    # -- ending a program ----------------------------------------------------------------------------

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """A canceled parent (strategy, kill switch) drops the rest of its schedule."""
        program = self._programs.get(event.client_order_id)
        if program is not None:
            self._finish(program, "CANCELED", "parent canceled", cancel_parent=False)

    def on_order_denied(self, event: OrderDenied) -> None:
        """A denied slice (risk limits, trading halted) ends its program."""
        self._abort_on_child(event.client_order_id, f"slice {event.client_order_id} denied: {event.reason}")

    def on_order_rejected(self, event: OrderRejected) -> None:
        """A slice the venue rejected ends its program."""
        self._abort_on_child(event.client_order_id, f"slice {event.client_order_id} rejected: {event.reason}")

    def _abort_on_child(self, client_order_id: ClientOrderId, reason: str) -> None:
        order = self.cache.order(client_order_id)
        if order is None or order.exec_spawn_id is None:
            return
        program = self._programs.get(order.exec_spawn_id)
        if program is not None:
            self._finish(program, "ABORTED", reason, cancel_parent=True)

    def _watch_strategy(self, strategy_id: StrategyId) -> None:
        # Exact topic, subscribed when first needed: unaffected by the 1.221 late-wildcard bug.
        if strategy_id in self._watched_strategies:
            return
        self._watched_strategies.add(strategy_id)
        self.msgbus.subscribe(f"events.system.{strategy_id.value}", self._on_strategy_state)

    def _on_strategy_state(self, event: ComponentStateChanged) -> None:
        if event.state != ComponentState.STOPPED:
            return
        for program in [
            p for p in self._programs.values() if p.strategy_id.value == event.component_id.value
        ]:
            self._finish(program, "STOPPED", f"strategy {event.component_id} stopped", cancel_parent=True)

    def _finish(self, program: _Program, status: str, reason: str | None, cancel_parent: bool) -> None:
        if self._programs.pop(program.parent_id, None) is None:
            return
        if program.alert is not None:
            self._alerts.pop(program.alert, None)
            if program.alert in self.clock.timer_names:
                self.clock.cancel_timer(program.alert)
            program.alert = None
        if cancel_parent:
            self._cancel_parent(program.parent_id)
        sent = program.next_slice
        self.msgbus.publish(
            PARENT_FINISHED_TOPIC,
            ParentFinished(
                parent_order_id=program.parent_id.value,
                status=status,
                reason=reason,
                slices_sent=sent,
                ts=self.clock.timestamp_ns(),
            ),
        )
        if reason is not None:
            self.log.warning(
                f"{program.parent_id} {status}: {reason} after {sent}/{len(program.slices)} slices"
            )

    def _cancel_parent(self, parent_id: ClientOrderId) -> None:
        """Cancel the unsent rest of a parent the algorithm still holds, so its strategy sees it end."""
        parent = self.cache.order(parent_id)
        if parent is None or not parent.is_active_local:
            return
        now = self.clock.timestamp_ns()
        canceled = OrderCanceled(
            trader_id=parent.trader_id,
            strategy_id=parent.strategy_id,
            instrument_id=parent.instrument_id,
            client_order_id=parent.client_order_id,
            venue_order_id=parent.venue_order_id,
            account_id=parent.account_id,
            event_id=UUID4(),
            ts_event=now,
            ts_init=now,
        )
        parent.apply(canceled)
        self.cache.update_order(parent)
        self.msgbus.publish(f"events.order.{parent.strategy_id.value}", canceled)

    # -- lifecycle -----------------------------------------------------------------------------------

    def on_stop(self) -> None:
        """Drop every remaining slice: nothing is sent by a stopped algorithm."""
        for program in list(self._programs.values()):
            self._finish(program, "STOPPED", "execution algorithm stopped", cancel_parent=True)
        self.clock.cancel_timers()

    def on_reset(self) -> None:
        """Forget all programs (the kernel resets between backtest runs)."""
        self._programs.clear()
        self._alerts.clear()
        self._watched_strategies.clear()
