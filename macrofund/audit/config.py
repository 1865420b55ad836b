"""Audit-trail settings (``[audit]`` in the run config)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from macrofund.config.base import FrozenModel


def _positive_duration(value: object) -> timedelta:
    from macrofund.config.run_config import parse_duration  # run_config imports this module

    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError("must be positive")
    return duration


class AuditConfig(FrozenModel):
    """Where the hash-chained audit trail goes and how durably.

    The JSONL file in the run folder is always written and is the source of truth; PostgreSQL is a
    second copy that catches up from the file whenever it falls behind.
    """

    enabled: bool = True
    database_url: str | None = None  # also write the trail to PostgreSQL (``--audit-db``)
    # fsync the file at most this often (0 = after every record). A crash of the machine can lose at
    # most this window; a crash of the process alone loses nothing that was handed to the OS.
    fsync_interval_ms: int = Field(default=100, ge=0, le=60_000)
    # CME Rule 536-B operator id (FIX tag 50) written into run_start and the export: the person or
    # desk responsible for the automated system. A placeholder until live mode logs operators in.
    operator_id: str = Field(default="UNASSIGNED", min_length=1, max_length=64)
    # Records waiting for PostgreSQL; beyond this the DB copy is back-filled from the file instead.
    db_queue_size: int = Field(default=200_000, ge=1_000)
    db_batch_size: int = Field(default=5_000, ge=1, le=50_000)
    db_retry_interval: timedelta = timedelta(seconds=1)
    # At the end of a run, how long to wait for PostgreSQL to hold every record before giving up
    # (the run still ends; ``macrofund audit sync`` finishes the job later).
    db_drain_timeout: timedelta = timedelta(seconds=30)

    @field_validator("db_retry_interval", "db_drain_timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return _positive_duration(value)
