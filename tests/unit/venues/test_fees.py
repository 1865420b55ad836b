from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.backtest.config import FeeModelFactory, ImportableFeeModelConfig
from nautilus_trader.backtest.models import FeeModel
from nautilus_trader.model.currencies import BRL, USD
from nautilus_trader.model.instruments import FuturesContract
from nautilus_trader.model.objects import Money, Price, Quantity

from macrofund.errors import ConfigError
from macrofund.venues.contracts import futures_contract
from macrofund.venues.fees import ContractFeeModel, ContractFeeModelConfig

ES = futures_contract("ESZ6.CME", ts_init=0)
ESH7 = futures_contract("ESH7.CME", ts_init=0)
WIN = futures_contract("WINZ26.B3", ts_init=0)


def commission(model: FeeModel, instrument: FuturesContract, qty: int) -> Money:
    px = Price.from_str("1" if instrument.price_precision == 0 else f"1.{'0' * instrument.price_precision}")
    return model.get_commission(None, Quantity.from_int(qty), px, instrument)


def test_default_fee_comes_from_the_spec() -> None:
    model = ContractFeeModel()
    assert commission(model, ES, 3) == Money(Decimal("6.75"), USD)
    assert commission(model, WIN, 4) == Money(Decimal("1.00"), BRL)


def test_root_override_applies_to_every_contract_of_the_root() -> None:
    model = ContractFeeModel({"ES": "1.10"})
    assert commission(model, ES, 2) == Money(Decimal("2.20"), USD)
    assert commission(model, ESH7, 1) == Money(Decimal("1.10"), USD)


def test_instrument_override_wins_over_root() -> None:
    model = ContractFeeModel({"ES": Decimal("1.10"), "ESZ6.CME": "0.50"})
    assert commission(model, ES, 3) == Money(Decimal("1.50"), USD)
    assert commission(model, ESH7, 3) == Money(Decimal("3.30"), USD)


@given(
    fee=st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
    qty=st.integers(min_value=1, max_value=100_000),
)
def test_commission_is_exact_decimal_product(fee: Decimal, qty: int) -> None:
    model = ContractFeeModel({"ES": fee})
    result = commission(model, ES, qty)
    assert result.as_decimal() == fee * qty
    assert result.currency == USD


def test_builds_through_nautilus_fee_model_factory() -> None:
    model = FeeModelFactory.create(
        ImportableFeeModelConfig(
            fee_model_path="macrofund.venues.fees:ContractFeeModel",
            config_path="macrofund.venues.fees:ContractFeeModelConfig",
            config={"fees": {"WIN": "0.30"}},
        )
    )
    assert isinstance(model, ContractFeeModel)
    assert commission(model, WIN, 10) == Money(Decimal("3.00"), BRL)


def test_accepts_config_keyword() -> None:
    model = ContractFeeModel(config=ContractFeeModelConfig(fees={"ESZ6.CME": "0.01"}))
    assert model.fee_per_contract(ES.id) == Decimal("0.01")


@pytest.mark.parametrize(
    ("fees", "message"),
    [
        ({"CL": "1"}, "fees.CL: not a known contract root"),
        ({"ESZ6.B3": "1"}, "fees.ESZ6.B3: not a known contract root"),
        ({"ESF6.CME": "1"}, "fees.ESF6.CME: not a known"),
        ({"ES": "-1"}, "fees.ES: fee must be a non-negative"),
        ({"ES": "abc"}, "fees.ES: 'abc' is not a decimal"),
        ({"ES": "0.125"}, "more decimals than USD allows"),
        ({"ES": "NaN"}, "non-negative number"),
    ],
)
def test_bad_fee_tables_are_config_errors(fees: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ContractFeeModel(fees)


def test_fees_and_config_together_are_rejected() -> None:
    with pytest.raises(ConfigError, match="not both"):
        ContractFeeModel({"ES": "1"}, config=ContractFeeModelConfig(fees={}))
