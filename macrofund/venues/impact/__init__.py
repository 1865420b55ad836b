"""Market-impact models (pure numpy, no Nautilus): the Almgren-Chriss model and its helpers.

Usable from a notebook as well as from the engine's fill model::

    from macrofund.venues.impact import AlmgrenChriss
    model = AlmgrenChriss(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
    plan = model.optimal_trajectory(X=1_000_000, T=5.0, N=5, risk_aversion=1e-6)
"""

from __future__ import annotations

from macrofund.venues.impact.almgren_chriss import (
    AlmgrenChriss,
    CostStatistics,
    EfficientFrontier,
    ExecutionTrajectory,
)
from macrofund.venues.impact.calibration import scaled_2005_parameters
from macrofund.venues.impact.errors import ImpactModelError
from macrofund.venues.impact.lots import round_to_lots

__all__ = [
    "AlmgrenChriss",
    "CostStatistics",
    "EfficientFrontier",
    "ExecutionTrajectory",
    "ImpactModelError",
    "round_to_lots",
    "scaled_2005_parameters",
]
