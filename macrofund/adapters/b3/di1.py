"""DI1, B3's one-day interbank deposit futures: rate <-> unit price (PU), business days, ticks, sides.

The venue quotes and matches DI1 as a rate (% per annum, compounded over 252 business days, three
decimal places) but positions, P&L, notional and margin are in PU::

    PU = 100,000 / (1 + rate / 100) ** (du / 252)

``du`` counts the business days between the trade date, inclusive, and the maturity date, exclusive
(B3's contract text; the same number as "trade date exclusive, maturity inclusive" whenever both are
business days, as trade and maturity dates always are). Business days are the national financial
calendar (ANBIMA, from ``bizdays``: data to 2099, Black Consciousness Day from 2024). Not
``exchange_calendars`` "BVMF": it has no session on 24 and 31 December, yet the DI accrues on those days.

Inside Nautilus a DI1 contract is priced in PU (two decimals, multiplier 1, BRL), so Nautilus's own
P&L and margin are right without any special case. Only the venue edge speaks rates, and there the
side flips: buying the rate is selling PU (``rate_side`` / ``pu_side``).

Assumptions (see ``docs/b3.md``): PU rounded to 2 decimals, half up; the tick tiers below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from nautilus_trader.model.enums import OrderSide

from macrofund.errors import UnknownInstrumentError

if TYPE_CHECKING:
    from bizdays import Calendar

__all__ = [
    "DI1_TICK_TIERS",
    "FACE_VALUE",
    "DI1PriceConvention",
    "business_days",
    "contract_months_between",
    "di1_last_trade",
    "di1_maturity",
    "is_business_day",
    "pu_side",
    "pu_to_rate",
    "rate_side",
    "rate_tick",
    "rate_to_pu",
    "snap_rate",
]

FACE_VALUE = Decimal(100_000)
YEAR_DAYS = Decimal(252)
PU_PLACES = Decimal("0.01")
RATE_PLACES = Decimal("0.001")
B3_TIMEZONE = "America/Sao_Paulo"

#: Rate tick (percentage points) by contract months from the trade month to the maturity month:
#: (up to and including N months, tick); the last tier has no bound. B3's contract page lists 0.002 /
#: 0.005 / 0.01 for <=3 / 4-60 / >60 months; B3 announced 0.001 for maturities up to 3 months (live
#: December 2024). 0.01 over 60 months is a multiple of every tick B3 has used there, so it is never
#: refused even if B3 has moved those maturities to 0.005 (reported but not confirmed here).
DI1_TICK_TIERS: tuple[tuple[int | None, Decimal], ...] = (
    (3, Decimal("0.001")),
    (60, Decimal("0.005")),
    (None, Decimal("0.01")),
)

_PRECISION = 50  # Decimal digits for the power: far beyond the 2-decimal PU and 3-decimal rate


@cache
def _calendar() -> Calendar:
    from bizdays import Calendar  # deferred: loads pandas and the holiday file once

    return Calendar.load("ANBIMA")


def _check_range(day: date) -> None:
    cal = _calendar()
    start, end = cal.startdate, cal.enddate
    if not (start <= day <= end):
        raise UnknownInstrumentError(
            f"{day.isoformat()} is outside the ANBIMA business-day calendar ({start} to {end})"
        )


def is_business_day(day: date) -> bool:
    """Whether ``day`` is a Brazilian financial business day (the DI accrues on it)."""
    _check_range(day)
    return bool(_calendar().isbizday(day))


def business_days(trade_date: date, maturity: date) -> int:
    """``du``: business days d with ``trade_date <= d < maturity`` (0 on or after maturity)."""
    _check_range(trade_date)
    _check_range(maturity)
    if maturity <= trade_date:
        return 0
    return int(_calendar().bizdays(trade_date, maturity))


def di1_maturity(year: int, month: int) -> date:
    """Expiration date of the ``year``/``month`` DI1: the first business day of the contract month."""
    first = date(year, month, 1)
    _check_range(first)
    return _calendar().following(first)  # type: ignore[no-any-return]


def di1_last_trade(year: int, month: int) -> date:
    """Last trading day: B3's trading session before the expiration date.

    A *session* of the exchange (``exchange_calendars`` "BVMF"), not a financial business day: B3
    does not trade on 31 December, so DI1F27 (expiring Monday 4 January 2027) last trades on
    30 December 2026 although the DI accrues on the 31st.
    """
    from macrofund.venues.sessions import business_calendar

    return business_calendar("BVMF").previous_business_day(di1_maturity(year, month), include=False)


def contract_months_between(trade_date: date, maturity: date) -> int:
    """Contract months from the trade month to the maturity month (DI1F27 traded in Oct 2026 -> 3)."""
    return (maturity.year * 12 + maturity.month) - (trade_date.year * 12 + trade_date.month)


def rate_tick(trade_date: date, maturity: date) -> Decimal:
    """The rate tick (percentage points) of a maturity on ``trade_date``, per ``DI1_TICK_TIERS``."""
    months = contract_months_between(trade_date, maturity)
    for bound, tick in DI1_TICK_TIERS:
        if bound is None or months <= bound:
            return tick
    raise AssertionError("DI1_TICK_TIERS must end with an unbounded tier")  # pragma: no cover


Rounding = Literal["nearest", "up", "down"]
_ROUNDING = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}


def snap_rate(rate: Decimal, tick: Decimal, rounding: Rounding = "nearest") -> Decimal:
    """``rate`` on the ``tick`` grid: nearest (half up), or up/down for a conservative limit."""
    steps = (rate / tick).quantize(Decimal(1), rounding=_ROUNDING[rounding])
    return (steps * tick).quantize(RATE_PLACES)


def _discount_factor(rate: Decimal, du: int) -> Decimal:
    # (1 + rate/100) ** (du/252), evaluated at high precision; the only inexact step is this power,
    # and its error (~1e-45) is far below the PU's 0.01 rounding.
    return (1 + rate / 100) ** (Decimal(du) / YEAR_DAYS)


def rate_to_pu(rate: Decimal, du: int) -> Decimal:
    """PU (2 decimals, half up) of ``rate`` (% per annum) with ``du`` business days to maturity."""
    if du < 0:
        raise ValueError(f"business days to maturity must be >= 0, got {du}")
    if rate <= -100:
        raise ValueError(f"a DI1 rate must be above -100%, got {rate}")
    if du == 0:
        return FACE_VALUE.quantize(PU_PLACES)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        pu = FACE_VALUE / _discount_factor(Decimal(rate), du)
    return pu.quantize(PU_PLACES, rounding=ROUND_HALF_UP)


def pu_to_rate(pu: Decimal, du: int, places: Decimal | None = RATE_PLACES) -> Decimal:
    """Rate (% per annum) implied by ``pu`` with ``du`` business days to maturity.

    Rounded half up to ``places`` (three decimals, the quote precision); ``places=None`` returns the
    unrounded rate (used to snap a PU limit to the rate grid conservatively).
    """
    if du <= 0:
        raise ValueError(f"a rate needs at least one business day to maturity, got du={du}")
    if pu <= 0:
        raise ValueError(f"a DI1 PU must be positive, got {pu}")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        rate = ((FACE_VALUE / Decimal(pu)) ** (YEAR_DAYS / Decimal(du)) - 1) * 100
    if places is None:
        return rate
    return rate.quantize(places, rounding=ROUND_HALF_UP)


def rate_side(pu_side: OrderSide) -> OrderSide:
    """The venue (rate) side of a Nautilus (PU) side: buying PU is selling the rate, and back."""
    if pu_side == OrderSide.BUY:
        return OrderSide.SELL
    if pu_side == OrderSide.SELL:
        return OrderSide.BUY
    raise ValueError(f"no rate side for {pu_side!r}")


def pu_side(rate_order_side: OrderSide) -> OrderSide:
    """The Nautilus (PU) side of a venue (rate) side: buying the rate is selling PU."""
    return rate_side(rate_order_side)  # the mapping is its own inverse


def _trade_date(ts_ns: int) -> date:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_ns // 1_000)
    return moment.astimezone(ZoneInfo(B3_TIMEZONE)).date()


class DI1PriceConvention:
    """The FIX edge of one DI1 maturity: Nautilus PU and side <-> B3 rate and side.

    A PU limit becomes a rate limit snapped to the maturity's tick in the direction that never gives
    a better price than asked: a Nautilus BUY at PU P (pay at most P) is a rate SELL at a rate of at
    least rate(P), so the rate is rounded up; a Nautilus SELL is rounded down. The trade date is the
    São Paulo date of the message's timestamp.
    """

    def __init__(self, maturity: date) -> None:
        self.maturity = maturity

    def side_to_wire(self, side: OrderSide) -> OrderSide:
        return rate_side(side)

    def side_from_wire(self, side: OrderSide) -> OrderSide:
        return pu_side(side)

    def du_at(self, ts_ns: int) -> int:
        """Business days to maturity on the trade date of ``ts_ns``."""
        return business_days(_trade_date(ts_ns), self.maturity)

    def price_to_wire(self, price: Decimal, side: OrderSide, ts_ns: int) -> Decimal:
        trade_date = _trade_date(ts_ns)
        du = business_days(trade_date, self.maturity)
        rate = pu_to_rate(price, du, places=None)
        rounding: Rounding = "up" if side == OrderSide.BUY else "down"
        return snap_rate(rate, rate_tick(trade_date, self.maturity), rounding)

    def price_from_wire(self, price: Decimal, ts_ns: int) -> Decimal:
        return rate_to_pu(price, self.du_at(ts_ns))
