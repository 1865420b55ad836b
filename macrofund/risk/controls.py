"""The pre-trade controls: one small class each, composed into the gate's chain.

A control answers ``check(intent, ctx) -> Denial | None``; ``on_allowed`` lets stateful controls
(throttles, duplicate detection) remember orders that actually went through. Reason codes are stable
(docs/risk.md lists them); the sentence after the code is for humans.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from nautilus_trader.model.enums import OrderType

from macrofund.risk.config import AccountLimits, DuplicateConfig, SelfTradeConfig
from macrofund.risk.context import Denial, OrderIntent, RiskContext
from macrofund.risk.exposure import Exposure, first_breach, order_notional

_ZERO = Decimal(0)
_BPS = Decimal(10_000)
NS_PER_S = 1_000_000_000


def fmt(value: Decimal) -> str:
    """A decimal for a human: no exponent, no trailing zeros (``12``, ``0.25``, ``1250000``)."""
    text = format(value.normalize(), "f")
    return text


class PreTradeControl(Protocol):
    """One control in the chain."""

    code: str

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        """``None`` to allow, a ``Denial`` to deny."""

    def on_allowed(self, intent: OrderIntent) -> None:
        """The whole chain allowed ``intent``: remember it if the control is stateful."""


class _Stateless:
    def on_allowed(self, intent: OrderIntent) -> None:
        return None


class MaxOrderQuantityCheck(_Stateless):
    """Contracts per order, per instrument (by root, maturity pattern or id)."""

    code = "MAX_ORDER_QTY"

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        limit = intent.limits.max_order_qty
        if limit is not None and intent.quantity > limit:
            return Denial(
                self.code, f"order {fmt(intent.quantity)} > limit {fmt(limit)} for {intent.instrument_id}"
            )
        return None


class MaxOrderNotionalCheck(_Stateless):
    """Order notional = qty x price x multiplier, converted to the account's currency at the configured rate.

    The price is the limit price, else the stop trigger, else the reference price (market orders); a
    market order with nothing to value it at is denied, since its notional is unknown.
    """

    code = "MAX_ORDER_NOTIONAL"

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        limit = intent.limits.max_order_notional
        if limit is None:
            return None
        price = intent.price if intent.price is not None else intent.trigger_price
        if price is None:
            price, what = ctx.reference_price(intent.order.instrument_id, intent.limits.collar_reference)
            if price is None:
                return Denial(
                    self.code, f"no {what} price to value the {intent.side} order for {intent.instrument_id}"
                )
        rate = ctx.fx_rate(intent.instrument, intent.venue)
        if rate is None:  # validated at install; kept for instruments added later (live)
            return Denial(
                self.code, f"no fx rate from {intent.instrument.quote_currency.code} for {intent.venue}"
            )
        multiplier = intent.instrument.multiplier.as_decimal()
        notional = order_notional(intent.quantity, price, multiplier, rate)
        if notional > limit:
            ccy = ctx.account_currency.get(intent.venue, intent.instrument.quote_currency.code)
            return Denial(
                self.code,
                f"order notional {fmt(notional.quantize(Decimal('0.01')))} {ccy} "
                f"({fmt(intent.quantity)} x {fmt(price)} x {fmt(multiplier)}) > limit {fmt(limit)} {ccy} "
                f"for {intent.instrument_id}",
            )
        return None


class PriceCollarCheck(_Stateless):
    """A limit or stop price farther than N ticks or N bps from the reference price is denied.

    A market order needs a reference price to exist at all (else it could fill anywhere): it is denied
    when there is none. Limit and stop orders are denied too when there is no reference, since their
    distance cannot be checked.
    """

    code = "PRICE_COLLAR"

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        limits = intent.limits
        if limits.collar_ticks is None and limits.collar_bps is None:
            return None
        reference, what = ctx.reference_price(intent.order.instrument_id, limits.collar_reference)
        if reference is None:
            kind = intent.order.type_string()
            return Denial(
                self.code, f"no reference price ({what}) for {intent.instrument_id} to check a {kind} order"
            )
        tick = intent.instrument.price_increment.as_decimal()
        for label, price in (("limit", intent.price), ("trigger", intent.trigger_price)):
            if price is None:
                continue
            distance = abs(price - reference)
            if limits.collar_ticks is not None and distance > tick * limits.collar_ticks:
                return Denial(
                    self.code,
                    f"{label} price {fmt(price)} is {fmt(distance / tick)} ticks from the {what} "
                    f"{fmt(reference)} > {limits.collar_ticks} ticks for {intent.instrument_id}",
                )
            if limits.collar_bps is not None and reference != 0:
                bps = distance / abs(reference) * _BPS
                if bps > limits.collar_bps:
                    return Denial(
                        self.code,
                        f"{label} price {fmt(price)} is {fmt(bps.quantize(Decimal('0.01')))} bps from the "
                        f"{what} {fmt(reference)} > {fmt(limits.collar_bps)} bps for {intent.instrument_id}",
                    )
        return None


def _breach_sentence(breach: Any, before: Exposure, intent: OrderIntent, where: str) -> str:
    return (
        f"{breach.limit_name} {fmt(breach.limit)} would be exceeded: {fmt(breach.value)} counting working "
        f"orders as filled (position {fmt(before.net)}, working buy {fmt(before.working_buy)}, "
        f"working sell {fmt(before.working_sell)}, {intent.side} {fmt(intent.added_quantity)}) for {where}"
    )


class PositionLimitCheck(_Stateless):
    """Long, short, net and gross limits per instrument, working orders counted as filled."""

    code = "POSITION_LIMIT"

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        lim = intent.limits
        if lim.max_long is None and lim.max_short is None and lim.max_net is None and lim.max_gross is None:
            return None
        before = ctx.instrument_exposure(intent.order.instrument_id)
        after = before.with_order(intent.is_buy, intent.added_quantity)
        limits = {
            "max_long": lim.max_long,
            "max_short": lim.max_short,
            "max_net": lim.max_net,
            "max_gross": lim.max_gross,
        }
        breach = first_breach(before, after, limits)
        if breach is not None:
            return Denial(self.code, _breach_sentence(breach, before, intent, intent.instrument_id))
        return None


class AccountPositionLimitCheck(_Stateless):
    """Long, short, net and gross limits per account, in contracts summed over its instruments."""

    code = "ACCOUNT_POSITION_LIMIT"

    def __init__(self, accounts: dict[str, AccountLimits]) -> None:
        self._limits = {
            venue: {
                "max_long": a.max_long,
                "max_short": a.max_short,
                "max_net": a.max_net,
                "max_gross": a.max_gross,
            }
            for venue, a in accounts.items()
            if any(v is not None for v in (a.max_long, a.max_short, a.max_net, a.max_gross))
        }

    @property
    def active(self) -> bool:
        return bool(self._limits)

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        limits = self._limits.get(intent.venue)
        if limits is None:
            return None
        before = ctx.account_exposure(intent.venue)
        after = before.with_order(intent.is_buy, intent.added_quantity)
        breach = first_breach(before, after, limits)
        if breach is not None:
            return Denial(self.code, _breach_sentence(breach, before, intent, f"account {intent.venue}"))
        return None


class DailyLossLimitCheck(_Stateless):
    """Denies risk-increasing orders once an account's loss since the UTC day began exceeds its limit.

    The loss is start-of-day equity minus current equity (balance + unrealised P&L), in the account's
    currency. Breaching calls ``on_breach(venue, sentence)`` once per account per day: the component
    wires it to the kill switch when ``kill_on_loss_limit`` is set.
    """

    code = "LOSS_LIMIT"

    def __init__(self, accounts: dict[str, AccountLimits], on_breach: Callable[[str, str], None]) -> None:
        self._limits = {v: a.daily_loss_limit for v, a in accounts.items() if a.daily_loss_limit is not None}
        self._on_breach = on_breach
        self._baseline: dict[str, tuple[int, Decimal]] = {}  # venue -> (UTC day number, equity at day start)
        self._breached_day: dict[str, int] = {}

    @property
    def active(self) -> bool:
        return bool(self._limits)

    @property
    def venues(self) -> list[str]:
        return list(self._limits)

    def loss_breach(self, venue: str, ts: int, ctx: RiskContext) -> str | None:
        """The breach sentence if ``venue``'s loss today exceeds its limit (``on_breach`` once a day)."""
        limit = self._limits.get(venue)
        if limit is None:
            return None
        equity = ctx.account_equity(venue)
        if equity is None:
            return None
        day = ts // (86_400 * NS_PER_S)
        base = self._baseline.get(venue)
        if base is None or base[0] != day:
            self._baseline[venue] = base = (day, equity)
        loss = base[1] - equity
        if loss <= limit:
            return None
        ccy = ctx.account_currency.get(venue, "")
        amount = fmt(loss.quantize(Decimal("0.01")))
        sentence = f"daily loss {amount} {ccy} > limit {fmt(limit)} {ccy} for account {venue}"
        if self._breached_day.get(venue) != day:
            self._breached_day[venue] = day
            self._on_breach(venue, sentence)
        return sentence

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        if intent.venue not in self._limits:
            return None
        net = Decimal(ctx.portfolio.net_position(intent.order.instrument_id))
        signed = intent.added_quantity if intent.is_buy else -intent.added_quantity
        if abs(net + signed) <= abs(net):
            return None  # reduces (or keeps) the position: always allowed
        sentence = self.loss_breach(intent.venue, intent.ts, ctx)
        if sentence is not None:
            return Denial(self.code, f"{sentence}; only risk-reducing orders are accepted")
        return None


