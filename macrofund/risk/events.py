"""Risk decisions and kill-switch steps, published on the message bus for the audit trail.

The risk gate and the kill switch publish; the audit component subscribes to these exact topics when it
is installed (exact topics: 1.221 drops late wildcard subscriptions). Payloads are plain frozen
dataclasses with ``to_dict()`` so any subscriber can record them without importing Nautilus types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

TOPIC_RISK_DECISION = "macrofund.risk.decision"
TOPIC_KILL_SWITCH = "macrofund.risk.kill_switch"


@dataclass(frozen=True)
class RiskDecision:
    """One pre-trade decision on a submit or modify command (allowed or denied)."""

    ts_event: int
    trader_id: str
    strategy_id: str
    instrument_id: str
    client_order_id: str
    command: str  # "SubmitOrder" | "SubmitOrderList" | "ModifyOrder"
    side: str | None
    quantity: str | None
    price: str | None
    order_type: str | None
    allowed: bool
    reason_code: str | None  # e.g. "MAX_ORDER_QTY"; None when allowed
    reason: str | None  # the human sentence the strategy receives in OrderDenied.reason

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KillSwitchStep:
    """One step of a kill-switch action or re-enable, in order."""

    ts_event: int
    action_id: str  # one id per kill (or re-enable) action; all its steps share it
    step: str  # "triggered" | "trading_state" | "cancel" | "flatten" | "halted" | "reenabled" | "noop"
    scope: str  # "all" | "account:<id>" | "strategy:<id>" | "instrument:<id>"
    trigger: str  # "operator" | "loss_limit" | "program" | "drill"
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
