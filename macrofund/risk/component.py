"""Installs pre-trade risk and the kill switch on a kernel, the same way in every mode.

``install(handle)`` builds the control chain from ``[risk]``, puts the ``PreTradeGate`` on the
``RiskEngine.execute`` endpoint (deregister, then register: the bus refuses a second handler), wires
the kill switch to the order/position/account topics (subscribed now, before anything is published:
1.221 drops late wildcard subscriptions) and adds the kill-switch actor. It returns the
``RunComponent`` that writes ``risk_limits.json`` and the ``risk`` summary section.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nautilus_trader.model.events import AccountState, OrderPendingCancel

from macrofund.config.run_config import RunConfig
from macrofund.engine.components import KernelHandle
from macrofund.errors import ConfigError, UnknownInstrumentError
from macrofund.risk.actor import KillSwitchActor
from macrofund.risk.api import KILL_SWITCH_ENDPOINT
from macrofund.risk.config import RiskConfig, instrument_key_kind
from macrofund.risk.context import RiskContext
from macrofund.risk.control_files import control_dir
from macrofund.risk.controls import (
    AccountPositionLimitCheck,
    CancelModifyThrottle,
    DailyLossLimitCheck,
    DuplicateOrderCheck,
    MaxOrderNotionalCheck,
    MaxOrderQuantityCheck,
    OrderRateThrottle,
    PositionLimitCheck,
    PreTradeControl,
    PriceCollarCheck,
    SelfTradeCheck,
)
from macrofund.risk.exposure import convert_rate
from macrofund.risk.gate import EMULATOR_ENDPOINT, ENDPOINT, PreTradeGate
from macrofund.risk.kill_switch import KillSwitch
from macrofund.risk.limits import LimitResolver, contract_root
from macrofund.risk.scopes import HaltedScopes, names_venue
from macrofund.risk.working_orders import WorkingOrderBook

NS = 1_000_000_000
BOOK_PRIORITY = 10


def _ns(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1) * 1000


def utc_ns(moment: datetime) -> int:
    """Exact UTC nanoseconds of an aware datetime (no float round trip)."""
    return _ns(moment - datetime(1970, 1, 1, tzinfo=UTC))


def account_currencies(config: RunConfig) -> dict[str, str]:
    """The currency each venue account's limits and losses are measured in: base, else first balance."""
    out = {}
    for venue in config.venues:
        out[venue.name] = venue.base_currency or venue.starting_balances[0].split()[-1]
    return out


def validate_references(config: RunConfig) -> None:
    """Cross-checks ``[risk]`` against venues and instruments: a typo is a one-line ``ConfigError``."""
    risk = config.risk
    where = str(config.source) if config.source else "run config"
    venues = [v.name for v in config.venues]
    ids = [i.id for i in config.instruments]
    roots = {contract_root(i) for i in ids}
    for name in risk.accounts:
        if name not in venues:
            raise ConfigError(
                f"{where}: risk.accounts.{name}: no [[venues]] entry named {name} (venues: {venues})"
            )
    for key in risk.instruments:
        kind = instrument_key_kind(key)
        if kind == "instrument" and key not in ids:
            raise ConfigError(f"{where}: risk.instruments.{key}: not listed in [[instruments]] {ids}")
        if kind == "root" and key not in roots:
            raise ConfigError(
                f"{where}: risk.instruments.{key}: no listed instrument has root {key} "
                f"(roots: {sorted(roots)})"
            )
    if risk.kill_switch.drill_at is not None:
        # A drill on a scope that names nothing would "halt" nothing and look like a passed drill.
        # (Strategy ids exist only once the strategies are built; the kill switch refuses those.)
        scope_kind, _, value = risk.kill_switch.drill_scope.partition(":")
        if scope_kind == "account" and not any(names_venue(value, venue) for venue in venues):
            raise ConfigError(
                f"{where}: risk.kill_switch.drill_scope: no [[venues]] entry named {value} (venues: {venues})"
            )
        if scope_kind == "instrument" and value not in ids:
            raise ConfigError(
                f"{where}: risk.kill_switch.drill_scope: {value} not listed in [[instruments]] {ids}"
            )
    currencies = account_currencies(config)
    resolver = LimitResolver(risk)
    for instrument_id in ids:
        venue = instrument_id.rsplit(".", 1)[1]
        limits = resolver.for_instrument(instrument_id)
        needs_rate = limits.max_order_notional is not None
        if not needs_rate:
            continue
        try:
            from macrofund.venues.contracts import spec_for_symbol

            quote = spec_for_symbol(instrument_id.rsplit(".", 1)[0]).currency
        except UnknownInstrumentError:
            continue  # the instrument loader reports unknown instruments with its own message
        if convert_rate(risk.fx_rates, quote, currencies[venue]) is None:
            raise ConfigError(
                f"{where}: risk.fx_rates: no rate {quote}/{currencies[venue]} to value {instrument_id} "
                f"orders in account {venue}'s currency (max_order_notional is set)"
            )


