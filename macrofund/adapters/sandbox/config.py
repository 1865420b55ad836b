"""Config of the paper venue: the stock sandbox config plus the backtest's fill and fee models."""

from __future__ import annotations

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.backtest.config import ImportableFeeModelConfig, ImportableFillModelConfig

from macrofund.venues.fees import ContractFeeModelConfig

FEE_MODEL_PATH = "macrofund.venues.fees:ContractFeeModel"
FEE_CONFIG_PATH = "macrofund.venues.fees:ContractFeeModelConfig"


class MacroSandboxConfig(SandboxExecutionClientConfig, frozen=True, kw_only=True):
    """A sandbox venue whose simulated exchange uses the same importable models as the backtest venue.

    ``fill_model`` ``None`` means Nautilus's default ``FillModel`` (as in a backtest venue with
    ``fill_model.kind = "default"``); ``fee_model`` ``None`` means ``ContractFeeModel`` with the specs'
    default fees. Both are the ``Importable*Config`` objects the backtest's factories build from, so a
    paper venue can never silently run a different model than its backtest twin.
    """

    fill_model: ImportableFillModelConfig | None = None
    fee_model: ImportableFeeModelConfig | None = None


def fee_model_config(fees: dict[str, str]) -> ImportableFeeModelConfig:
    """The importable ``ContractFeeModel`` config for a venue's ``[venues.fees]`` table."""
    ContractFeeModelConfig(fees=fees)  # validate the field types early
    return ImportableFeeModelConfig(
        fee_model_path=FEE_MODEL_PATH, config_path=FEE_CONFIG_PATH, config={"fees": fees}
    )
