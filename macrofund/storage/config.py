"""Database settings (``[storage]`` in the run config).

Nothing here reads the environment: ``MACROFUND_DATABASE_URL`` is resolved by the CLI and by
``macrofund.storage.resolve_database_url`` at the edge, so a config file always means the same thing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator

from macrofund.config.base import FrozenModel


def _duration(value: object) -> timedelta:
    # Imported here: run_config imports this module, so a top-level import would be circular.
    from macrofund.config.run_config import parse_duration

    return parse_duration(value)


class StorageConfig(FrozenModel):
    """PostgreSQL persistence of orders, fills, positions and P&L.

    ``database_url`` unset: backtests stay file-based; paper and live start an embedded PostgreSQL
    under ``embedded_dir``. ``flush_interval`` bounds what a hard kill can lose: every event the
    engine published more than one interval (plus one write) before the kill is in the database.
    """

    database_url: str | None = None
    flush_interval: timedelta = timedelta(milliseconds=50)
    queue_size: int = Field(default=200_000, ge=1_000)
    batch_max: int = Field(default=20_000, ge=100)
    pnl_interval: timedelta = timedelta(minutes=15)
    embedded_dir: Path | None = None

    @field_validator("flush_interval", "pnl_interval", mode="before")
    @classmethod
    def _parse_duration(cls, value: object) -> timedelta:
        return _duration(value)

    @field_validator("flush_interval")
    @classmethod
    def _flush_bound(cls, value: timedelta) -> timedelta:
        if not timedelta(milliseconds=1) <= value <= timedelta(seconds=10):
            raise ValueError(f"expected between 1ms and 10s, got {value.total_seconds() * 1000:g}ms")
        return value

    @field_validator("pnl_interval")
    @classmethod
    def _pnl_positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("expected a positive duration such as '15m'")
        return value
