"""The simulated exchange's models (fill and fee), shared by backtest and paper venues."""

from __future__ import annotations

from macrofund.venues.sim.models import build_fill_model

__all__ = ["build_fill_model"]
