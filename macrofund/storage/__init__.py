"""PostgreSQL storage of a run's trading state (orders, fills, positions, P&L) and where it lives.

``resolve_database_url`` picks the database for paper and live (configured, else embedded); the
persistence component (``macrofund.storage.persistence``) writes to it; ``macrofund.storage.rebuild``
reads a run back. See ``docs/storage.md``.
"""

from __future__ import annotations

from macrofund.storage.resolve import default_data_dir, resolve_database_url

__all__ = ["default_data_dir", "resolve_database_url"]
