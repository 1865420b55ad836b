"""Config of the CME (FCM/ISV FIX 4.4 gateway) execution client: the shared config with CME defaults."""

from __future__ import annotations

from macrofund.adapters.cme.profile import CmeGatewayProfile
from macrofund.adapters.fix.execution import FixExecClientConfig, validated

__all__ = ["CmeExecClientConfig"]


class CmeExecClientConfig(FixExecClientConfig, frozen=True, kw_only=True):
    """``profile`` holds ``CmeGatewayProfile`` keys (``operator_id`` and ``location`` are required).

    The default balance is a placeholder until the FCM's statement feeds real figures.
    """

    venue: str = "CME"
    starting_balances: tuple[str, ...] = ("1000000 USD",)

    def venue_profile(self) -> CmeGatewayProfile:
        """The validated profile; ``ConfigError`` naming the key otherwise."""
        return validated(CmeGatewayProfile, self.profile or {}, f"exec_clients.{self.venue}.profile")
