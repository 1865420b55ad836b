"""Pull (or lift) the kill switch from code: a strategy, an actor, a script holding the kernel.

The kill switch listens on a message-bus endpoint, so any component with the bus can reach it in every
mode without importing the run's objects::

    from macrofund.risk.api import request_kill
    request_kill(self.msgbus, scope="instrument:ESZ6.CME", reason="feed gap", flatten=True)

The request runs synchronously on the caller's thread (the kernel's), exactly like the operator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

KILL_SWITCH_ENDPOINT = "MacrofundKillSwitch.execute"


@dataclass(frozen=True)
class KillSwitchRequest:
    """A programmatic kill or re-enable."""

    action: Literal["kill", "reenable"]
    scope: str = "all"
    reason: str = ""
    flatten: bool | None = None  # None: the run config's [risk.kill_switch] flatten


def request_kill(msgbus: Any, scope: str = "all", reason: str = "", flatten: bool | None = None) -> None:
    """Kill trading in ``scope`` (trigger ``program``); a no-op if it is already killed."""
    msgbus.send(KILL_SWITCH_ENDPOINT, KillSwitchRequest("kill", scope, reason, flatten))


def request_reenable(msgbus: Any, scope: str = "all", reason: str = "") -> None:
    """Lift the kill on ``scope`` (trigger ``program``)."""
    msgbus.send(KILL_SWITCH_ENDPOINT, KillSwitchRequest("reenable", scope, reason))