class _Window:
    """Timestamps of events within a sliding window, per venue."""

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._events: dict[str, deque[int]] = {}

    def count(self, venue: str, now: int) -> int:
        events = self._events.get(venue)
        if not events:
            return 0
        cutoff = now - self.window_ns
        while events and events[0] <= cutoff:
            events.popleft()
        return len(events)

    def add(self, venue: str, ts: int) -> None:
        events = self._events.get(venue)
        if events is None:
            events = self._events[venue] = deque()
        events.append(ts)


class OrderRateThrottle:
    """At most N new orders per second per venue; excess orders are denied, not queued."""

    code = "ORDER_RATE"

    def __init__(self, orders_per_second: int) -> None:
        self._limit = orders_per_second
        self._window = _Window(NS_PER_S)

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        if intent.command == "ModifyOrder":
            return None
        if self._window.count(intent.venue, intent.ts) >= self._limit:
            return Denial(
                self.code,
                f"{self._limit} orders in the last second on {intent.venue} (limit {self._limit}/s)",
            )
        return None

    def on_allowed(self, intent: OrderIntent) -> None:
        if intent.command != "ModifyOrder":
            self._window.add(intent.venue, intent.ts)


class CancelModifyThrottle:
    """At most N cancels + modifies per window per venue.

    Cancels never pass the RiskEngine in Nautilus, and a cancel is never blocked here (blocking a cancel
    leaves risk on the book). They are counted from ``OrderPendingCancel`` events (``count_cancel``);
    modifies are counted at the gate. While the window is full, modifies and new orders (which a
    cancel/replace loop needs) are denied until it drains.
    """

    code = "CANCEL_RATE"

    def __init__(self, limit: int, window_ns: int) -> None:
        self._limit = limit
        self._window = _Window(window_ns)

    def count_cancel(self, venue: str, ts: int) -> None:
        """One cancel request seen on ``venue``."""
        self._window.add(venue, ts)

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        n = self._window.count(intent.venue, intent.ts)
        if n >= self._limit:
            secs = fmt(Decimal(self._window.window_ns) / NS_PER_S)
            return Denial(
                self.code,
                f"{n} cancels/modifies in the last {secs}s on {intent.venue} (limit {self._limit}); "
                "new orders and modifies pause until the window drains",
            )
        return None

    def on_allowed(self, intent: OrderIntent) -> None:
        if intent.command == "ModifyOrder":
            self._window.add(intent.venue, intent.ts)


