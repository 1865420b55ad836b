"""Paper venue: the sandbox execution client with the backtest's fill and fee models."""

from __future__ import annotations

from macrofund.adapters.sandbox.config import MacroSandboxConfig, fee_model_config
from macrofund.adapters.sandbox.execution import MacroSandboxExecutionClient, account_id_for
from macrofund.adapters.sandbox.factories import MacroSandboxExecClientFactory

__all__ = [
    "MacroSandboxConfig",
    "MacroSandboxExecClientFactory",
    "MacroSandboxExecutionClient",
    "account_id_for",
    "fee_model_config",
]
