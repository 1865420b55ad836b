from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import AssetClass

from macrofund.errors import UnknownInstrumentError
from macrofund.venues.contracts import known_roots, spec_for

# root: (venue, MIC, currency, tick, multiplier, months, price precision, asset class)
PUBLISHED = {
    "ES": ("CME", "XCME", "USD", "0.25", "50", "HMUZ", 2, AssetClass.INDEX),
    "NQ": ("CME", "XCME", "USD", "0.25", "20", "HMUZ", 2, AssetClass.INDEX),
    "ZN": ("CME", "XCBT", "USD", "0.015625", "1000", "HMUZ", 6, AssetClass.DEBT),
    "ZB": ("CME", "XCBT", "USD", "0.03125", "1000", "HMUZ", 5, AssetClass.DEBT),
    "6E": ("CME", "XCME", "USD", "0.00005", "125000", "HMUZ", 5, AssetClass.FX),
    "6L": ("CME", "XCME", "USD", "0.00005", "100000", "FGHJKMNQUVXZ", 5, AssetClass.FX),
    "WIN": ("B3", "BVMF", "BRL", "5", "0.20", "GJMQVZ", 0, AssetClass.INDEX),
    "IND": ("B3", "BVMF", "BRL", "5", "1", "GJMQVZ", 0, AssetClass.INDEX),
    "DOL": ("B3", "BVMF", "BRL", "0.5", "50", "FGHJKMNQUVXZ", 1, AssetClass.FX),
    "WDO": ("B3", "BVMF", "BRL", "0.5", "10", "FGHJKMNQUVXZ", 1, AssetClass.FX),
    # DI1 in Nautilus is priced in PU (tick 0.01, BRL 1 per point); its rate tick is quote_tick.
    "DI1": ("B3", "BVMF", "BRL", "0.01", "1", "FGHJKMNQUVXZ", 2, AssetClass.DEBT),
}


def test_known_roots_are_exactly_the_listed_contracts() -> None:
    assert known_roots() == sorted(PUBLISHED)


@pytest.mark.parametrize("root", sorted(PUBLISHED))
def test_spec_matches_published_contract_terms(root: str) -> None:
    venue, mic, currency, tick, multiplier, months, precision, asset_class = PUBLISHED[root]
    spec = spec_for(root)
    assert spec.root == root
    assert spec.venue == venue
    assert spec.exchange == mic
    assert spec.currency == currency
    assert spec.tick_size == Decimal(tick)
    assert spec.multiplier == Decimal(multiplier)
    assert spec.month_codes == months
    assert spec.price_precision == precision
    assert spec.asset_class == asset_class


@pytest.mark.parametrize(
    ("root", "tick_value"),
    [("ES", "12.5"), ("NQ", "5"), ("ZN", "15.625"), ("ZB", "31.25"), ("6E", "6.25"), ("6L", "5"),
     ("WIN", "1"), ("IND", "5"), ("DOL", "25"), ("WDO", "5")],
)  # fmt: skip
def test_tick_value_is_tick_times_multiplier(root: str, tick_value: str) -> None:
    assert spec_for(root).tick_value == Decimal(tick_value)


@pytest.mark.parametrize("root", sorted(PUBLISHED))
def test_defaults_are_sane(root: str) -> None:
    spec = spec_for(root)
    assert spec.fee_per_contract > 0
    assert 0 < spec.margin_maint <= spec.margin_init < 1


def test_unknown_root_names_the_known_ones() -> None:
    with pytest.raises(UnknownInstrumentError, match=r"unknown contract root 'CL'.*ES.*WIN"):
        spec_for("CL")


def test_package_exports_the_public_api_lazily() -> None:
    import macrofund.venues as venues

    assert venues.spec_for is spec_for
    assert set(venues.__all__) >= {"ContractFeeModel", "futures_contract", "TradingSession"}
    with pytest.raises(AttributeError):
        _ = venues.nope
