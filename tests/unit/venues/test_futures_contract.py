from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from nautilus_trader.model.currencies import BRL, USD
from nautilus_trader.model.enums import AssetClass
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from macrofund.errors import UnknownInstrumentError
from macrofund.venues.contracts import futures_contract


def utc_ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_es_contract_matches_the_spec() -> None:
    contract = futures_contract("ESZ6.CME", reference=date(2026, 1, 1), ts_init=42)
    assert contract.id == InstrumentId.from_str("ESZ6.CME")
    assert contract.raw_symbol.value == "ESZ6"
    assert contract.asset_class == AssetClass.INDEX
    assert contract.quote_currency == USD
    assert contract.price_precision == 2
    assert contract.price_increment == Price.from_str("0.25")
    assert contract.multiplier == Quantity.from_int(50)
    assert contract.lot_size == Quantity.from_int(1)
    assert contract.size_precision == 0
    assert contract.exchange == "XCME"
    assert contract.underlying == "SPX"
    assert contract.margin_init == Decimal("0.066")
    assert contract.margin_maint == Decimal("0.06")
    assert contract.maker_fee == 0
    assert contract.taker_fee == 0
    assert contract.ts_init == contract.ts_event == 42
    # Trading stops 08:30 CT (09:30 ET, the SOQ) on Friday 18 Dec 2026 = 14:30 UTC.
    assert contract.expiration_ns == utc_ns(2026, 12, 18, 14, 30)
    assert contract.activation_ns < contract.expiration_ns


def test_zn_uses_cbot_mic_and_sixty_fourths() -> None:
    contract = futures_contract(InstrumentId.from_str("ZNH4.CME"), reference=date(2024, 1, 1))
    assert contract.exchange == "XCBT"
    assert contract.price_increment == Price.from_str("0.015625")
    assert contract.price_precision == 6
    assert contract.multiplier == Quantity.from_int(1000)
    # 12:01 CDT on 19 Mar 2024.
    assert contract.expiration_ns == utc_ns(2024, 3, 19, 17, 1)


def test_win_contract_is_in_brl_with_fractional_multiplier() -> None:
    contract = futures_contract("WINZ24.B3")
    assert contract.quote_currency == BRL
    assert contract.price_increment == Price.from_str("5")
    assert contract.price_precision == 0
    assert contract.multiplier == Quantity.from_str("0.2")
    assert contract.exchange == "BVMF"
    # 18:25 BRT (UTC-3) on 18 Dec 2024.
    assert contract.expiration_ns == utc_ns(2024, 12, 18, 21, 25)


def test_dol_contract_expires_on_its_last_trading_day() -> None:
    contract = futures_contract("DOLF25.B3")
    assert contract.price_increment == Price.from_str("0.5")
    assert contract.multiplier == Quantity.from_int(50)
    assert contract.expiration_ns == utc_ns(2024, 12, 30, 21, 30)


def test_6e_notional_is_125k_euros_quoted_in_dollars() -> None:
    contract = futures_contract("6EH4.CME", reference=date(2024, 1, 1))
    notional = contract.notional_value(Quantity.from_int(1), Price.from_str("1.08000"))
    assert notional.as_decimal() == Decimal("135000.00")
    assert notional.currency == USD


def test_venue_must_match_the_spec() -> None:
    with pytest.raises(UnknownInstrumentError, match="ES trades on venue CME, not B3"):
        futures_contract("ESZ6.B3")
    with pytest.raises(UnknownInstrumentError, match="WIN trades on venue B3, not CME"):
        futures_contract("WINZ26.CME")


@pytest.mark.parametrize("bad", ["ESZ6", "", "ESZ6.", "CLZ6.CME"])
def test_bad_instrument_ids_raise_unknown_instrument(bad: str) -> None:
    with pytest.raises(UnknownInstrumentError):
        futures_contract(bad)


def test_bare_root_is_a_continuous_series_that_never_expires() -> None:
    from macrofund.venues.contracts import CONTINUOUS_EXPIRATION_NS

    es = futures_contract("ES.CME")
    assert es.activation_ns == 0
    assert es.expiration_ns == CONTINUOUS_EXPIRATION_NS
    assert es.price_increment.as_decimal() == Decimal("0.25")
    assert es.multiplier.as_decimal() == Decimal(50)
    win = futures_contract("WIN.B3")
    assert win.quote_currency.code == "BRL"
    with pytest.raises(UnknownInstrumentError, match="trades on venue CME"):
        futures_contract("ES.B3")
