"""The node-builder factory of the B3 execution client (`node.add_exec_client_factory("B3", ...)`)."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.live.factories import LiveExecClientFactory

from macrofund.adapters.b3.config import B3ExecClientConfig
from macrofund.adapters.b3.execution import B3ExecutionClient

__all__ = ["B3LiveExecClientFactory"]


class B3LiveExecClientFactory(LiveExecClientFactory):
    """Builds a ``B3ExecutionClient``; a bad config fails here with one line naming the key."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: B3ExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> B3ExecutionClient:
        """The client for the node's exec client ``name`` (also its ``ClientId``)."""
        return B3ExecutionClient(loop, msgbus, cache, clock, config, name)
