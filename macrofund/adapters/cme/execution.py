"""The CME execution client: the shared FIX client with an FCM/ISV gateway profile."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus

from macrofund.adapters.cme.config import CmeExecClientConfig
from macrofund.adapters.cme.profile import CmeGatewayProfile
from macrofund.adapters.cme.providers import CmeInstrumentProvider
from macrofund.adapters.fix.execution import FixExecutionClient

__all__ = ["CmeExecutionClient"]


class CmeExecutionClient(FixExecutionClient):
    """Orders to CME Globex through a FIX 4.4 gateway; the Logon carries 1603/1604/1605."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: CmeExecClientConfig,
        name: str | None = None,
    ) -> None:
        self._cme_profile: CmeGatewayProfile = config.venue_profile()
        provider = CmeInstrumentProvider(config.instrument_ids, config.instrument_provider)
        super().__init__(loop, msgbus, cache, clock, config, self._cme_profile, name, provider)

    def logon_fields(self) -> tuple[tuple[int, str], ...]:
        return self._cme_profile.logon_fields()
