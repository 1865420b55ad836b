"""Writes cache entries from a background thread, coalesced, so the event loop never waits on Redis.

The run hands over batches ``{key: (value, ttl_ms)}`` (``value=None`` deletes). Batches merge while the
thread is busy, so a burst of events becomes one pipeline per flush. The writer also keeps the latest
value of every key: when Redis comes back after an outage it rewrites all of them (the refill).
"""

from __future__ import annotations

import threading

from macrofund.cache.link import CacheUnavailable, RedisLink

Entry = tuple[str | None, int]


class CacheWriter:
    """One daemon thread, one pending batch (bounded by the number of distinct keys)."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._cond = threading.Condition()
        self._pending: dict[str, Entry] = {}
        self._state: dict[str, Entry] = {}
        self._refill = False
        self._busy = False
        self._stopped = False
        self.keys_written = 0
        self.batches = 0
        self.failed_batches = 0
        link.on_recover.append(self._request_refill)
        self._thread = threading.Thread(target=self._run, name="macrofund-cache-writer", daemon=True)
        self._thread.start()

    def offer(self, batch: dict[str, Entry]) -> None:
        """Queue a batch; returns at once."""
        if not batch:
            return
        with self._cond:
            self._pending.update(batch)
            self._cond.notify()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything offered so far was attempted; True if nothing is left pending."""
        with self._cond:
            self._cond.notify()
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout=timeout)

    def _request_refill(self) -> None:
        with self._cond:
            self._refill = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._refill or self._stopped)
                if self._stopped and not self._pending:
                    return
                batch, self._pending = self._pending, {}
                for key, entry in batch.items():
                    if entry[0] is None:
                        self._state.pop(key, None)
                    else:
                        self._state[key] = entry
                if self._refill:
                    batch = {**self._state, **batch}
                    self._refill = False
                self._busy = True
            try:
                self._write(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, batch: dict[str, Entry]) -> None:
        def call(client: object) -> None:
            pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
            for key, (value, ttl_ms) in batch.items():
                if value is None:
                    pipe.delete(key)
                else:
                    pipe.set(key, value, px=ttl_ms)
            pipe.execute()

        try:
            self._link.run(call)
        except CacheUnavailable:
            self.failed_batches += 1
            with self._cond:
                self._refill = False  # the link's recovery hook asks for the refill when Redis is back
            return
        self.batches += 1
        self.keys_written += len(batch)

    def close(self, timeout: float = 5.0) -> None:
        """Stop after writing what is pending (bounded by ``timeout``)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout)
