"""Redis key names, in one place: ``<prefix><trader_id>:<kind>:<id>``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CacheKeys:
    """Key builder for one trader's namespace."""

    namespace: str  # e.g. "macrofund:MACROFUND-001:"

    def instrument(self, instrument_id: str) -> str:
        return f"{self.namespace}instrument:{instrument_id}"

    def price(self, instrument_id: str) -> str:
        return f"{self.namespace}price:{instrument_id}"

    def account(self, account_id: str) -> str:
        return f"{self.namespace}account:{account_id}"
