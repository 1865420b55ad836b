"""Cache-aside reads: try Redis, else load from the source and fill Redis; Redis down = source only.

Readers (the risk price collar in live, the control plane) pass the loader for the source of truth
(the kernel's cache, PostgreSQL, the venue); this class never decides what the truth is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from nautilus_trader.model.instruments import Instrument

from macrofund.cache.config import CacheConfig
from macrofund.cache.keys import CacheKeys
from macrofund.cache.link import CacheUnavailable, RedisLink
from macrofund.cache.records import AccountSnapshot, ReferencePrice, decode_instrument, encode_instrument

T = TypeVar("T")


def _ms(value: timedelta) -> int:
    return max(int(value.total_seconds() * 1000), 1)


class CacheAside:
    """Typed cache-aside lookups with TTLs, and the counters that show whether the cache helps."""

    def __init__(self, link: RedisLink, keys: CacheKeys, config: CacheConfig) -> None:
        self._link = link
        self._keys = keys
        self._config = config
        self.hits = 0
        self.misses = 0
        self.fallthroughs = 0

    @classmethod
    def connect(cls, config: CacheConfig, trader_id: str) -> CacheAside:
        """A cache-aside client for ``trader_id`` from a ``[cache]`` config (``redis_url`` required)."""
        if config.redis_url is None:
            raise ValueError("cache.redis_url is not set")
        link = RedisLink(
            config.redis_url,
            socket_timeout=config.socket_timeout.total_seconds(),
            retry_interval=config.retry_interval.total_seconds(),
        )
        return cls(link, CacheKeys(f"{config.key_prefix}{trader_id}:"), config)

    @property
    def link(self) -> RedisLink:
        return self._link

    def _get_or_load(
        self,
        key: str,
        ttl: timedelta,
        load: Callable[[], T | None],
        encode: Callable[[T], str],
        decode: Callable[[str], T],
    ) -> T | None:
        try:
            raw = self._link.run(lambda r: r.get(key))
        except CacheUnavailable:
            self.fallthroughs += 1
            return load()
        cached = raw.decode() if isinstance(raw, bytes) else raw
        if cached is not None:
            self.hits += 1
            return decode(cached)
        self.misses += 1
        value = load()
        if value is not None:
            with contextlib.suppress(CacheUnavailable):
                self._link.run(lambda r: r.set(key, encode(value), px=_ms(ttl)))
        return value

    def instrument(self, instrument_id: str, load: Callable[[], Instrument | None]) -> Instrument | None:
        """An instrument definition (TTL ``instrument_ttl``)."""
        return self._get_or_load(
            self._keys.instrument(instrument_id),
            self._config.instrument_ttl,
            load,
            encode_instrument,
            decode_instrument,
        )

    def reference_price(
        self, instrument_id: str, load: Callable[[], ReferencePrice | None]
    ) -> ReferencePrice | None:
        """The latest reference price (TTL ``price_ttl``: an old price expires rather than misleads)."""
        return self._get_or_load(
            self._keys.price(instrument_id),
            self._config.price_ttl,
            load,
            ReferencePrice.encode,
            ReferencePrice.decode,
        )

    def account(self, account_id: str, load: Callable[[], AccountSnapshot | None]) -> AccountSnapshot | None:
        """An account's balances and open positions (TTL ``position_ttl``)."""
        return self._get_or_load(
            self._keys.account(account_id),
            self._config.position_ttl,
            load,
            AccountSnapshot.encode,
            AccountSnapshot.decode,
        )

    def invalidate(self, *keys: str) -> None:
        """Delete entries whose source changed; a no-op while Redis is down (TTLs bound the staleness)."""
        with contextlib.suppress(CacheUnavailable):
            self._link.run(lambda r: r.delete(*keys))

    def close(self) -> None:
        self._link.close()
