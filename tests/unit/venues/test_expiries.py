from __future__ import annotations

from datetime import date

import pytest

from macrofund.errors import UnknownInstrumentError
from macrofund.venues.contracts import parse_contract_code, spec_for


@pytest.mark.parametrize(
    ("symbol", "reference", "last_trade"),
    [
        # ES/NQ: 3rd Friday of the contract month.
        ("ESZ3", date(2013, 10, 6), date(2013, 12, 20)),
        ("ESH24", None, date(2024, 3, 15)),
        ("NQM24", None, date(2024, 6, 21)),
        # 6E: 2 business days before the 3rd Wednesday (20 Mar 2024).
        ("6EH4", date(2024, 1, 1), date(2024, 3, 18)),
        # ZN/ZB: 7th business day before the last business day (28 Mar 2024, Good Friday closed).
        ("ZNH24", None, date(2024, 3, 19)),
        ("ZBZ24", None, date(2024, 12, 19)),
        # 6L: last business day of the prior month; CME moved Jan-2015 to 30 Dec 2014 (SER-7270)
        # because 31 Dec is not a Brazilian business day.
        ("6LF15", None, date(2014, 12, 30)),
        ("6LH24", None, date(2024, 2, 29)),
        # WIN/IND: Wednesday closest to the 15th (15 Dec 2024 is a Sunday -> Wed 18th).
        ("WINZ24", None, date(2024, 12, 18)),
        ("INDV25", None, date(2025, 10, 15)),
        ("WING25", None, date(2025, 2, 12)),
        # DOL/WDO: last business day of the prior month (31 Dec 2024 is not a B3 session).
        ("DOLF25", None, date(2024, 12, 30)),
        ("WDOH24", None, date(2024, 2, 29)),
    ],
)
def test_last_trade_date_of_known_contracts(symbol: str, reference: date | None, last_trade: date) -> None:
    code = parse_contract_code(symbol, reference)
    assert spec_for(code.root).last_trade_date(code.year, code.month) == last_trade


def test_dollar_futures_expire_on_first_business_day_of_contract_month() -> None:
    spec = spec_for("DOL")
    assert spec.expiry_date(2025, 1) == date(2025, 1, 2)
    assert spec.last_trade_date(2025, 1) < spec.expiry_date(2025, 1)


def test_index_futures_expire_on_the_last_trading_date() -> None:
    spec = spec_for("WIN")
    assert spec.expiry_date(2024, 12) == spec.last_trade_date(2024, 12)


def test_wednesday_rule_rolls_to_next_session_on_a_b3_holiday() -> None:
    # Feb 2024: the 15th is a Thursday, closest Wednesday is the 14th (Ash Wednesday, B3 opens at 13:00,
    # so it is a session); Carnival Mon/Tue 12-13 Feb are holidays.
    assert spec_for("WIN").last_trade_date(2024, 2) == date(2024, 2, 14)


def test_unlisted_month_is_rejected() -> None:
    with pytest.raises(UnknownInstrumentError, match="month 1 is not listed"):
        spec_for("ES").last_trade_date(2024, 1)


def test_date_outside_calendar_range_is_rejected() -> None:
    with pytest.raises(UnknownInstrumentError, match="outside the CMES calendar range"):
        spec_for("ES").last_trade_date(2099, 3)
