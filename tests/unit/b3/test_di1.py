"""DI1 maths: business days, rate <-> PU, ticks, side mapping, and the venue edge conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.model.enums import OrderSide

from macrofund.adapters.b3 import di1
from macrofund.errors import UnknownInstrumentError
from macrofund.venues.contracts import futures_contract, spec_for


def _ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000


def test_maturity_is_first_business_day_and_last_trade_the_b3_session_before() -> None:
    # 1 Jan 2027 is a holiday and a Friday: DI1F27 expires Monday 4 Jan. B3 has no session on 31 Dec,
    # so the last trading day is 30 Dec although the DI accrues on the 31st.
    assert di1.di1_maturity(2027, 1) == date(2027, 1, 4)
    assert di1.di1_last_trade(2027, 1) == date(2026, 12, 30)
    assert di1.is_business_day(date(2026, 12, 31))


def test_business_days_count_trade_date_inclusive_maturity_exclusive() -> None:
    assert di1.business_days(date(2025, 1, 2), date(2025, 1, 3)) == 1
    assert di1.business_days(date(2025, 1, 3), date(2025, 1, 6)) == 1  # Friday to Monday
    assert di1.business_days(date(2025, 1, 6), date(2025, 1, 6)) == 0
    assert di1.business_days(date(2025, 2, 1), date(2025, 1, 6)) == 0


def test_black_consciousness_day_is_a_holiday_from_2024() -> None:
    assert di1.is_business_day(date(2023, 11, 20))
    assert not di1.is_business_day(date(2025, 11, 20))
    assert di1.business_days(date(2025, 11, 19), date(2025, 11, 21)) == 1


def test_business_days_agree_with_the_exchange_sessions_plus_year_end_accrual_days() -> None:
    # An independent holiday source: exchange_calendars' BVMF sessions, plus the days B3 closes but
    # the DI accrues: 24 December and the last weekday of the year (31 Dec, or 29/30 when it is a
    # weekend), both financial business days.
    import exchange_calendars

    start, end = date(2025, 1, 2), date(2035, 1, 2)
    sessions = exchange_calendars.get_calendar("BVMF", start="2025-01-01", end="2035-12-31").sessions
    count = sum(1 for ts in sessions if start <= ts.date() < end)
    for year in range(start.year, end.year):
        last_weekday = date(year, 12, 31)
        while last_weekday.weekday() >= 5:
            last_weekday -= timedelta(days=1)
        count += date(year, 12, 24).weekday() < 5
        count += last_weekday.day > 25
    assert di1.business_days(start, end) == count


def test_business_days_on_a_brute_force_walk() -> None:
    start, end = date(2026, 1, 1), date(2027, 1, 4)
    walk, day = 0, start
    while day < end:
        walk += di1.is_business_day(day)
        day += timedelta(days=1)
    assert di1.business_days(start, end) == walk


def test_worked_example_rate_to_pu() -> None:
    # docs/b3.md: DI1F27 traded 2 Jan 2025 at 14.500% -> du = 501, PU = 76,399.25.
    du = di1.business_days(date(2025, 1, 2), di1.di1_maturity(2027, 1))
    assert du == 501
    assert di1.rate_to_pu(Decimal("14.500"), du) == Decimal("76399.25")
    assert di1.pu_to_rate(Decimal("76399.25"), du) == Decimal("14.500")


def test_pu_is_face_value_discounted_with_exact_decimals() -> None:
    assert di1.rate_to_pu(Decimal("10"), 252) == Decimal("90909.09")
    assert di1.rate_to_pu(Decimal("0"), 300) == Decimal("100000.00")
    assert di1.rate_to_pu(Decimal("12"), 0) == Decimal("100000.00")


def test_higher_rate_means_lower_pu() -> None:
    assert di1.rate_to_pu(Decimal("14.505"), 501) < di1.rate_to_pu(Decimal("14.500"), 501)


@pytest.mark.parametrize(("bad", "du"), [(Decimal("-100"), 10), (Decimal("10"), -1)])
def test_rate_to_pu_refuses_impossible_input(bad: Decimal, du: int) -> None:
    with pytest.raises(ValueError):
        di1.rate_to_pu(bad, du)


def test_pu_to_rate_needs_a_day_and_a_positive_pu() -> None:
    with pytest.raises(ValueError, match="du=0"):
        di1.pu_to_rate(Decimal("99000"), 0)
    with pytest.raises(ValueError, match="positive"):
        di1.pu_to_rate(Decimal("0"), 10)


def test_dates_outside_the_calendar_are_a_clear_error() -> None:
    with pytest.raises(UnknownInstrumentError, match="outside the ANBIMA"):
        di1.business_days(date(1999, 12, 1), date(2001, 1, 2))


@pytest.mark.parametrize(
    ("trade", "maturity", "tick"),
    [
        (date(2026, 10, 5), date(2027, 1, 4), "0.001"),  # 3 contract months
        (date(2026, 9, 30), date(2027, 1, 4), "0.005"),  # 4
        (date(2025, 1, 2), date(2030, 1, 2), "0.005"),  # 60
        (date(2025, 1, 2), date(2030, 2, 1), "0.01"),  # 61
    ],
)
def test_rate_tick_depends_on_months_to_maturity(trade: date, maturity: date, tick: str) -> None:
    assert di1.rate_tick(trade, maturity) == Decimal(tick)


def test_snap_rate_rounds_in_the_asked_direction() -> None:
    tick = Decimal("0.005")
    assert di1.snap_rate(Decimal("14.3916"), tick, "up") == Decimal("14.395")
    assert di1.snap_rate(Decimal("14.3916"), tick, "down") == Decimal("14.390")
    assert di1.snap_rate(Decimal("14.3916"), tick) == Decimal("14.390")
    assert di1.snap_rate(Decimal("14.390"), tick, "up") == Decimal("14.390")


def test_buying_the_rate_is_selling_pu_and_back() -> None:
    assert di1.rate_side(OrderSide.BUY) == OrderSide.SELL
    assert di1.rate_side(OrderSide.SELL) == OrderSide.BUY
    assert di1.pu_side(OrderSide.BUY) == OrderSide.SELL  # a rate buy shows up in Nautilus as a PU sell
    assert di1.pu_side(OrderSide.SELL) == OrderSide.BUY
    with pytest.raises(ValueError):
        di1.rate_side(OrderSide.NO_ORDER_SIDE)


@given(st.sampled_from([OrderSide.BUY, OrderSide.SELL]))
def test_side_mapping_is_an_involution(side: OrderSide) -> None:
    assert di1.pu_side(di1.rate_side(side)) == side
    assert di1.rate_side(di1.rate_side(side)) == side
    assert di1.rate_side(side) != side


_RATES = st.integers(min_value=0, max_value=40_000).map(lambda n: Decimal(n).scaleb(-3))


@settings(max_examples=300)
@given(rate=_RATES, du=st.integers(min_value=1, max_value=2600))
def test_rate_pu_round_trip_within_the_pu_rounding(rate: Decimal, du: int) -> None:
    pu = di1.rate_to_pu(rate, du)
    back = di1.pu_to_rate(pu, du, places=None)
    # PU is rounded to 0.01: the rate it implies is off by at most 0.005 PU / |dPU/drate|.
    sensitivity = pu * Decimal(du) / Decimal(252) / (100 * (1 + rate / 100))
    assert abs(back - rate) <= Decimal("0.005") / sensitivity + Decimal("1e-20")


@settings(max_examples=300)
@given(rate=_RATES, du=st.integers(min_value=6, max_value=2600))
def test_rate_pu_round_trip_is_exact_on_the_quote_grid_from_six_business_days(rate: Decimal, du: int) -> None:
    assert di1.pu_to_rate(di1.rate_to_pu(rate, du), du) == rate


def test_convention_flips_sides_and_snaps_pu_limits_never_better_than_asked() -> None:
    convention = di1.DI1PriceConvention(date(2027, 1, 4))
    ts = _ns(datetime(2025, 1, 2, 15, 0, tzinfo=UTC))  # 12:00 in Sao Paulo, trade date 2 Jan
    limit = Decimal("76543.21")  # implies 14.3916...%
    buy_rate = convention.price_to_wire(limit, OrderSide.BUY, ts)  # wire: sell the rate
    sell_rate = convention.price_to_wire(limit, OrderSide.SELL, ts)  # wire: buy the rate
    assert (buy_rate, sell_rate) == (Decimal("14.395"), Decimal("14.390"))
    assert convention.price_from_wire(buy_rate, ts) <= limit  # the PU buyer pays no more
    assert convention.price_from_wire(sell_rate, ts) >= limit  # the PU seller gets no less
    assert convention.side_to_wire(OrderSide.BUY) == OrderSide.SELL
    assert convention.side_from_wire(OrderSide.BUY) == OrderSide.SELL


def test_trade_date_is_the_sao_paulo_date() -> None:
    convention = di1.DI1PriceConvention(date(2027, 1, 4))
    late = _ns(datetime(2025, 1, 3, 2, 0, tzinfo=UTC))  # 23:00 on 2 Jan in Sao Paulo
    assert convention.du_at(late) == 501


def test_di1_is_a_b3_futures_contract_priced_in_pu() -> None:
    instrument = futures_contract("DI1F27.B3")
    assert instrument.price_increment.as_decimal() == Decimal("0.01")
    assert instrument.multiplier.as_decimal() == 1
    assert instrument.quote_currency.code == "BRL"
    spec = spec_for("DI1")
    assert spec.expiry_date(2027, 1) == date(2027, 1, 4)
    assert spec.quote_tick(date(2026, 11, 3), 2027, 1) == Decimal("0.001")
    assert spec.quote_tick(date(2025, 1, 2), 2035, 1) == Decimal("0.01")
    assert spec_for("WIN").quote_tick(date(2025, 1, 2), 2026, 12) == Decimal(5)


def test_pu_pnl_of_a_rate_move_has_the_right_sign() -> None:
    # Long PU (sold the rate) gains when the rate falls: Nautilus P&L on PU needs no special case.
    du = 501
    entry, exit_ = di1.rate_to_pu(Decimal("14.500"), du), di1.rate_to_pu(Decimal("14.000"), du)
    assert exit_ - entry > 0
