"""The node-builder factory of the paper venue."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.portfolio.base import PortfolioFacade

from macrofund.adapters.sandbox.config import MacroSandboxConfig
from macrofund.adapters.sandbox.execution import MacroSandboxExecutionClient


class MacroSandboxExecClientFactory(LiveExecClientFactory):
    """Creates ``MacroSandboxExecutionClient``s for a ``TradingNode``.

    Nautilus 1.221's ``TradingNodeBuilder`` passes ``portfolio=`` to an exec-client factory only when
    ``factory.__name__ == "SandboxLiveExecClientFactory"`` (still so in 1.231), and the simulated
    exchange needs the portfolio. The class therefore carries that ``__name__`` (see below); its
    Python-visible name is what the builder compares, nothing else depends on it.
    """

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: MacroSandboxConfig,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> MacroSandboxExecutionClient:
        """Build the client for venue ``config.venue`` (``name`` is the node's client name)."""
        return MacroSandboxExecutionClient(
            loop=loop, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=config
        )


# The node builder's portfolio check (see the class docstring).
MacroSandboxExecClientFactory.__name__ = "SandboxLiveExecClientFactory"