def build_controls(
    risk: RiskConfig,
    kill_switch: KillSwitch,
    on_loss_breach: Callable[[str, str], None],
) -> tuple[list[PreTradeControl], CancelModifyThrottle | None, DailyLossLimitCheck | None]:
    """The chain, cheapest and most decisive first; controls with nothing configured are left out."""
    layers = [risk.defaults, *risk.instruments.values()]
    has = {
        name: any(getattr(lim, name) is not None for lim in layers)
        for name in type(risk.defaults).model_fields
    }
    controls: list[PreTradeControl] = []
    cancel_throttle = None
    if risk.throttle.orders_per_second is not None:
        controls.append(OrderRateThrottle(risk.throttle.orders_per_second))
    if risk.throttle.cancels_modifies_per_window is not None:
        cancel_throttle = CancelModifyThrottle(
            risk.throttle.cancels_modifies_per_window, _ns(risk.throttle.window)
        )
        controls.append(cancel_throttle)
    if has["max_order_qty"]:
        controls.append(MaxOrderQuantityCheck())
    if has["collar_ticks"] or has["collar_bps"]:
        controls.append(PriceCollarCheck())
    if has["max_order_notional"]:
        controls.append(MaxOrderNotionalCheck())
    if risk.duplicates.window is not None:
        controls.append(DuplicateOrderCheck(risk.duplicates))
    if risk.self_trade.scope != "off":
        controls.append(SelfTradeCheck(risk.self_trade, kill_switch.cancel_order))
    if has["max_long"] or has["max_short"] or has["max_net"] or has["max_gross"]:
        controls.append(PositionLimitCheck())
    account_limits = AccountPositionLimitCheck(risk.accounts)
    if account_limits.active:
        controls.append(account_limits)
    loss = DailyLossLimitCheck(risk.accounts, on_loss_breach)
    if loss.active:
        controls.append(loss)
    return controls, cancel_throttle, (loss if loss.active else None)


@dataclass
class RiskComponent:
    """The installed gate, kill switch and actor; writes ``risk_limits.json`` and the summary section."""

    config: RunConfig
    gate: PreTradeGate
    kill_switch: KillSwitch
    actor: KillSwitchActor
    resolver: LimitResolver
    name: str = "risk"

    def on_run_end(self, ts_ns: int) -> None:
        self.actor.mark_ended(ts_ns)

    def effective_limits(self) -> dict[str, Any]:
        """The limits in force, per instrument and account, exactly as the controls apply them."""
        risk = self.config.risk
        return {
            "instruments": {
                i.id: self.resolver.for_instrument(i.id).to_dict() for i in self.config.instruments
            },
            "accounts": {name: a.model_dump(mode="json") for name, a in risk.accounts.items()},
            "account_currency": self.gate.context.account_currency,
            "fx_rates": {k: str(v) for k, v in risk.fx_rates.items()},
            "throttle": risk.throttle.model_dump(mode="json"),
            "duplicates": risk.duplicates.model_dump(mode="json"),
            "self_trade": risk.self_trade.model_dump(mode="json"),
            "kill_switch": risk.kill_switch.model_dump(mode="json"),
            "controls": [c.code for c in self.gate.controls],
        }

    def write_outputs(self, out_dir: Path) -> dict[str, Path]:
        path = out_dir / "risk_limits.json"
        path.write_text(json.dumps(self.effective_limits(), indent=2, sort_keys=True), encoding="utf-8")
        files = {"risk_limits": path}
        if self.kill_switch.steps:
            steps = out_dir / "kill_switch.json"
            steps.write_text(
                json.dumps([s.to_dict() for s in self.kill_switch.steps], indent=2), encoding="utf-8"
            )
            files["kill_switch"] = steps
        return files

    def summary(self) -> dict[str, Any] | None:
        gate = self.gate
        section: dict[str, Any] = {
            "orders_checked": gate.checked,
            "allowed": gate.allowed,
            "denied": sum(gate.denied.values()),
            "denied_by_reason": dict(sorted(gate.denied.items())),
            "kill_switch_actions": [
                f"{a['action']} {a['scope']} ({a['trigger']}): {a['outcome']}"
                for a in self.kill_switch.actions
            ],
        }
        return section

    def close(self) -> None:
        self.actor.mark_ended(self.gate.now_ns())


