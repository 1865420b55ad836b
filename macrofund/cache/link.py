"""A Redis connection that degrades instead of failing: when Redis is down, callers fall through.

The first failure is logged once (with the URL and the error) and the link stays "down" for
``retry_interval`` without touching the network, so a dead Redis costs callers nothing per call. The
first success afterwards logs the recovery and runs the ``on_recover`` hooks (the writer refills).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis

log = logging.getLogger("macrofund.cache")
T = TypeVar("T")

_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


class CacheUnavailable(Exception):
    """Redis cannot be reached now; the caller falls through to the source."""


def redacted(url: str) -> str:
    """The URL without its password, for logs and the run summary."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisLink:
    """A ``redis.Redis`` client plus up/down state; thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 0.5,
        retry_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = redacted(url)
        self.client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout, decode_responses=True
        )
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0
        self.failures = 0
        self.on_recover: list[Callable[[], None]] = []

    @property
    def available(self) -> bool:
        """False while Redis is known to be down."""
        return not self._down

    def run(self, call: Callable[[redis.Redis], T]) -> T:
        """``call(client)``; raises ``CacheUnavailable`` (never a Redis error) when Redis is down."""
        if self._down and self._clock() < self._retry_at:
            raise CacheUnavailable(self.url)
        try:
            result = call(self.client)
        except _FAILURES as exc:
            self._mark_down(exc)
            raise CacheUnavailable(self.url) from exc
        if self._down:
            self._mark_up()
        return result

    def _mark_down(self, exc: BaseException) -> None:
        with self._lock:
            self.failures += 1
            self._retry_at = self._clock() + self._retry_interval
            if self._down:
                return
            self._down = True
        log.warning(
            "cache=unavailable url=%s error=%r action=fall-through-to-source retry_every_s=%s",
            self.url,
            str(exc),
            self._retry_interval,
        )

    def _mark_up(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
        log.warning("cache=recovered url=%s", self.url)
        for hook in list(self.on_recover):
            hook()

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
