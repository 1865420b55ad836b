"""B3 contract specifications (venue ``B3``, MIC BVMF): WIN, IND, DOL, WDO.

Ticks, multipliers, months and expiry rules follow B3's published contract specs (see
``docs/instruments.md``). Business days come from the ``exchange_calendars`` "BVMF" calendar; fees,
margins and the last-trade time on expiry day are defaults/assumptions, not exchange figures. DI1 is
deliberately absent: its rate <-> PU conversion belongs in its own module.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from nautilus_trader.model.enums import AssetClass

from macrofund.venues.contracts import ContractSpec
from macrofund.venues.sessions import B3_FX_SESSION, B3_INDEX_SESSION, TradingSession, business_calendar

__all__ = [
    "B3_SPECS",
    "B3_VENUE",
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
)  # fmt: skip
