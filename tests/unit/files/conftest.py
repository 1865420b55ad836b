"""Instruments and real-data paths for the file-loader tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from nautilus_trader.model.currencies import JPY, USD
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import AssetClass
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import CurrencyPair, FuturesContract
from nautilus_trader.model.objects import Price, Quantity

DATA = Path("/work/shared/data")
SIX_E = DATA / "cme_6e_futures_1min" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
USDJPY = DATA / "usdjpy_truefx_ticks" / "usdjpy-ticks.csv"


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real market data not available: {path} (see /work/shared/data/README.md)")
    return path


@pytest.fixture
def six_e_path() -> Path:
    return _need(SIX_E)


@pytest.fixture
def usdjpy_path() -> Path:
    return _need(USDJPY)


@pytest.fixture
def six_e() -> FuturesContract:
    """CME Euro FX March 2024: tick 0.00005 USD, 125,000 EUR a contract."""
    return FuturesContract(
        instrument_id=InstrumentId.from_str("6EH4.CME"),
        raw_symbol=Symbol("6EH4"),
        asset_class=AssetClass.FX,
        currency=USD,
        price_precision=5,
        price_increment=Price.from_str("0.00005"),
        multiplier=Quantity.from_int(125_000),
        lot_size=Quantity.from_int(1),
        underlying="EUR",
        activation_ns=0,
        expiration_ns=1_710_460_800_000_000_000,
        ts_event=0,
        ts_init=0,
    )


@pytest.fixture
def six_e_bar_type() -> BarType:
    return BarType.from_str("6EH4.CME-1-MINUTE-LAST-EXTERNAL")


@pytest.fixture
def usdjpy() -> CurrencyPair:
    """USD/JPY spot at 0.001 JPY, as TrueFX quotes it."""
    return CurrencyPair(
        instrument_id=InstrumentId.from_str("USD/JPY.SIM"),
        raw_symbol=Symbol("USD/JPY"),
        base_currency=USD,
        quote_currency=JPY,
        price_precision=3,
        size_precision=0,
        price_increment=Price.from_str("0.001"),
        size_increment=Quantity.from_int(1),
        lot_size=None,
        max_quantity=None,
        min_quantity=None,
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=0,
        margin_maint=0,
        maker_fee=0,
        taker_fee=0,
        ts_event=0,
        ts_init=0,
    )
