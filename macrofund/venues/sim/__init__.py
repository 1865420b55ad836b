"""The simulated exchange's models (fill and fee), shared by backtest and paper venues.

``build_fill_model(venue, instruments)`` is what the backtest assembly calls; the paper venue builds the
same model from ``fill_model_config(venue, instrument_ids)`` through Nautilus's ``FillModelFactory``.
"""

from __future__ import annotations

from macrofund.venues.sim.models import build_fill_model, fill_model_config

__all__ = ["build_fill_model", "fill_model_config"]
