"""The pre-trade gate: our controls in front of Nautilus's RiskEngine, on the ``RiskEngine.execute`` endpoint.

Every submit, order list and modify reaches that endpoint in every mode (strategies, the order emulator
and execution algorithms all send there; NAUTILUS-1.221-NOTES §c), so one gate covers backtest, paper
and live. The gate runs the chain; on a denial it sends Nautilus's own ``OrderDenied`` (or, for a
modify, ``OrderModifyRejected``) to ``ExecEngine.process``, so the strategy sees
``on_order_denied(event)`` with ``event.reason == "MAX_ORDER_QTY: order 12 > limit 10 for ESZ6.CME"``.
Allowed commands go on to the RiskEngine, whose own checks (precision, trading state, its throttle)
still run. Every decision is published as a ``RiskDecision`` on ``TOPIC_RISK_DECISION``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import ModifyOrder, SubmitOrder, SubmitOrderList
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderDenied, OrderModifyRejected
from nautilus_trader.model.orders import Order

from macrofund.positions import strategy_net_position
from macrofund.risk.context import Denial, OrderIntent, RiskContext, modify_intent, submit_intent
from macrofund.risk.controls import PreTradeControl
from macrofund.risk.events import TOPIC_RISK_DECISION, RiskDecision
from macrofund.risk.limits import LimitResolver
from macrofund.risk.order_list import ListExposure
from macrofund.risk.scopes import HaltedScopes

ENDPOINT = "RiskEngine.execute"
EMULATOR_ENDPOINT = "OrderEmulator.execute"
_ZERO = Decimal(0)


class PreTradeGate:
    """Runs the control chain on each submit/modify and forwards what passes to the RiskEngine."""

    def __init__(
        self,
        *,
        msgbus: Any,
        cache: Any,
        clock: Any,
        forward: Callable[[Any], None],
        controls: list[PreTradeControl],
        context: RiskContext,
        resolver: LimitResolver,
        halts: HaltedScopes,
    ) -> None:
        self._msgbus = msgbus
        self._cache = cache
        self._clock = clock
        self._forward = forward
        self.controls = controls
        self.context = context
        self._resolver = resolver
        self.halts = halts
        self.checked = 0
        self.allowed = 0
        self.denied: Counter[str] = Counter()
        # Work a control asked for that must run after the current command (e.g. the loss-limit kill).
        self._after: list[Callable[[], None]] = []
        self.in_command = False

    # -- the endpoint -------------------------------------------------------------------------------

    def execute(self, command: Any) -> None:
        """The ``RiskEngine.execute`` handler."""
        self._execute(command, self._forward)

    def guard(self, forward: Callable[[Any], None]) -> Callable[[Any], None]:
        """A handler that judges commands like ``execute`` and hands what passes to ``forward``.

        For ``OrderEmulator.execute``: Nautilus 1.221 routes an emulated order (an emulation trigger
        set) and its modifies to the emulator, which later releases it straight to ``ExecEngine.execute``;
        neither step passes ``RiskEngine.execute``. Judged here, it is checked when it is submitted.
        """

        def execute(command: Any) -> None:
            self._execute(command, forward)

        return execute

    def _execute(self, command: Any, forward: Callable[[Any], None]) -> None:
        kind = type(command)
        self.in_command = True
        try:
            if kind is SubmitOrder:
                self._submit(command, forward)
            elif kind is SubmitOrderList:
                self._submit_list(command, forward)
            elif kind is ModifyOrder:
                self._modify(command, forward)
            else:
                forward(command)
        finally:
            self.in_command = False
        if self._after:
            pending, self._after = self._after, []
            for work in pending:
                work()

    def now_ns(self) -> int:
        """The kernel clock's time."""
        return int(self._clock.timestamp_ns())

    def run_after_command(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the command being checked is finished (never re-enter the chain mid-check)."""
        self._after.append(work)

    # -- commands -----------------------------------------------------------------------------------

    def _submit(self, command: SubmitOrder, forward: Callable[[Any], None]) -> None:
        order = command.order
        instrument = self._cache.instrument(order.instrument_id)
        if instrument is None or order.status != OrderStatus.INITIALIZED:
            forward(command)  # the RiskEngine denies unknown instruments with its own reason
            return
        ts = self._clock.timestamp_ns()
        limits = self._resolver.for_instrument(order.instrument_id.value)
        intent = submit_intent("SubmitOrder", order, instrument, limits, ts)
        denial = self._judge(intent)
        self._publish(intent, denial)
        if denial is None:
            forward(command)
        else:
            self._deny_order(order, denial.text, ts)

    def _submit_list(self, command: SubmitOrderList, forward: Callable[[Any], None]) -> None:
        instrument = self._cache.instrument(command.instrument_id)
        orders = command.order_list.orders
        if instrument is None:
            forward(command)
            return
        ts = self._clock.timestamp_ns()
        limits = self._resolver.for_instrument(command.instrument_id.value)
        intents = [submit_intent("SubmitOrderList", o, instrument, limits, ts) for o in orders]
        denial: Denial | None = None
        together = ListExposure()  # each order is judged with the list's earlier ones working
        try:
            for intent in intents:
                self.context.pending = (intent.instrument_id, intent.venue, together.before(intent))
                intent.added_quantity = together.added(intent)
                denial = self._judge(intent, remember=False)
                if denial is not None:
                    list_id = command.order_list.id.value
                    denial = Denial(denial.code, f"{denial.reason} (order list {list_id})")
                    break
                together.add(intent)
        finally:
            self.context.pending = None
        if denial is None:
            for intent in intents:
                for control in self.controls:
                    control.on_allowed(intent)
        for intent in intents:
            self._publish(intent, denial)
        if denial is None:
            forward(command)
        else:
            for order in orders:
                if order.status == OrderStatus.INITIALIZED:
                    self._deny_order(order, denial.text, ts)

    def _modify(self, command: ModifyOrder, forward: Callable[[Any], None]) -> None:
        order = self._cache.order(command.client_order_id)
        instrument = self._cache.instrument(command.instrument_id)
        if order is None or instrument is None or order.is_closed:
            forward(command)
            return
        ts = self._clock.timestamp_ns()
        limits = self._resolver.for_instrument(command.instrument_id.value)
        intent = modify_intent(order, command, instrument, limits, ts)
        denial = self._judge(intent)
        self._publish(intent, denial)
        if denial is None:
            forward(command)
        else:
            self._reject_modify(order, denial.text, ts)

    # -- the chain ----------------------------------------------------------------------------------

    def judge(self, intent: OrderIntent) -> Denial | None:
        """Run the chain on ``intent`` without sending anything (what the benchmark and tests time)."""
        return self._judge(intent)

    def _judge(self, intent: OrderIntent, remember: bool = True) -> Denial | None:
        self.checked += 1
        if self.halts:
            halt = self.halts.match(intent.instrument_id, intent.venue, intent.strategy_id)
            if halt is not None:
                if halt.state == "reducing" and self._reduces_position(intent):
                    # Flatten orders (the kill switch's, an execution algorithm's children, the
                    # strategy's own) must never be blocked by a limit while a kill is reducing.
                    self.allowed += 1
                    return None
                return self._denied(Denial("KILL_SWITCH", halt.sentence()))
        for control in self.controls:
            try:
                denial = control.check(intent, self.context)
            except Exception as exc:  # fail closed: a broken control never lets an order through
                denial = Denial("RISK_ERROR", f"{control.code} check failed: {type(exc).__name__}: {exc}")
            if denial is not None:
                return self._denied(denial)
        if remember:
            for control in self.controls:
                control.on_allowed(intent)
        self.allowed += 1
        return None

    def _denied(self, denial: Denial) -> Denial:
        self.denied[denial.code] += 1
        return denial

    def _reduces_position(self, intent: OrderIntent) -> bool:
        # Against the position of the order's own strategy (flatten orders close it through its owner):
        # against the instrument's net over all strategies, a strategy short under another's larger
        # long could never buy back, and the kill would stay "reducing".
        if intent.command == "ModifyOrder":
            return False
        order = intent.order
        net = strategy_net_position(self._cache, order.strategy_id, order.instrument_id)
        if net == _ZERO or (net > _ZERO) == intent.is_buy:
            return False
        return intent.quantity <= abs(net)

    # -- outcomes -----------------------------------------------------------------------------------

    def _publish(self, intent: OrderIntent, denial: Denial | None) -> None:
        order = intent.order
        self._msgbus.publish(
            TOPIC_RISK_DECISION,
            RiskDecision(
                ts_event=intent.ts,
                trader_id=order.trader_id.value,
                strategy_id=intent.strategy_id,
                instrument_id=intent.instrument_id,
                client_order_id=order.client_order_id.value,
                command=intent.command,
                side=intent.side,
                quantity=str(intent.quantity),
                price=str(intent.price) if intent.price is not None else None,
                order_type=order.type_string(),
                allowed=denial is None,
                reason_code=denial.code if denial is not None else None,
                reason=denial.text if denial is not None else None,
            ),
        )

    def _deny_order(self, order: Order, reason: str, ts: int) -> None:
        if not self._cache.order_exists(order.client_order_id):
            self._cache.add_order(order)
        denied = OrderDenied(
            trader_id=order.trader_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            reason=reason,
            event_id=UUID4(),
            ts_init=ts,
        )
        self._msgbus.send("ExecEngine.process", denied)

    def _reject_modify(self, order: Order, reason: str, ts: int) -> None:
        rejected = OrderModifyRejected(
            trader_id=order.trader_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            account_id=order.account_id,
            reason=reason,
            event_id=UUID4(),
            ts_event=ts,
            ts_init=ts,
        )
        self._msgbus.send("ExecEngine.process", rejected)
