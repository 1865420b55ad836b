"""The node-builder factory of the CME execution client (`node.add_exec_client_factory("CME", ...)`)."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.live.factories import LiveExecClientFactory

from macrofund.adapters.cme.config import CmeExecClientConfig
from macrofund.adapters.cme.execution import CmeExecutionClient

__all__ = ["CmeLiveExecClientFactory"]


class CmeLiveExecClientFactory(LiveExecClientFactory):
    """Builds a ``CmeExecutionClient``; a bad config fails here with one line naming the key."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: CmeExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> CmeExecutionClient:
        """The client for the node's exec client ``name`` (also its ``ClientId``)."""
        return CmeExecutionClient(loop, msgbus, cache, clock, config, name)
