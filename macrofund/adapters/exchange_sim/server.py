"""The local venue on the network: a ``FixAcceptor`` whose application is the matching engine.

``ExchangeSimServer`` owns the acceptor (sessions, file store of sequence numbers, raw log), the
``ExchangeSimVenue`` (orders, state file) and the reference stream task. Requests are handled on the
event loop as they arrive; reports for a session that is not logged on are stored by the session
layer and delivered by resend after the client's next logon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from macrofund.adapters.exchange_sim.config import ExchangeSimConfig
from macrofund.adapters.exchange_sim.messages import (
    business_reject,
    parse_cancel,
    parse_mass_cancel,
    parse_new_order,
    parse_replace,
    parse_status,
)
from macrofund.adapters.exchange_sim.reference import GbmReference, ReferenceInstrument
from macrofund.adapters.exchange_sim.state import VenueStateFile
from macrofund.adapters.exchange_sim.venue import ExchangeSimVenue, Outbound
from macrofund.adapters.fix.acceptor import FixAcceptor
from macrofund.adapters.fix.application import FixApplication
from macrofund.adapters.fix.message import FixFieldError, FixMessage
from macrofund.adapters.fix.session import FixSession

__all__ = ["ExchangeSimServer", "ServerStats"]

logger = logging.getLogger("macrofund.exchange_sim")

_UNSUPPORTED_MESSAGE_TYPE = 3  # BusinessRejectReason (380)
_CONDITIONALLY_REQUIRED_FIELD_MISSING = 5
_OTHER = 0
_REFERENCE_INTERVAL_SECS = 0.05
_REFERENCE_SAVE_NS = 1_000_000_000  # journal the reference mids once a second


@dataclass(frozen=True)
class ServerStats:
    """What the status line shows."""

    sessions_logged_on: int
    sessions: int
    orders: int
    working: int
    fills: int


class ExchangeSimServer(FixApplication):
    """A FIX 4.4 venue on ``host:port`` (``port=0``: a free one, see ``port`` after ``start``)."""

    def __init__(
        self,
        config: ExchangeSimConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self._clock = clock
        state_path = config.state_dir / f"orders-{config.comp_id}.jsonl"
        self.venue = ExchangeSimVenue(config, VenueStateFile(state_path), clock)
        self._acceptor = FixAcceptor(config.session_configs(), self, host=host, port=port)
        self._reference_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self._acceptor.port

    async def start(self) -> None:
        """Open the session stores, listen, and start the timer: reference quotes (``gbm``), expiries."""
        await self._acceptor.start()
        self._reference_task = asyncio.create_task(self._run_reference(), name="exchange-sim-reference")

    async def stop(self) -> None:
        """Stop the price stream, log every client out, close stores, save the order book."""
        if self._reference_task is not None:
            self._reference_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reference_task
            self._reference_task = None
        await self._acceptor.stop()
        self.venue.close()

    def stats(self) -> ServerStats:
        sessions = list(self._acceptor.sessions.values())
        return ServerStats(
            sessions_logged_on=sum(1 for s in sessions if s.is_logged_on),
            sessions=len(sessions),
            orders=len(self.venue.orders),
            working=len(self.venue.working_orders),
            fills=self.venue.fills,
        )

    def set_reference(self, instrument_id: str, bid: Decimal, ask: Decimal) -> None:
        """Move the reference bid/ask of ``instrument_id`` now (tests, demos): resting orders react."""
        self._send(self.venue.on_quote(instrument_id, bid, ask))

    async def _run_reference(self) -> None:
        now = self._clock()
        instruments = [
            ReferenceInstrument(
                item.instrument_id,
                self.venue.instruments[item.instrument_id].tick(now),
                (
                    self.venue.instruments[item.instrument_id].bid
                    + self.venue.instruments[item.instrument_id].ask
                )
                / 2,
                item.volatility,
                item.spread_ticks,
            )
            for item in self.config.instruments
        ]
        reference = self.config.reference
        stream = (
            GbmReference(instruments, reference.seed, reference.quotes_per_second, now)
            if reference.source == "gbm"
            else None
        )
        saved_ns = now
        while True:
            await asyncio.sleep(_REFERENCE_INTERVAL_SECS)
            try:
                out: list[Outbound] = []
                now = self._clock()
                for quote in stream.advance(now) if stream is not None else ():
                    out += self.venue.on_quote(quote.instrument_id, quote.bid, quote.ask)
                out += self.venue.expire_due()
                self._send(out)
                if now - saved_ns >= _REFERENCE_SAVE_NS:
                    self.venue.save_reference()
                    saved_ns = now
            except Exception:  # a bug in matching must not stop the price stream silently
                logger.exception("exchange_sim_reference_failed")

    # ------------------------------------------------------------------ FixApplication

    def on_logon(self, session: FixSession) -> None:
        logger.info("exchange_sim_logon session=%s", session.name)

    def on_message(self, session: FixSession, message: FixMessage) -> None:
        client = session.target_comp_id
        handlers = {
            "D": lambda: self.venue.new_order(client, parse_new_order(message)),
            "F": lambda: self.venue.cancel(client, parse_cancel(message)),
            "G": lambda: self.venue.replace(client, parse_replace(message)),
            "H": lambda: self.venue.status(client, parse_status(message)),
            "q": lambda: self.venue.mass_cancel(client, parse_mass_cancel(message)),
        }
        handler = handlers.get(message.msg_type)
        if handler is None:
            text = f"35={message.msg_type} is not supported by this venue (D, F, G, H, q)"
            session.send(business_reject(message, _UNSUPPORTED_MESSAGE_TYPE, text))
            return
        try:
            out = handler()
        except FixFieldError as exc:
            reason = _CONDITIONALLY_REQUIRED_FIELD_MISSING if "missing" in str(exc) else _OTHER
            session.send(business_reject(message, reason, str(exc)))
            return
        self._send(out)

    def _send(self, out: list[Outbound]) -> None:
        for client, message in out:
            self._acceptor.session(self.config.comp_id, client).send(message)