def install(handle: KernelHandle) -> RiskComponent | None:
    """Install the gate, the kill switch and its actor; ``None`` when ``[risk] enabled = false``."""
    config = handle.config
    risk = config.risk
    if not risk.enabled:
        return None
    validate_references(config)
    kernel = handle.kernel
    msgbus, cache, clock = kernel.msgbus, kernel.cache, kernel.clock
    halts = HaltedScopes()
    kill_switch = KillSwitch(
        msgbus=msgbus,
        cache=cache,
        clock=clock,
        risk_engine=kernel.risk_engine,
        trader=kernel.trader,
        halts=halts,
        config=risk.kill_switch,
    )
    book = WorkingOrderBook(cache, self_trade_scope=risk.self_trade.scope)
    context = RiskContext(
        cache=cache,
        portfolio=kernel.portfolio,
        fx_rates=dict(risk.fx_rates),
        account_currency=account_currencies(config),
        book=book,
    )
    gate_ref: list[PreTradeGate] = []

    def on_loss_breach(venue: str, sentence: str) -> None:
        if not risk.accounts[venue].kill_on_loss_limit:
            return

        def kill() -> None:
            kill_switch.kill(f"account:{venue}", trigger="loss_limit", reason=sentence)

        # Inside the gate the kill waits until the order being checked is finished.
        if gate_ref and gate_ref[0].in_command:
            gate_ref[0].run_after_command(kill)
        else:
            kill()

    controls, cancel_throttle, loss = build_controls(risk, kill_switch, on_loss_breach)
    resolver = LimitResolver(risk)
    gate = PreTradeGate(
        msgbus=msgbus,
        cache=cache,
        clock=clock,
        forward=kernel.risk_engine.execute,
        controls=controls,
        context=context,
        resolver=resolver,
        halts=halts,
    )
    gate_ref.append(gate)
    msgbus.deregister(ENDPOINT, kernel.risk_engine.execute)
    msgbus.register(ENDPOINT, gate.execute)
    emulator = kernel.emulator
    msgbus.deregister(EMULATOR_ENDPOINT, emulator.execute)
    msgbus.register(EMULATOR_ENDPOINT, gate.guard(emulator.execute))

    def on_order_event(event: Any) -> None:
        if cancel_throttle is not None and type(event) is OrderPendingCancel:
            cancel_throttle.count_cancel(event.instrument_id.venue.value, event.ts_event)
        kill_switch.on_order_event(event)

    msgbus.register(KILL_SWITCH_ENDPOINT, kill_switch.handle_request)
    msgbus.subscribe("events.order.*", on_order_event)
    # Priority 10 (Nautilus's Portfolio and RiskEngine use it too, and subscribed first): the book is
    # current before any strategy reacts to the same event (and perhaps submits).
    msgbus.subscribe("events.order.*", book.on_order_event, priority=BOOK_PRIORITY)
    msgbus.subscribe("events.position.*", kill_switch.on_position_event)

    # Denials are decided at order time; the periodic and per-fill re-checks exist only to pull the kill
    # switch when no order comes, so they run only for accounts with kill_on_loss_limit.
    kill_venues = [v for v, a in risk.accounts.items() if a.kill_on_loss_limit]

    def check_losses(ts: int) -> None:
        if loss is not None:
            for venue in kill_venues:
                loss.loss_breach(venue, ts, context)

    if loss is not None and kill_venues:

        def on_account(event: AccountState) -> None:
            venue = event.account_id.get_issuer()
            if venue in kill_venues:
                loss.loss_breach(venue, clock.timestamp_ns(), context)

        msgbus.subscribe("events.account.*", on_account)

    ks = risk.kill_switch
    actor = KillSwitchActor(
        kill_switch,
        control_dir=control_dir(handle.output_dir) if ks.control else None,
        poll_interval_ns=_ns(ks.poll_interval),
        drill_at_ns=utc_ns(ks.drill_at) if ks.drill_at is not None else None,
        loss_check_interval_ns=_ns(risk.loss_check_interval) if kill_venues else None,
        on_loss_check=check_losses if kill_venues else None,
    )
    handle.add_actor(actor)
    return RiskComponent(config=config, gate=gate, kill_switch=kill_switch, actor=actor, resolver=resolver)
