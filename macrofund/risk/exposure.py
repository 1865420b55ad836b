"""Limit arithmetic, kept free of Nautilus so it can be property-tested on its own.

Working orders count as if filled (FIA / 15c3-5 practice): a strategy with a long position of 5 and a
working buy of 5 is treated as long 10 for the long limit, whatever the venue does next. An order is
only denied for a breach it makes worse, so an order that reduces an already-breached measure passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_ZERO = Decimal(0)


def order_notional(quantity: Decimal, price: Decimal, multiplier: Decimal, fx_rate: Decimal) -> Decimal:
    """Notional value of ``quantity`` contracts at ``price``, converted to the account's currency.

    Prices can be negative (calendar spreads, WTI in April 2020); the notional at risk is the magnitude.
    """
    return abs(quantity * price * multiplier * fx_rate)


@dataclass(frozen=True)
class Exposure:
    """A signed net position plus the working buy and sell quantities (all in contracts)."""

    net: Decimal = _ZERO
    working_buy: Decimal = _ZERO
    working_sell: Decimal = _ZERO

    def with_order(self, is_buy: bool, quantity: Decimal) -> Exposure:
        """The exposure after ``quantity`` more is working on one side."""
        if is_buy:
            return Exposure(self.net, self.working_buy + quantity, self.working_sell)
        return Exposure(self.net, self.working_buy, self.working_sell + quantity)

    def __add__(self, other: Exposure) -> Exposure:
        return Exposure(
            self.net + other.net,
            self.working_buy + other.working_buy,
            self.working_sell + other.working_sell,
        )

    @property
    def long_if_filled(self) -> Decimal:
        """The longest the position can get: every buy fills, no sell does."""
        return max(self.net + self.working_buy, _ZERO)

    @property
    def short_if_filled(self) -> Decimal:
        """The shortest the position can get, as a positive number: every sell fills, no buy does."""
        return max(self.working_sell - self.net, _ZERO)

    @property
    def net_if_filled(self) -> Decimal:
        """Signed position if every working order fills."""
        return self.net + self.working_buy - self.working_sell

    @property
    def gross(self) -> Decimal:
        """Position size plus everything working on both sides."""
        return abs(self.net) + self.working_buy + self.working_sell

    def measures(self) -> dict[str, Decimal]:
        """The four limited measures by limit name (``max_net`` limits the magnitude of the net)."""
        return {name: self.measure(name) for name in MEASURES}

    def measure(self, name: str) -> Decimal:
        """One measure by limit name (``"max_long"``, ``"max_short"``, ``"max_net"``, ``"max_gross"``)."""
        if name == "max_long":
            return self.long_if_filled
        if name == "max_short":
            return self.short_if_filled
        if name == "max_net":
            return abs(self.net_if_filled)
        return self.gross


#: The limited measures, in the order a breach is reported.
MEASURES = ("max_long", "max_short", "max_net", "max_gross")


@dataclass(frozen=True)
class Breach:
    """A limit the order would exceed: which, the value it would reach, and the limit."""

    limit_name: str
    value: Decimal
    limit: Decimal


def first_breach(before: Exposure, after: Exposure, limits: dict[str, Decimal | None]) -> Breach | None:
    """The first limit ``after`` exceeds *and* makes worse than ``before``, or ``None``.

    Only the measures that have a limit are computed, and ``before``'s only past a limit: this runs
    twice per order on the order path.
    """
    for name in MEASURES:
        limit = limits.get(name)
        if limit is None:
            continue
        value = after.measure(name)
        if value > limit and value > before.measure(name):
            return Breach(name, value, limit)
    return None


def convert_rate(rates: dict[str, Decimal], from_ccy: str, to_ccy: str) -> Decimal | None:
    """Units of ``to_ccy`` per unit of ``from_ccy`` from configured ``FROM/TO`` rates (or the inverse)."""
    if from_ccy == to_ccy:
        return Decimal(1)
    direct = rates.get(f"{from_ccy}/{to_ccy}")
    if direct is not None:
        return direct
    inverse = rates.get(f"{to_ccy}/{from_ccy}")
    if inverse is not None:
        return Decimal(1) / inverse
    return None
