"""What execution algorithms publish on the message bus, for reports and audit to consume.

Exact topics (not wildcards): in NautilusTrader 1.221 a wildcard subscription made after a topic was
first published is never delivered, and exact topics avoid the question entirely. The payloads are plain
frozen dataclasses; Nautilus never serializes them to external streams (they are not its own types).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PARENT_STARTED_TOPIC = "macrofund.execution.parent.started"
PARENT_FINISHED_TOPIC = "macrofund.execution.parent.finished"


@dataclass(frozen=True)
class ParentStarted:
    """An algorithm accepted a parent order and planned its slices.

    ``arrival_price`` is the benchmark of the implementation shortfall: the mid (from quotes) or else the
    last price (trades, then bars) in the cache when the parent reached the algorithm, ``arrival_price_type``
    says which. ``expected_cost`` is the model's E of the planned whole-lot schedule in ``currency``.
    """

    exec_algorithm_id: str
    parent_order_id: str
    strategy_id: str
    instrument_id: str
    side: str
    quantity: Decimal
    arrival_price: Decimal
    arrival_price_type: str
    multiplier: Decimal
    currency: str
    horizon_ns: int
    planned_slices: int
    slices: int
    risk_aversion: float
    expected_cost: Decimal
    ts_arrival: int


@dataclass(frozen=True)
class ParentFinished:
    """An algorithm stopped working a parent: every slice sent, or the rest dropped and why.

    ``status``: ``COMPLETED`` (all slices sent), ``CANCELED`` (the parent was canceled, e.g. by the
    strategy or the kill switch), ``ABORTED`` (a slice was denied or rejected), ``STOPPED`` (the strategy
    or the algorithm stopped).
    """

    parent_order_id: str
    status: str
    reason: str | None
    slices_sent: int
    ts: int
