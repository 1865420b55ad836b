"""Build the simulated exchange's fill model from a venue's config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nautilus_trader.backtest.models import FillModel
from nautilus_trader.model.instruments import Instrument

if TYPE_CHECKING:
    from macrofund.config.run_config import VenueConfig


def build_fill_model(venue: VenueConfig, instruments: dict[str, Instrument]) -> FillModel | None:
    """The venue's fill model; ``None`` means Nautilus's default."""
    return None
