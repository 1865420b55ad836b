"""Example ``Strategy`` subclasses a strategy author can run as-is or copy (see ``docs/strategies.md``)."""

from __future__ import annotations

from macrofund.positions import own_net_position
from macrofund.strategies.ema_cross import EmaCross, EmaCrossConfig
from macrofund.strategies.macro_trend import MacroTrend, MacroTrendConfig

__all__ = ["EmaCross", "EmaCrossConfig", "MacroTrend", "MacroTrendConfig", "own_net_position"]
