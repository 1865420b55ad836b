"""Redis cache settings (``[cache]`` in the run config). No ``redis_url``: no cache, nothing changes."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from macrofund.config.base import FrozenModel


class CacheConfig(FrozenModel):
    """Where the cache lives, how long entries live, and how often the run writes to it."""

    redis_url: str | None = Field(default=None, pattern=r"^(redis|rediss|unix)://")
    # Keys are <key_prefix><trader_id>:<kind>:<id>; several traders can share one Redis.
    key_prefix: str = Field(default="macrofund:", pattern=r"^[A-Za-z0-9:_.-]*$")
    instrument_ttl: timedelta = timedelta(days=1)
    price_ttl: timedelta = timedelta(minutes=5)
    position_ttl: timedelta = timedelta(hours=1)
    # Writes are coalesced: at most one batch per flush_interval (wall clock), written off the event loop.
    flush_interval: timedelta = timedelta(milliseconds=250)
    # While Redis is down, calls fall through to the source without touching the network; it is tried
    # again after retry_interval.
    retry_interval: timedelta = timedelta(seconds=5)
    socket_timeout: timedelta = timedelta(milliseconds=500)

    @field_validator(
        "instrument_ttl",
        "price_ttl",
        "position_ttl",
        "flush_interval",
        "retry_interval",
        "socket_timeout",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        from macrofund.config.run_config import parse_duration  # run_config imports this module

        duration = parse_duration(value)
        if duration <= timedelta(0):
            raise ValueError("must be positive")
        return duration
