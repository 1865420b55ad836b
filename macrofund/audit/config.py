"""Audit-trail settings (``[audit]`` in the run config)."""

from __future__ import annotations

from macrofund.config.base import FrozenModel


class AuditConfig(FrozenModel):
    """Where the hash-chained audit trail goes and how durably."""

    enabled: bool = True
    database_url: str | None = None  # also write the trail to PostgreSQL (``--audit-db``)
