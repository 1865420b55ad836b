"""The base of every config model: frozen, and unknown keys are errors (a typo never passes silently)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """Immutable, strict pydantic model for config sections."""

    model_config = ConfigDict(frozen=True, extra="forbid")
