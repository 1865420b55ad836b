"""What came over the wire, for tools that must show it: inbound reports and session events on the bus.

Certification scripts check wire identifiers (ClOrdID, OrigClOrdID, ExecID...) that Nautilus order
events do not carry. ``FixExecutionClient`` therefore publishes, *only when someone subscribed* to the
topic, a ``WireReport`` for each ExecutionReport (35=8) and OrderCancelReject (35=9) about one of our
orders, just before it generates the Nautilus event, and a ``SessionEvent`` for logon, logout,
disconnect, reconnect and rejects (35=3/35=j). ``WireCorrelator`` pairs a Nautilus order event with the
wire message that caused it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from macrofund.adapters.fix.message import FixMessage

__all__ = [
    "WIRE_TAGS",
    "SessionEvent",
    "WireCorrelator",
    "WireReport",
    "report_topic",
    "session_topic",
    "wire_report",
]

# The fields a certification script reads, by FIX name, in the order they are printed.
WIRE_TAGS: dict[str, int] = {
    "ClOrdID": 11,
    "OrigClOrdID": 41,
    "OrderID": 37,
    "ExecID": 17,
    "ExecType": 150,
    "OrdStatus": 39,
    "LastQty": 32,
    "LastPx": 31,
    "CumQty": 14,
    "LeavesQty": 151,
    "AvgPx": 6,
    "Text": 58,
}

# ExecType (150) -> the Nautilus event the client generates from it (none for pending/status kinds).
_EVENT_OF_EXEC_TYPE = {
    "0": "OrderAccepted",
    "1": "OrderFilled",
    "2": "OrderFilled",
    "F": "OrderFilled",
    "4": "OrderCanceled",
    "5": "OrderUpdated",
    "8": "OrderRejected",
    "C": "OrderExpired",
    "L": "OrderTriggered",
}
# OrderCancelReject's CxlRejResponseTo (434) -> the Nautilus event.
_EVENT_OF_RESPONSE_TO = {"1": "OrderCancelRejected", "2": "OrderModifyRejected"}


def report_topic(client_id: str) -> str:
    """The bus topic of ``WireReport``s of the execution client ``client_id`` (e.g. ``B3``)."""
    return f"fix.report.{client_id}"


def session_topic(client_id: str) -> str:
    """The bus topic of ``SessionEvent``s of the execution client ``client_id``."""
    return f"fix.session.{client_id}"


@dataclass(frozen=True)
class WireReport:
    """One inbound 35=8/35=9 about our order ``client_order_id``, its fields as strings on the wire."""

    client_order_id: str
    msg_type: str
    fields: dict[str, str]
    event_type: str | None  # the Nautilus event it maps to; None for status answers and pending kinds
    ts_init: int

    @property
    def is_status_answer(self) -> bool:
        """An answer to an OrderStatusRequest (150=I): no Nautilus event, shown on its own."""
        return self.msg_type == "8" and self.fields.get("ExecType") == "I"


@dataclass(frozen=True)
class SessionEvent:
    """A FIX session event: ``logon``, ``reconnect``, ``logout``, ``disconnect`` or ``reject``."""

    kind: str
    session: str
    reason: str
    ts_init: int
    detail: dict[str, Any]


def wire_report(message: FixMessage, client_order_id: str, ts_init: int) -> WireReport:
    """The ``WireReport`` of a 35=8 or 35=9 ``message`` about our order ``client_order_id``."""
    fields = {name: value for name, tag in WIRE_TAGS.items() if (value := message.get(tag)) is not None}
    if message.msg_type == "9":
        event = _EVENT_OF_RESPONSE_TO.get(message.get(434) or "")
    else:
        event = _EVENT_OF_EXEC_TYPE.get(fields.get("ExecType", ""))
    return WireReport(client_order_id, message.msg_type, fields, event, ts_init)


class WireCorrelator:
    """Pairs Nautilus order events with the wire reports that caused them, per order, in arrival order.

    The client publishes a report before generating its event, and the execution engine applies events
    in order, so when an event arrives its report is already queued. A report that produced no event (a
    duplicate, a pending state) is dropped once a later report of the same order is matched. Fills match
    by ExecID = TradeId exactly.
    """

    def __init__(self, max_per_order: int = 64) -> None:
        self._queues: dict[str, deque[WireReport]] = defaultdict(lambda: deque(maxlen=max_per_order))

    def add(self, report: WireReport) -> None:
        """Queue a report until its event arrives."""
        if report.event_type is not None:
            self._queues[report.client_order_id].append(report)

    def match(self, event_type: str, client_order_id: str, trade_id: str | None = None) -> WireReport | None:
        """The report behind this event (removed with the older unmatched ones), or ``None``."""
        queue = self._queues.get(client_order_id)
        if not queue:
            return None
        for index, report in enumerate(queue):
            if report.event_type != event_type:
                continue
            if trade_id is not None and report.fields.get("ExecID") != trade_id:
                continue
            for _ in range(index + 1):
                queue.popleft()
            return report
        return None
