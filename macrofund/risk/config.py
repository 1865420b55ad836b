"""Risk limits and kill-switch settings (``[risk]`` in the run config)."""

from __future__ import annotations

from macrofund.config.base import FrozenModel


class RiskConfig(FrozenModel):
    """Pre-trade limits per account and instrument, and kill-switch triggers."""

    enabled: bool = True
