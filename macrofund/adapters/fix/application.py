"""What a FIX session tells the application, and the small utilities an application needs.

``FixApplication`` is a base class of callbacks (override what you use). Callbacks run on the event
loop, must not block, and may call ``session.send``. An exception raised by a callback is logged and
swallowed: a bug in an adapter must never take the session down (contrast QuickFIX's Python binding,
where it aborts the process). ``FixEventQueue`` turns the callbacks into an ``asyncio.Queue`` of
``FixEvent`` for consumers that prefer ``await queue.get()`` (the order ticket, tests).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from macrofund.adapters.fix.message import FixMessage

if TYPE_CHECKING:
    from macrofund.adapters.fix.session import FixSession


@dataclass(frozen=True)
class FixReject:
    """A session-level Reject (35=3) or a BusinessMessageReject (35=j) the counterparty sent."""

    kind: Literal["session", "business"]
    ref_seq_num: int | None  # 45
    ref_msg_type: str | None  # 372
    ref_tag: int | None  # 371 (session rejects)
    reason: int | None  # 373 SessionRejectReason or 380 BusinessRejectReason
    ref_id: str | None  # 379 BusinessRejectRefID (e.g. the ClOrdID)
    text: str | None  # 58
    message: FixMessage

    @staticmethod
    def from_message(message: FixMessage) -> FixReject:
        """Read the reject fields of a 35=3 or 35=j message."""
        business = message.msg_type == "j"
        return FixReject(
            kind="business" if business else "session",
            ref_seq_num=_opt_int(message.get(45)),
            ref_msg_type=message.get(372),
            ref_tag=_opt_int(message.get(371)),
            reason=_opt_int(message.get(380 if business else 373)),
            ref_id=message.get(379),
            text=message.get(58),
            message=message,
        )


def _opt_int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class FixApplication:
    """Callbacks of a FIX session; every method is optional."""

    def logon_fields(self, session: FixSession) -> list[tuple[int, str]]:
        """Venue-specific fields added to our Logon (e.g. CME 1603/1604/1605)."""
        return []

    def on_logon(self, session: FixSession) -> None:
        """The session is logged on (after every logon, including after a reconnect)."""

    def on_logout(self, session: FixSession, text: str) -> None:
        """The counterparty logged out or refused our Logon; ``text`` is its 58 (may be empty)."""

    def on_message(self, session: FixSession, message: FixMessage) -> None:
        """An application message, delivered once and in sequence order (gaps are filled first)."""

    def on_reject(self, session: FixSession, reject: FixReject) -> None:
        """A Reject (35=3) or BusinessMessageReject (35=j) from the counterparty."""

    def on_disconnect(self, session: FixSession, reason: str) -> None:
        """The connection is gone (the initiator reconnects by itself)."""

    def on_reconnect(self, session: FixSession, attempt: int, delay_secs: float) -> None:
        """The initiator will try to connect again in ``delay_secs`` (``attempt`` counts from 1)."""

    def on_resend(self, session: FixSession, message: FixMessage) -> bool:
        """Whether to resend a stored application message (False: gap-fill over it, e.g. stale orders)."""
        return True


EventKind = Literal["logon", "logout", "message", "reject", "disconnect", "reconnect"]


@dataclass(frozen=True)
class FixEvent:
    """One session event as a value (see ``FixEventQueue``)."""

    kind: EventKind
    session: FixSession
    message: FixMessage | None = None
    reject: FixReject | None = None
    text: str = ""
    attempt: int = 0
    delay_secs: float = 0.0


class FixEventQueue(FixApplication):
    """A ``FixApplication`` that puts every event into ``queue`` (unbounded: never drops a message)."""

    def __init__(self, extra_logon_fields: list[tuple[int, str]] | None = None) -> None:
        self.queue: asyncio.Queue[FixEvent] = asyncio.Queue()
        self._logon_fields = extra_logon_fields or []

    def logon_fields(self, session: FixSession) -> list[tuple[int, str]]:
        return list(self._logon_fields)

    def on_logon(self, session: FixSession) -> None:
        self.queue.put_nowait(FixEvent("logon", session))

    def on_logout(self, session: FixSession, text: str) -> None:
        self.queue.put_nowait(FixEvent("logout", session, text=text))

    def on_message(self, session: FixSession, message: FixMessage) -> None:
        self.queue.put_nowait(FixEvent("message", session, message=message))

    def on_reject(self, session: FixSession, reject: FixReject) -> None:
        self.queue.put_nowait(FixEvent("reject", session, message=reject.message, reject=reject))

    def on_disconnect(self, session: FixSession, reason: str) -> None:
        self.queue.put_nowait(FixEvent("disconnect", session, text=reason))

    def on_reconnect(self, session: FixSession, attempt: int, delay_secs: float) -> None:
        self.queue.put_nowait(FixEvent("reconnect", session, attempt=attempt, delay_secs=delay_secs))


class ExecIdDeduplicator:
    """Recognises ExecutionReports (35=8) whose ExecID (17) was already seen.

    Pass it as ``FixSession(duplicate_filter=...)``, or call it from ``on_message``. A resend after a
    reconnect (PossDupFlag=Y with a new sequence number) or a venue that repeats a report must not book a
    fill twice. Order-status answers (150=I) are never suppressed. Memory is bounded (oldest forgotten);
    ``seed`` loads ExecIDs already booked (e.g. trade ids from the database) after a restart.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def seed(self, exec_ids: list[str]) -> None:
        """Remember ``exec_ids`` as already processed."""
        for exec_id in exec_ids:
            self._remember(exec_id)

    def __call__(self, message: FixMessage) -> bool:
        """True when ``message`` is a duplicate ExecutionReport (and should be dropped)."""
        if message.msg_type != "8" or message.get(150) == "I":
            return False
        exec_id = message.get(17)
        if not exec_id:
            return False
        if exec_id in self._seen:
            return True
        self._remember(exec_id)
        return False

    def _remember(self, exec_id: str) -> None:
        self._seen[exec_id] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
