"""Nautilus factory for ``KafkaDataClient``, added with ``node.add_data_client_factory``."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.identifiers import ClientId

from macrofund.adapters.kafka.config import KafkaDataClientConfig
from macrofund.adapters.kafka.data import KafkaDataClient
from macrofund.adapters.kafka.providers import ContractInstrumentProvider


class KafkaDataClientFactory(LiveDataClientFactory):
    """Builds the Kafka client of a ``TradingNode`` from its ``KafkaDataClientConfig``."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: KafkaDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> KafkaDataClient:
        """A new client named ``name``."""
        return KafkaDataClient(
            loop=loop,
            client_id=ClientId(name),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=ContractInstrumentProvider(config.instrument_provider),
            config=config,
        )
