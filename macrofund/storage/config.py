"""Database and cache settings (``[storage]`` in the run config)."""

from __future__ import annotations

from macrofund.config.base import FrozenModel


class StorageConfig(FrozenModel):
    """PostgreSQL persistence of orders, fills, positions and P&L; Redis cache."""

    database_url: str | None = None
