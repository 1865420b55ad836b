"""Nautilus factory for ``SimFeedDataClient``, added with ``node.add_data_client_factory``."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.identifiers import ClientId

from macrofund.adapters.sim_feed.config import SimFeedDataClientConfig
from macrofund.adapters.sim_feed.data import SimFeedDataClient
from macrofund.adapters.sim_feed.providers import ContractInstrumentProvider


class SimFeedDataClientFactory(LiveDataClientFactory):
    """Builds the simulator client of a ``TradingNode`` from its ``SimFeedDataClientConfig``."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: SimFeedDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> SimFeedDataClient:
        """A new client named ``name``."""
        return SimFeedDataClient(
            loop=loop,
            client_id=ClientId(name),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=ContractInstrumentProvider(config.instrument_provider),
            config=config,
        )
