"""The cache component: keeps Redis's copy of instruments, reference prices and accounts current.

Installed when ``[cache] redis_url`` is set. It subscribes on the message bus at install time (before
anything is published: the 1.221 late-wildcard bug) to ``events.position.*``, ``events.account.*``,
``data.quotes.*``, ``data.bars.*`` and ``data.instrument.*``. A handler only remembers the latest
object per instrument or account (a dict store, no I/O); at most once per ``flush_interval`` of wall
clock the changed entries are encoded and handed to the background ``CacheWriter``. Each write
replaces the entry, which is the invalidation: the control plane never reads an older value than the
last flush. Redis being down never fails the run: writes are dropped, logged once, and refilled later.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nautilus_trader.model.data import Bar, QuoteTick
from nautilus_trader.model.events import AccountState, PositionClosed, PositionEvent
from nautilus_trader.model.instruments import Instrument

from macrofund.cache.config import CacheConfig
from macrofund.cache.keys import CacheKeys
from macrofund.cache.link import RedisLink
from macrofund.cache.records import AccountSnapshot, ReferencePrice, encode_instrument
from macrofund.cache.writer import CacheWriter, Entry

if TYPE_CHECKING:
    from macrofund.engine.components import KernelHandle, RunComponent


def _ms(config_value: Any) -> int:
    return max(int(config_value.total_seconds() * 1000), 1)


def _position_row(event: PositionEvent) -> dict[str, Any]:
    return {
        "position_id": event.position_id.value,
        "instrument_id": event.instrument_id.value,
        "strategy_id": event.strategy_id.value,
        "side": event.side.name if hasattr(event.side, "name") else str(event.side),
        "quantity": str(event.quantity),
        "avg_px_open": repr(event.avg_px_open),  # a double in Nautilus 1.221
        "realized_pnl": str(event.realized_pnl) if event.realized_pnl is not None else None,
        "unrealized_pnl": str(event.unrealized_pnl) if event.unrealized_pnl is not None else None,
        "ts_ns": event.ts_event,
    }


class CacheComponent:
    """Bus subscriber + throttled writer; a ``RunComponent``."""

    name = "cache"

    def __init__(self, handle: KernelHandle, config: CacheConfig, link: RedisLink) -> None:
        self._config = config
        self._cache = handle.kernel.cache
        self._link = link
        self._keys = CacheKeys(f"{config.key_prefix}{handle.config.run.trader_id}:")
        self._writer = CacheWriter(link)
        self._interval = config.flush_interval.total_seconds()
        self._next_flush = 0.0
        self._price_ttl = _ms(config.price_ttl)
        self._account_ttl = _ms(config.position_ttl)
        self._instrument_ttl = _ms(config.instrument_ttl)
        self._prices: dict[str, Bar | QuoteTick] = {}
        self._accounts: dict[str, AccountState] = {}
        self._positions: dict[str, dict[str, dict[str, Any]]] = {}
        self._dirty_accounts: set[str] = set()
        self._instruments: dict[str, Instrument] = {}
        self._written_instruments: set[str] = set()
        self.events = 0
        msgbus = handle.kernel.msgbus
        msgbus.subscribe("events.position.*", self._on_position)
        msgbus.subscribe("events.account.*", self._on_account)
        msgbus.subscribe("data.quotes.*", self._on_quote)
        msgbus.subscribe("data.bars.*", self._on_bar)
        msgbus.subscribe("data.instrument.*", self._on_instrument)

    # -- bus handlers: O(1), no I/O ------------------------------------------------------------------

    def _on_bar(self, bar: Bar) -> None:
        self._prices[bar.bar_type.instrument_id.value] = bar
        self._tick()

    def _on_quote(self, quote: QuoteTick) -> None:
        self._prices[quote.instrument_id.value] = quote
        self._tick()

    def _on_position(self, event: PositionEvent) -> None:
        account = event.account_id.value
        positions = self._positions.setdefault(account, {})
        if isinstance(event, PositionClosed):
            positions.pop(event.position_id.value, None)
        else:
            positions[event.position_id.value] = _position_row(event)
        self._dirty_accounts.add(account)
        self._tick()

    def _on_account(self, state: AccountState) -> None:
        self._accounts[state.account_id.value] = state
        self._dirty_accounts.add(state.account_id.value)
        self._tick()

    def _on_instrument(self, instrument: Instrument) -> None:
        self._instruments[instrument.id.value] = instrument
        self._written_instruments.discard(instrument.id.value)
        self._tick()

    def _tick(self) -> None:
        self.events += 1
        now = time.monotonic()
        if now >= self._next_flush:
            self._next_flush = now + self._interval
            self.flush()

    # -- flushing --------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Encode what changed since the last flush and hand it to the writer (no I/O here)."""
        batch: dict[str, Entry] = {}
        for instrument in self._cache.instruments():
            self._instruments.setdefault(instrument.id.value, instrument)
        for iid, instrument in self._instruments.items():
            if iid not in self._written_instruments:
                batch[self._keys.instrument(iid)] = (encode_instrument(instrument), self._instrument_ttl)
                self._written_instruments.add(iid)
        for iid, data in self._prices.items():
            batch[self._keys.price(iid)] = (_reference_price(iid, data).encode(), self._price_ttl)
        self._prices = {}
        for account in self._dirty_accounts:
            batch[self._keys.account(account)] = (self._account_snapshot(account).encode(), self._account_ttl)
        self._dirty_accounts = set()
        self._writer.offer(batch)

    def _account_snapshot(self, account_id: str) -> AccountSnapshot:
        state = self._accounts.get(account_id)
        balances = (
            [
                {
                    "currency": b.currency.code,
                    "total": str(b.total),
                    "locked": str(b.locked),
                    "free": str(b.free),
                }
                for b in state.balances
            ]
            if state is not None
            else []
        )
        positions = list(self._positions.get(account_id, {}).values())
        ts = max([state.ts_event if state else 0] + [p["ts_ns"] for p in positions])
        return AccountSnapshot(account_id, balances, positions, ts)

    # -- RunComponent ----------------------------------------------------------------------------------

    def on_run_end(self, ts_ns: int) -> None:
        self.flush()
        self._writer.flush()

    def write_outputs(self, out_dir: Path) -> dict[str, Path]:
        return {}

    def summary(self) -> dict[str, Any] | None:
        return {
            "redis": self._link.url,
            "available": self._link.available,
            "events_seen": self.events,
            "keys_written": self._writer.keys_written,
            "write_batches": self._writer.batches,
            "failed_batches": self._writer.failed_batches,
        }

    def close(self) -> None:
        self._writer.close()
        self._link.close()


def _reference_price(instrument_id: str, data: Bar | QuoteTick) -> ReferencePrice:
    if isinstance(data, Bar):
        return ReferencePrice(instrument_id, data.close.as_decimal(), data.ts_event, "bar_close")
    mid = (data.bid_price.as_decimal() + data.ask_price.as_decimal()) / Decimal(2)
    return ReferencePrice(instrument_id, mid, data.ts_event, "quote_mid")


def install(handle: KernelHandle) -> RunComponent | None:
    """A ``CacheComponent`` when ``[cache] redis_url`` is set, else nothing."""
    config: CacheConfig | None = getattr(handle.config, "cache", None)
    if config is None or config.redis_url is None:
        return None
    link = RedisLink(
        config.redis_url,
        socket_timeout=config.socket_timeout.total_seconds(),
        retry_interval=config.retry_interval.total_seconds(),
    )
    return CacheComponent(handle, config, link)
