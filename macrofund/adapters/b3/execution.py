"""The B3 EntryPoint execution client: the shared FIX client with the B3 profile (DI1 in rates)."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus

from macrofund.adapters.b3.config import B3ExecClientConfig
from macrofund.adapters.b3.providers import B3InstrumentProvider
from macrofund.adapters.fix.execution import FixExecutionClient

__all__ = ["B3ExecutionClient"]


class B3ExecutionClient(FixExecutionClient):
    """Orders to B3 over EntryPoint FIX 4.4; Logon fields come from the session config only."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: B3ExecClientConfig,
        name: str | None = None,
    ) -> None:
        provider = B3InstrumentProvider(config.instrument_ids, config.instrument_provider)
        super().__init__(loop, msgbus, cache, clock, config, config.venue_profile(), name, provider)
