"""B3 contract specifications (venue ``B3``, MIC BVMF): WIN, IND, DOL, WDO, DI1.

Ticks, multipliers, months and expiry rules follow B3's published contract specs (see
``docs/instruments.md``). Business days come from the ``exchange_calendars`` "BVMF" calendar; fees,
margins and the last-trade time on expiry day are defaults/assumptions, not exchange figures.

DI1 is priced in Nautilus as its unit price (PU, 2 decimals, BRL 1 per point) so P&L, notional and
margin come out right; the venue quotes it as a rate, whose tick depends on the maturity
(``quote_tick``). The rate <-> PU maths and the business-day count live in
``macrofund.adapters.b3.di1`` (see ``docs/b3.md``).
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from nautilus_trader.model.enums import AssetClass

from macrofund.adapters.b3.di1 import di1_last_trade, di1_maturity, rate_tick
from macrofund.venues.contracts import ContractSpec
from macrofund.venues.sessions import (
    B3_FX_SESSION,
    B3_INDEX_SESSION,
    SessionWindow,
    TradingSession,
    business_calendar,
)

__all__ = [
    "B3_RATES_SESSION",
    "B3_SPECS",
    "B3_VENUE",
    "DI1_SPEC",
    "dollar_expiry",
    "dollar_last_trade",
    "ibovespa_last_trade",
]

B3_VENUE = "B3"
B3_CALENDAR = "BVMF"
EVEN_MONTHS = "GJMQVZ"
ALL_MONTHS = "FGHJKMNQUVXZ"

_WEDNESDAY = 2


def ibovespa_last_trade(year: int, month: int) -> date:
    """WIN/IND: the Wednesday closest to the 15th; if B3 is shut that day, the next session."""
    fifteenth = date(year, month, 15)
    delta = _WEDNESDAY - fifteenth.weekday()
    if delta > 3:
        delta -= 7
    elif delta < -3:
        delta += 7
    return business_calendar(B3_CALENDAR).next_business_day(fifteenth + timedelta(days=delta))


def dollar_expiry(year: int, month: int) -> date:
    """DOL/WDO expiration (settlement) date: the 1st business day of the contract month."""
    return business_calendar(B3_CALENDAR).first_business_day_of_month(year, month)


def dollar_last_trade(year: int, month: int) -> date:
    """DOL/WDO last trading day: the session before expiration (last business day of the prior month)."""
    return business_calendar(B3_CALENDAR).previous_business_day(dollar_expiry(year, month), include=False)


def _b3(
    root: str,
    description: str,
    asset_class: AssetClass,
    tick: str,
    multiplier: str,
    months: str,
    fee: str,
    margin_maint: str,
    session: TradingSession,
    last_trade_time: time,
    underlying: str,
    listing_months: int,
    dollar: bool,
) -> ContractSpec:
    maint = Decimal(margin_maint)
    return ContractSpec(
        root=root,
        venue=B3_VENUE,
        exchange="BVMF",
        description=description,
        asset_class=asset_class,
        currency="BRL",
        tick_size=Decimal(tick),
        multiplier=Decimal(multiplier),
        month_codes=months,
        fee_per_contract=Decimal(fee),
        # B3 quotes one margin (CORE); we keep Nautilus's init >= maint shape with a 10% buffer.
        margin_init=(maint * Decimal("1.1")).normalize(),
        margin_maint=maint,
        session=session,
        last_trade_rule=dollar_last_trade if dollar else ibovespa_last_trade,
        last_trade_time=last_trade_time,
        underlying=underlying,
        listing_months=listing_months,
        year_digits=2,
        settlement_rule=dollar_expiry if dollar else None,
    )


#: B3 interest-rate futures (DI1) continuous session, 09:00-18:00 Sao Paulo time, Monday-Friday.
B3_RATES_SESSION = TradingSession(
    name="B3 interest-rate futures",
    timezone="America/Sao_Paulo",
    windows=tuple(SessionWindow(day, time(9, 0), day, time(18, 0)) for day in range(5)),
)


def di1_quote_tick(trade_date: date, year: int, month: int) -> Decimal:
    """DI1 rate tick (percentage points) of the ``year``/``month`` maturity on ``trade_date``."""
    return rate_tick(trade_date, di1_maturity(year, month))


#: DI1: Nautilus price = PU (tick 0.01 PU, BRL 1 per point); venue quote = rate (``quote_tick``).
#: Expiry = first business day of the month; last trade = the B3 session before it. Listed maturities
#: run out ~10 years, hence ``listing_months``. Fee and margin (fraction of PU notional) are defaults.
DI1_SPEC = ContractSpec(
    root="DI1",
    venue=B3_VENUE,
    exchange="BVMF",
    description="One-day interbank deposit futures (quoted as a rate, traded as PU)",
    asset_class=AssetClass.DEBT,
    currency="BRL",
    tick_size=Decimal("0.01"),
    multiplier=Decimal(1),
    month_codes=ALL_MONTHS,
    fee_per_contract=Decimal("0.50"),
    margin_init=Decimal("0.055"),
    margin_maint=Decimal("0.05"),
    session=B3_RATES_SESSION,
    last_trade_rule=di1_last_trade,
    last_trade_time=time(18, 0),
    underlying="DI",
    listing_months=180,
    year_digits=2,
    settlement_rule=di1_maturity,
    quote_tick_rule=di1_quote_tick,
)

B3_SPECS: tuple[ContractSpec, ...] = (
    _b3(
        "WIN", "Mini Ibovespa futures", AssetClass.INDEX, "5", "0.20", EVEN_MONTHS, "0.25", "0.10",
        B3_INDEX_SESSION, time(18, 25), "IBOV", 12, dollar=False,
    ),
    _b3(
        "IND", "Ibovespa futures", AssetClass.INDEX, "5", "1", EVEN_MONTHS, "1.25", "0.10",
        B3_INDEX_SESSION, time(18, 25), "IBOV", 12, dollar=False,
    ),
    _b3(
        "DOL", "US dollar futures (BRL per USD 1,000)", AssetClass.FX, "0.5", "50", ALL_MONTHS, "6.00",
        "0.08", B3_FX_SESSION, time(18, 30), "USD/BRL", 24, dollar=True,
    ),
    _b3(
        "WDO", "Mini US dollar futures (BRL per USD 1,000)", AssetClass.FX, "0.5", "10", ALL_MONTHS, "1.20",
        "0.08", B3_FX_SESSION, time(18, 30), "USD/BRL", 24, dollar=True,
    ),
    DI1_SPEC,
)  # fmt: skip
