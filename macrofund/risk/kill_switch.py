"""The kill switch: one idempotent action that stops trading in a scope, the same way in every mode.

Sequence (NAUTILUS-1.221-NOTES §c): the gate starts denying new risk in the scope (only orders that
reduce their own strategy's position pass), every working order in scope is cancelled and, when
asked, every position is closed, both through the strategy that owns it (a separate strategy would
open its own NETTING position instead of closing the original), and only once the scope is flat does
the state become HALTED (for scope ``all`` Nautilus's trading state too). Setting HALTED first would
deny the flatten orders still queued in the live and paper engines. Orders that were in flight when
the switch was pulled are cancelled as soon as the venue accepts them. Each step is published as a
``KillSwitchStep`` on ``TOPIC_KILL_SWITCH``.

Re-enabling is a separate call (``reenable``), published the same way. Calling ``kill`` again on a
scope already killed changes nothing and publishes one ``noop`` step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import OrderStatus, TradingState
from nautilus_trader.model.events import OrderAccepted, OrderDenied, OrderTriggered, OrderUpdated
from nautilus_trader.model.identifiers import ExecAlgorithmId
from nautilus_trader.model.orders import Order
from nautilus_trader.model.position import Position
from nautilus_trader.trading.strategy import Strategy

from macrofund.risk.api import KillSwitchRequest
from macrofund.risk.config import KillSwitchConfig, check_scope
from macrofund.risk.events import TOPIC_KILL_SWITCH, KillSwitchStep
from macrofund.risk.scopes import HaltedScopes, ScopeHalt, names_venue, scope_matches

Trigger = Literal["operator", "loss_limit", "program", "drill"]
KILL_TAG = "KILL_SWITCH"
AC_ALGORITHM = "AC"
_LATE_ORDER_EVENTS = (OrderAccepted, OrderTriggered, OrderUpdated)


@dataclass(frozen=True)
class KillResult:
    """What one ``kill``/``reenable`` call did."""

    action_id: str
    outcome: Literal["halted", "reducing", "noop", "reenabled", "refused"]
    detail: str


class KillSwitch:
    """Halts, cancels and flattens by scope; re-enables on explicit request. Kernel thread only."""

    def __init__(
        self,
        *,
        msgbus: Any,
        cache: Any,
        clock: Any,
        risk_engine: Any,
        trader: Any,
        halts: HaltedScopes,
        config: KillSwitchConfig,
    ) -> None:
        self._msgbus = msgbus
        self._cache = cache
        self._clock = clock
        self._risk_engine = risk_engine
        self._trader = trader
        self.halts = halts
        self.config = config
        self.steps: list[KillSwitchStep] = []
        self.actions: list[dict[str, Any]] = []

    # -- the two actions ----------------------------------------------------------------------------

    def kill(
        self,
        scope: str = "all",
        *,
        trigger: Trigger = "program",
        reason: str = "",
        flatten: bool | None = None,
    ) -> KillResult:
        """Stop trading in ``scope``: deny new risk, cancel working orders, optionally flatten, then HALT.

        ``flatten=None`` uses ``[risk.kill_switch] flatten``. Idempotent: a scope already killed (or
        covered by a kill of ``all``) is left as it is.
        """
        check_scope(scope)
        unknown = self.unknown_target(scope)
        if unknown is not None:
            # A typo ("strategy:EmaCross-01") would otherwise halt a scope no order falls under and
            # report "halted" while the strategy meant goes on trading.
            action_id = UUID4().value
            self._step(action_id, "refused", scope, trigger, f"{unknown} ({reason})" if reason else unknown)
            self._record(action_id, "kill", scope, trigger, "refused", reason)
            return KillResult(action_id, "refused", unknown)
        do_flatten = self.config.flatten if flatten is None else flatten
        existing = self.halts.covering(scope)
        if existing is not None:
            action_id = UUID4().value
            detail = f"already {existing.state} by action {existing.action_id} ({existing.trigger})"
            self._step(action_id, "noop", scope, trigger, detail)
            self._record(action_id, "kill", scope, trigger, "noop", reason)
            return KillResult(action_id, "noop", detail)
        action_id = UUID4().value
        self._step(action_id, "triggered", scope, trigger, reason or f"kill (flatten={do_flatten})")
        halt = ScopeHalt(scope=scope, state="reducing", action_id=action_id, trigger=trigger, reason=reason)
        self.halts.active[scope] = halt
        # No Nautilus REDUCING while positions close: it judges an order against the instrument's net
        # over all strategies, so with A long 2 and B short 1 it denies B's buy-back and the scope never
        # gets flat. The gate allows exactly the orders that reduce their own strategy's position.
        cancelled = self._cancel_working(scope)
        self._step(action_id, "cancel", scope, trigger, f"cancel requested for {cancelled} working order(s)")
        if do_flatten:
            self._step(action_id, "flatten", scope, trigger, self._flatten(scope))
        if not do_flatten or not self._positions_in(scope):
            self._halt(halt)
        outcome: Literal["halted", "reducing"] = "halted" if halt.state == "halted" else "reducing"
        self._record(action_id, "kill", scope, trigger, outcome, reason)
        return KillResult(action_id, outcome, halt.sentence())

    def reenable(self, scope: str = "all", *, trigger: Trigger = "operator", reason: str = "") -> KillResult:
        """Lift the kill on ``scope`` (``all`` lifts every kill). Separate and explicit by design."""
        check_scope(scope)
        action_id = UUID4().value
        lifted = list(self.halts.active) if scope == "all" else [s for s in self.halts.active if s == scope]
        if not lifted:
            detail = f"no kill in force for scope {scope}"
            self._step(action_id, "noop", scope, trigger, detail)
            self._record(action_id, "reenable", scope, trigger, "noop", reason)
            return KillResult(action_id, "noop", detail)
        for lifted_scope in lifted:
            del self.halts.active[lifted_scope]
        if not self.halts.active and self._risk_engine.trading_state != TradingState.ACTIVE:
            self._risk_engine.set_trading_state(TradingState.ACTIVE)
            self._step(action_id, "trading_state", scope, trigger, "ACTIVE")
        detail = f"re-enabled {', '.join(lifted)}" + (f": {reason}" if reason else "")
        self._step(action_id, "reenabled", scope, trigger, detail)
        self._record(action_id, "reenable", scope, trigger, "reenabled", reason)
        return KillResult(action_id, "reenabled", detail)

    def unknown_target(self, scope: str) -> str | None:
        """Why ``scope`` names nothing in this run (no such strategy, instrument or account), or ``None``."""
        if scope == "all":
            return None
        kind, _, value = scope.partition(":")
        if kind == "strategy":
            known = set(self._strategies())
            found = value in known
        elif kind == "instrument":
            known = {i.id.value for i in self._cache.instruments()}
            found = value in known
        else:
            known = {i.id.venue.value for i in self._cache.instruments()}
            known |= {a.id.get_issuer() for a in self._cache.accounts()}
            found = any(names_venue(value, venue) for venue in known)
        if found:
            return None
        names = ", ".join(sorted(known)) or "none"
        plural = "strategies" if kind == "strategy" else f"{kind}s"
        return f"no {kind} {value} in this run ({plural}: {names}); nothing was halted"

    def handle_request(self, request: KillSwitchRequest) -> None:
        """The ``KILL_SWITCH_ENDPOINT`` handler: a programmatic kill or re-enable."""
        if request.action == "reenable":
            self.reenable(request.scope, trigger="program", reason=request.reason)
        else:
            self.kill(request.scope, trigger="program", reason=request.reason, flatten=request.flatten)

    # -- bus hooks (subscribed by the component at install) -----------------------------------------

    def on_order_event(self, event: Any) -> None:
        """Cancel an order the venue accepted after the kill (it was in flight when we cancelled).

        Also: a flatten order the AC algorithm refused (e.g. no impact parameters for the instrument)
        falls back to a market order, so a kill never leaves a position open for want of a model.
        """
        if not self.halts.active:
            return
        if isinstance(event, OrderDenied):
            self._flatten_fallback(event)
            return
        if not isinstance(event, _LATE_ORDER_EVENTS):
            return
        order = self._cache.order(event.client_order_id)
        if order is None or not order.is_open or order.is_pending_cancel:
            return
        halt = self.halts.match(
            order.instrument_id.value, order.instrument_id.venue.value, order.strategy_id.value
        )
        if halt is None:
            return
        strategy = self._strategies().get(order.strategy_id.value)
        if strategy is not None:
            strategy.cancel_order(order)
            self._step(
                halt.action_id,
                "cancel",
                halt.scope,
                halt.trigger,
                f"late order {order.client_order_id.value}",
            )

    def _flatten_fallback(self, event: OrderDenied) -> None:
        order = self._cache.order(event.client_order_id)
        if order is None or order.exec_algorithm_id is None or KILL_TAG not in (order.tags or ()):
            return
        halt = self.halts.match(
            order.instrument_id.value, order.instrument_id.venue.value, order.strategy_id.value
        )
        strategy = self._strategies().get(order.strategy_id.value)
        if halt is None or strategy is None:
            return
        positions = [p for p in self._positions_in(halt.scope) if p.instrument_id == order.instrument_id]
        for position in positions:
            if position.strategy_id == order.strategy_id:
                strategy.close_position(position, tags=[KILL_TAG])
        denied = f"AC flatten order {order.client_order_id.value} denied ({event.reason})"
        detail = f"{denied}; closing with market orders"
        self._step(halt.action_id, "flatten", halt.scope, halt.trigger, detail)

    def on_position_event(self, event: Any) -> None:
        """HALT a reducing scope once its last position is closed."""
        if not self.halts.active:
            return
        for halt in list(self.halts.active.values()):
            if halt.state == "reducing" and not self._positions_in(halt.scope):
                self._halt(halt)

    def cancel_order(self, order: Order) -> None:
        """Cancel ``order`` through its owning strategy (used by self-trade prevention too)."""
        strategy = self._strategies().get(order.strategy_id.value)
        if strategy is not None:
            strategy.cancel_order(order)

    # -- steps --------------------------------------------------------------------------------------

    def _halt(self, halt: ScopeHalt) -> None:
        halt.state = "halted"
        for action in self.actions:
            if action["action_id"] == halt.action_id:
                action["outcome"] = "halted"
        if halt.scope == "all":
            self._risk_engine.set_trading_state(TradingState.HALTED)
            self._step(halt.action_id, "trading_state", halt.scope, halt.trigger, "HALTED")
        self._step(halt.action_id, "halted", halt.scope, halt.trigger, halt.sentence())

    def _strategies(self) -> dict[str, Strategy]:
        return {s.id.value: s for s in self._trader.strategies()}

    def _in_scope(self, scope: str, item: Order | Position) -> bool:
        iid = item.instrument_id
        return scope_matches(scope, iid.value, iid.venue.value, item.strategy_id.value)

    def _positions_in(self, scope: str) -> list[Position]:
        return [p for p in self._cache.positions_open() if self._in_scope(scope, p)]

    def _cancel_working(self, scope: str) -> int:
        cache = self._cache
        count = 0
        for strategy_id, strategy in self._strategies().items():
            sid = strategy.id
            working = cache.orders_open(strategy_id=sid) + cache.orders_emulated(strategy_id=sid)
            instruments = {o.instrument_id for o in working if self._in_scope(scope, o)}
            count += sum(1 for o in working if self._in_scope(scope, o))
            for instrument_id in sorted(instruments, key=lambda i: i.value):
                strategy.cancel_all_orders(instrument_id)
            # Parent orders held by an execution algorithm are not "open" at a venue; cancel them too
            # so the algorithm sends no more slices.
            for algorithm_id in cache.exec_algorithm_ids():
                for order in cache.orders_for_exec_algorithm(algorithm_id):
                    if (
                        order.strategy_id.value == strategy_id
                        and order.status
                        in (OrderStatus.INITIALIZED, OrderStatus.EMULATED, OrderStatus.RELEASED)
                        and order.instrument_id not in instruments
                        and self._in_scope(scope, order)
                    ):
                        strategy.cancel_order(order)
                        count += 1
        return count

    def _flatten(self, scope: str) -> str:
        strategies = self._strategies()
        use_ac = (
            self.config.flatten_with == AC_ALGORITHM and f"{AC_ALGORITHM}.execute" in self._msgbus.endpoints()
        )
        closed, unowned = 0, []
        for position in self._positions_in(scope):
            strategy = strategies.get(position.strategy_id.value)
            if strategy is None:
                unowned.append(position.id.value)
                continue
            if use_ac:
                order = strategy.order_factory.market(
                    instrument_id=position.instrument_id,
                    order_side=Order.closing_side(position.side),
                    quantity=position.quantity,
                    reduce_only=True,
                    exec_algorithm_id=ExecAlgorithmId(AC_ALGORITHM),
                    exec_algorithm_params=dict(self.config.ac_params),
                    tags=[KILL_TAG],
                )
                strategy.submit_order(order, position_id=position.id)
            else:
                strategy.close_position(position, tags=[KILL_TAG])
            closed += 1
        how = "the AC algorithm" if use_ac else "market orders"
        if self.config.flatten_with == AC_ALGORITHM and not use_ac:
            how += " (AC algorithm not registered)"
        detail = f"closing {closed} position(s) with {how}"
        if unowned:
            detail += f"; {len(unowned)} position(s) have no running owner strategy: {', '.join(unowned)}"
        return detail

    def _step(self, action_id: str, step: str, scope: str, trigger: str, detail: str) -> None:
        event = KillSwitchStep(
            ts_event=self._clock.timestamp_ns(),
            action_id=action_id,
            step=step,
            scope=scope,
            trigger=trigger,
            detail=detail,
        )
        self.steps.append(event)
        self._msgbus.publish(TOPIC_KILL_SWITCH, event)

    def _record(
        self, action_id: str, action: str, scope: str, trigger: str, outcome: str, reason: str
    ) -> None:
        self.actions.append(
            {
                "ts": self._clock.timestamp_ns(),
                "action_id": action_id,
                "action": action,
                "scope": scope,
                "trigger": trigger,
                "outcome": outcome,
                "reason": reason,
            }
        )
