"""Redis cache-aside: instruments, reference prices, latest positions and P&L per account.

``CacheAside`` is the read side (cache-aside with TTLs, falls through to the source when Redis is down);
``component.install`` is the write side inside a run. See ``docs/cache.md``.
"""

from __future__ import annotations

from macrofund.cache.aside import CacheAside
from macrofund.cache.config import CacheConfig
from macrofund.cache.keys import CacheKeys
from macrofund.cache.link import CacheUnavailable, RedisLink
from macrofund.cache.records import AccountSnapshot, ReferencePrice

__all__ = [
    "AccountSnapshot",
    "CacheAside",
    "CacheConfig",
    "CacheKeys",
    "CacheUnavailable",
    "RedisLink",
    "ReferencePrice",
]
