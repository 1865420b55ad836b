from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from macrofund.errors import UnknownInstrumentError
from macrofund.venues.contracts import ContractCode, known_roots, parse_contract_code, spec_for


@pytest.mark.parametrize(
    ("symbol", "reference", "expected"),
    [
        ("ESZ6", date(2025, 5, 1), ContractCode("ES", "Z", 12, 2026, "ESZ6")),
        ("6EH4", date(2024, 1, 1), ContractCode("6E", "H", 3, 2024, "6EH4")),
        ("ESZ3", date(2013, 10, 6), ContractCode("ES", "Z", 12, 2013, "ESZ3")),
        ("ESH0", date(2029, 12, 1), ContractCode("ES", "H", 3, 2030, "ESH0")),
        ("ZNU5", date(2026, 1, 1), ContractCode("ZN", "U", 9, 2035, "ZNU5")),
        ("6LF5", date(2025, 12, 31), ContractCode("6L", "F", 1, 2025, "6LF5")),
        ("WINZ26", None, ContractCode("WIN", "Z", 12, 2026, "WINZ26")),
        ("ESZ13", None, ContractCode("ES", "Z", 12, 2013, "ESZ13")),
        ("DOLF25", None, ContractCode("DOL", "F", 1, 2025, "DOLF25")),
        ("WDOX99", None, ContractCode("WDO", "X", 11, 2099, "WDOX99")),
    ],
)
def test_parse_contract_code_resolves_root_month_and_year(
    symbol: str, reference: date | None, expected: ContractCode
) -> None:
    assert parse_contract_code(symbol, reference) == expected


def test_one_digit_year_defaults_to_today() -> None:
    code = parse_contract_code("ESZ9")
    assert code.year % 10 == 9
    assert code.year >= date.today().year


@pytest.mark.parametrize(
    ("symbol", "reason"),
    [
        ("ESF6", "month code F is not listed for ES"),  # ES is quarterly
        ("WINH26", "month code H is not listed for WIN"),  # WIN is even months only
        ("CLZ6", "unknown contract root 'CL'"),
        ("ES", "not a futures contract code"),
        ("ESZ", "not a futures contract code"),
        ("ESZ123", "not a futures contract code"),
        ("esz6", "not a futures contract code"),
        ("", "not a futures contract code"),
        ("ES Z6", "not a futures contract code"),
    ],
)
def test_bad_codes_raise_with_the_symbol_and_reason(symbol: str, reason: str) -> None:
    with pytest.raises(UnknownInstrumentError, match=reason):
        parse_contract_code(symbol)


@given(
    root=st.sampled_from(known_roots()),
    year=st.integers(min_value=2001, max_value=2044),
    data=st.data(),
)
def test_symbol_for_round_trips_through_parse(root: str, year: int, data: st.DataObject) -> None:
    spec = spec_for(root)
    month = data.draw(st.sampled_from(spec.months))
    symbol = spec.symbol_for(year, month)
    # A 1-digit year resolves relative to a reference in the same decade-window.
    code = parse_contract_code(symbol, reference=date(year, 1, 1))
    assert (code.root, code.month, code.year) == (root, month, year)
