"""Kill-switch scopes in force, and whether an order falls under one.

The kill switch writes here; the gate reads it on every order. Nautilus's own trading state is global,
so narrower kills (one account, strategy or instrument) are enforced by the gate alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HaltState = Literal["reducing", "halted"]


@dataclass
class ScopeHalt:
    """One kill in force: its scope, whether positions are still being reduced, and who pulled it."""

    scope: str
    state: HaltState
    action_id: str
    trigger: str
    reason: str

    def sentence(self) -> str:
        what = "reducing only" if self.state == "reducing" else "halted"
        because = f": {self.reason}" if self.reason else ""
        by = f"by the kill switch ({self.trigger}, action {self.action_id})"
        return f"trading {what} for scope {self.scope} {by}{because}"


def names_venue(name: str, venue: str) -> bool:
    """Whether an ``account:`` scope names ``venue``: by the venue ("CME") or an account id ("CME-001")."""
    return name == venue or name.split("-", 1)[0] == venue


def scope_matches(scope: str, instrument_id: str, venue: str, strategy_id: str) -> bool:
    """Whether an order on ``instrument_id`` at ``venue`` from ``strategy_id`` falls under ``scope``."""
    if scope == "all":
        return True
    kind, _, value = scope.partition(":")
    if kind == "account":
        return names_venue(value, venue)
    if kind == "strategy":
        return value == strategy_id
    if kind == "instrument":
        return value == instrument_id
    return False


class HaltedScopes:
    """The kills in force, by scope."""

    def __init__(self) -> None:
        self.active: dict[str, ScopeHalt] = {}

    def __bool__(self) -> bool:
        return bool(self.active)

    def match(self, instrument_id: str, venue: str, strategy_id: str) -> ScopeHalt | None:
        """The kill an order falls under (a HALTED one before a REDUCING one), or ``None``."""
        found: ScopeHalt | None = None
        for halt in self.active.values():
            if scope_matches(halt.scope, instrument_id, venue, strategy_id):
                if halt.state == "halted":
                    return halt
                found = halt
        return found

    def covering(self, scope: str) -> ScopeHalt | None:
        """A kill already in force that covers all of ``scope`` (the same scope, or ``all``)."""
        return self.active.get(scope) or self.active.get("all")
