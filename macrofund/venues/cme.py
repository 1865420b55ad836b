"""CME Group contract specifications (CME Globex venue ``CME``): ES, NQ, ZN, ZB, 6E, 6L.

Ticks, multipliers, listed months and last-trading-day rules follow the published CME/CBOT contract
specs (see ``docs/instruments.md``). Business days come from the ``exchange_calendars`` "CMES" calendar;
fees and margins are defaults to override, not exchange figures.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from nautilus_trader.model.enums import AssetClass

from macrofund.venues.contracts import ContractSpec
from macrofund.venues.sessions import CME_GLOBEX_SESSION, business_calendar

__all__ = [
    "CME_SPECS",
    "CME_VENUE",
    "brl_last_trade",
    "equity_index_last_trade",
    "fx_last_trade",
    "nth_weekday",
    "treasury_last_trade",
]

CME_VENUE = "CME"
CME_CALENDAR = "CMES"
QUARTERLY = "HMUZ"
ALL_MONTHS = "FGHJKMNQUVXZ"

_FRIDAY = 4
_WEDNESDAY = 2


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday=0) of the month, e.g. the 3rd Friday."""
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def equity_index_last_trade(year: int, month: int) -> date:
    """ES/NQ: the 3rd Friday of the contract month (the business day before it if the exchange is shut)."""
    return business_calendar(CME_CALENDAR).previous_business_day(nth_weekday(year, month, _FRIDAY, 3))


def treasury_last_trade(year: int, month: int) -> date:
    """ZN/ZB: the 7th business day preceding the last business day of the contract month."""
    calendar = business_calendar(CME_CALENDAR)
    day = calendar.last_business_day_of_month(year, month)
    for _ in range(7):
        day = calendar.previous_business_day(day, include=False)
    return day


def fx_last_trade(year: int, month: int) -> date:
    """6E: the 2nd business day before the 3rd Wednesday of the contract month."""
    calendar = business_calendar(CME_CALENDAR)
    day = nth_weekday(year, month, _WEDNESDAY, 3)
    for _ in range(2):
        day = calendar.previous_business_day(day, include=False)
    return day


def brl_last_trade(year: int, month: int) -> date:
    """6L: the last business day of the month before the contract month.

    The final settlement is the Central Bank of Brazil's end-of-month PTAX rate, so the day must be a
    business day in Sao Paulo as well as at CME: we take the last day open on both calendars (an
    approximation of CME's "day on which the BCB publishes the EOM PTAX"; CME announces exceptions).
    """
    cme = business_calendar(CME_CALENDAR)
    b3 = business_calendar("BVMF")
    day = date(year, month, 1) - timedelta(days=1)
    while not (cme.is_business_day(day) and b3.is_business_day(day)):
        day -= timedelta(days=1)
    return day


def _cme(
    root: str,
    description: str,
    asset_class: AssetClass,
    tick: str,
    multiplier: str,
    months: str,
    fee: str,
    margin_maint: str,
    rule: object,
    last_trade_time: time,
    underlying: str,
    listing_months: int,
    exchange: str = "XCME",
) -> ContractSpec:
    maint = Decimal(margin_maint)
    assert callable(rule)
    return ContractSpec(
        root=root,
        venue=CME_VENUE,
        exchange=exchange,
        description=description,
        asset_class=asset_class,
        currency="USD",
        tick_size=Decimal(tick),
        multiplier=Decimal(multiplier),
        month_codes=months,
        fee_per_contract=Decimal(fee),
        # CME sets speculative initial margin at 110% of maintenance.
        margin_init=(maint * Decimal("1.1")).normalize(),
        margin_maint=maint,
        session=CME_GLOBEX_SESSION,
        last_trade_rule=rule,
        last_trade_time=last_trade_time,
        underlying=underlying,
        listing_months=listing_months,
        year_digits=1,
    )


CME_SPECS: tuple[ContractSpec, ...] = (
    _cme(
        "ES", "E-mini S&P 500", AssetClass.INDEX, "0.25", "50", QUARTERLY, "2.25", "0.06",
        equity_index_last_trade, time(8, 30), "SPX", 21,
    ),
    _cme(
        "NQ", "E-mini Nasdaq-100", AssetClass.INDEX, "0.25", "20", QUARTERLY, "2.25", "0.06",
        equity_index_last_trade, time(8, 30), "NDX", 21,
    ),
    _cme(
        "ZN", "10-Year U.S. Treasury Note", AssetClass.DEBT, "0.015625", "1000", QUARTERLY, "1.75", "0.02",
        treasury_last_trade, time(12, 1), "UST10Y", 9, exchange="XCBT",
    ),
    _cme(
        "ZB", "U.S. Treasury Bond", AssetClass.DEBT, "0.03125", "1000", QUARTERLY, "1.85", "0.04",
        treasury_last_trade, time(12, 1), "UST30Y", 9, exchange="XCBT",
    ),
    _cme(
        "6E", "Euro FX (USD per EUR)", AssetClass.FX, "0.00005", "125000", QUARTERLY, "2.30", "0.02",
        fx_last_trade, time(9, 16), "EUR/USD", 60,
    ),
    _cme(
        "6L", "Brazilian Real (USD per BRL)", AssetClass.FX, "0.00005", "100000", ALL_MONTHS, "2.30", "0.06",
        brl_last_trade, time(9, 15), "BRL/USD", 60,
    ),
)  # fmt: skip