class DuplicateOrderCheck:
    """Same instrument, side, quantity, type and prices within the window is denied unless tagged.

    A strategy that means to send the same order twice adds the tag (default ``INTENDED_DUPLICATE``):
    ``order_factory.limit(..., tags=["INTENDED_DUPLICATE"])``.
    """

    code = "DUPLICATE_ORDER"

    def __init__(self, config: DuplicateConfig) -> None:
        assert config.window is not None
        self._window_ns = int(config.window.total_seconds() * NS_PER_S)
        self._tag = config.intended_tag
        self._per_strategy = config.scope == "strategy"
        self._seen: dict[tuple[Any, ...], tuple[int, str]] = {}  # key -> (ts, strategy id)
        self._prune_at = 10_000

    def _key(self, intent: OrderIntent) -> tuple[Any, ...]:
        return (
            intent.instrument_id,
            intent.is_buy,
            intent.quantity,
            intent.order_type,
            intent.price,
            intent.trigger_price,
            intent.strategy_id if self._per_strategy else None,
        )

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        if intent.command == "ModifyOrder" or self._tag in intent.tags:
            return None
        seen = self._seen.get(self._key(intent))
        if seen is not None and intent.ts - seen[0] <= self._window_ns:
            last, strategy_id = seen
            price = f" @ {fmt(intent.price)}" if intent.price is not None else ""
            secs = fmt(Decimal(self._window_ns) / NS_PER_S)
            # Another strategy's order (account scope) is named: otherwise the strategy sees a "repeat"
            # of an order it never sent.
            whose = f" of {strategy_id}" if strategy_id != intent.strategy_id else ""
            return Denial(
                self.code,
                f"{intent.side} {fmt(intent.quantity)} {intent.instrument_id}{price} repeats an order{whose} "
                f"{fmt(Decimal(intent.ts - last) / NS_PER_S)}s earlier (window {secs}s); tag it "
                f"{self._tag} if intended",
            )
        return None

    def on_allowed(self, intent: OrderIntent) -> None:
        if intent.command == "ModifyOrder":
            return
        if (
            len(self._seen) > self._prune_at
        ):  # forget expired keys now and then: bounded memory, O(1) amortised
            cutoff = intent.ts - self._window_ns
            self._seen = {k: seen for k, seen in self._seen.items() if seen[0] > cutoff}
            self._prune_at = max(10_000, 2 * len(self._seen))
        self._seen[self._key(intent)] = (intent.ts, intent.strategy_id)


