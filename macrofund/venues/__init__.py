"""What a market *is*: contract specs, expiries, trading sessions and fees for CME and B3 futures.

Import the public API from here (``from macrofund.venues import futures_contract``); the AC impact model
lives in ``macrofund.venues.impact`` and does not depend on this package.
"""

from __future__ import annotations

from macrofund.venues.contracts import (
    ContractCode,
    ContractSpec,
    futures_contract,
    known_roots,
    parse_contract_code,
    spec_for,
)
from macrofund.venues.fees import ContractFeeModel, ContractFeeModelConfig
from macrofund.venues.sessions import (
    B3_FX_SESSION,
    B3_INDEX_SESSION,
    CME_GLOBEX_SESSION,
    SessionWindow,
    TradingSession,
)

__all__ = [
    "B3_FX_SESSION",
    "B3_INDEX_SESSION",
    "CME_GLOBEX_SESSION",
    "ContractCode",
    "ContractFeeModel",
    "ContractFeeModelConfig",
    "ContractSpec",
    "SessionWindow",
    "TradingSession",
    "futures_contract",
    "known_roots",
    "parse_contract_code",
    "spec_for",
]
