"""macrofund: one NautilusTrader kernel for backtest, paper and live trading of macro futures."""

from __future__ import annotations

__version__ = "0.1.0"
