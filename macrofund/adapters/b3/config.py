"""Config of the B3 EntryPoint execution client: the shared FIX client config with B3 defaults."""

from __future__ import annotations

from macrofund.adapters.b3.profile import B3EntryPointProfile
from macrofund.adapters.fix.execution import FixExecClientConfig, validated

__all__ = ["B3ExecClientConfig"]


class B3ExecClientConfig(FixExecClientConfig, frozen=True, kw_only=True):
    """``profile`` holds ``B3EntryPointProfile`` keys (entering firm/trader, account, memo, STP, ...).

    The default balance is a placeholder for the margin account until the clearing member's statement
    feeds real figures (see ``docs/live-execution.md``).
    """

    venue: str = "B3"
    starting_balances: tuple[str, ...] = ("10000000 BRL",)

    def venue_profile(self) -> B3EntryPointProfile:
        """The validated profile; ``ConfigError`` naming the key otherwise."""
        return validated(B3EntryPointProfile, self.profile or {}, f"exec_clients.{self.venue}.profile")
