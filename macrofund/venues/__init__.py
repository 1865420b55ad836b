"""What a market *is*: contract specs, expiries, trading sessions and fees for CME and B3 futures.

Import the public API from here (``from macrofund.venues import futures_contract``). Names are loaded
lazily so that importing ``macrofund.venues.impact`` (pure numpy, usable from notebooks) does not pull in
Nautilus and ``exchange_calendars`` through this package's ``__init__``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_EXPORTS = {
    "ContractCode": "contracts",
    "ContractSpec": "contracts",
    "futures_contract": "contracts",
    "known_roots": "contracts",
    "parse_contract_code": "contracts",
    "spec_for": "contracts",
    "ContractFeeModel": "fees",
    "ContractFeeModelConfig": "fees",
    "B3_FX_SESSION": "sessions",
    "B3_INDEX_SESSION": "sessions",
    "CME_GLOBEX_SESSION": "sessions",
    "SessionWindow": "sessions",
    "TradingSession": "sessions",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"macrofund.venues.{module}"), name)
