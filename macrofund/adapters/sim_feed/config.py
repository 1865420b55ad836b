"""Simulator settings (``[feed.sim]`` in the run config)."""

from __future__ import annotations

from macrofund.config.base import FrozenModel


class SimFeedSettings(FrozenModel):
    """Seeded GBM price simulator."""

    seed: int = 42
