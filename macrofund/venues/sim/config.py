"""Fill-model settings per venue (``[venues.fill_model]`` in the run config)."""

from __future__ import annotations

from typing import Literal

from macrofund.config.base import FrozenModel


class FillModelSettings(FrozenModel):
    """Which fill model the simulated exchange uses."""

    kind: Literal["default"] = "default"