_CAN_TRADE_NOW = (OrderType.MARKET, OrderType.LIMIT, OrderType.MARKET_TO_LIMIT)


@dataclass
class SelfTradeCheck:
    """An order that would cross our own resting opposite order (same strategy, or same account).

    ``action = "deny"`` denies the new order; ``"cancel_resting"`` cancels the crossed resting orders
    through their owning strategies and lets the new order through (the cancels reach the venue first).
    Only orders that can trade now are checked: market and limit orders against resting limit orders
    (not pending cancel). The resting orders come from the ``WorkingOrderBook``'s price index, best
    price first, so the check does not scan the book; a denial names the best-priced crossed order.
    """

    config: SelfTradeConfig
    cancel_order: Callable[[Any], None]
    code: str = "SELF_TRADE"

    def check(self, intent: OrderIntent, ctx: RiskContext) -> Denial | None:
        if intent.command == "ModifyOrder" and intent.price is None:
            return None
        if intent.order_type not in _CAN_TRADE_NOW:
            return None
        cancel = self.config.action == "cancel_resting"
        crossed = ctx.book.crossing(
            intent.instrument_id,
            intent.is_buy,
            intent.price,
            intent.strategy_id,
            exclude=intent.order.client_order_id,
            first_only=not cancel,
        )
        if not crossed:
            return None
        if cancel:
            for resting in crossed:
                self.cancel_order(resting)
            return None
        first = crossed[0]
        price = f"@ {fmt(intent.price)}" if intent.price is not None else "at market"
        return Denial(
            self.code,
            f"{intent.side} {fmt(intent.quantity)} {intent.instrument_id} {price} would cross own resting "
            f"{first.side_string()} {first.client_order_id.value} @ {fmt(first.price.as_decimal())} "
            f"({self.config.scope} scope)",
        )

    def on_allowed(self, intent: OrderIntent) -> None:
        return None
