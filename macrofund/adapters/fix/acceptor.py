"""The acceptor: listens, binds each incoming Logon to a configured session, serves it.

A connection whose first message is not a valid Logon for a configured SenderCompID/TargetCompID pair
is closed (unknown pairs get a Logout with the reason, outside any session's sequence). Credentials and
the schedule are checked by the session itself: a bad password gets a Logout with text and no session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from macrofund.adapters.fix.application import FixApplication
from macrofund.adapters.fix.codec import FixStreamParser, ParsedFrame, SkippedBytes, encode
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.errors import FixConfigError
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.session import DuplicateFilter, FixSession

logger = logging.getLogger("macrofund.fix")


class FixAcceptor:
    """Serves the configured sessions on ``host:port`` (``port=0`` picks a free one: see ``port``)."""

    def __init__(
        self,
        sessions: Iterable[FixSessionConfig],
        application: FixApplication,
        host: str = "127.0.0.1",
        port: int = 0,
        duplicate_filter: DuplicateFilter | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self.sessions: dict[tuple[str, str], FixSession] = {}
        for config in sessions:
            key = (config.sender_comp_id, config.target_comp_id)
            if key in self.sessions:
                raise FixConfigError(f"FIX acceptor: session {config.name} is configured twice")
            self.sessions[key] = FixSession(
                config, application, "acceptor", duplicate_filter=duplicate_filter
            )
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port listened on (the real one when constructed with 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    def session(self, sender_comp_id: str, target_comp_id: str) -> FixSession:
        """Our session with ``target_comp_id`` (``KeyError`` when not configured)."""
        return self.sessions[(sender_comp_id, target_comp_id)]

    async def start(self) -> None:
        """Open every session's store and start listening."""
        opened: list[FixSession] = []
        try:
            for session in self.sessions.values():
                await session.open()
                opened.append(session)
        except BaseException:
            for session in opened:  # give back what was taken (a store in use fails the whole start)
                await session.close()
            raise
        self._server = await asyncio.start_server(self._accept, self._host, self._port)
        logger.info(
            "fix_acceptor_listening address=%s:%d sessions=%d", self._host, self.port, len(self.sessions)
        )

    async def stop(self) -> None:
        """Log out every logged-on session, stop listening, close stores."""
        for session in self.sessions.values():
            if session.is_logged_on:
                await session.logout("acceptor shutting down")
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for session in self.sessions.values():
            await session.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = FixStreamParser()
        read: list[ParsedFrame | SkippedBytes] = []
        first: ParsedFrame | None = None
        timeout = max((s.config.logon_timeout_secs for s in self.sessions.values()), default=10.0)
        peer = writer.get_extra_info("peername")
        while first is None:
            try:
                data = await asyncio.wait_for(reader.read(65536), timeout)
            except (TimeoutError, ConnectionError, OSError):
                return
            if not data:
                return
            read.extend(parser.feed(data))
            first = next((item for item in read if isinstance(item, ParsedFrame)), None)
        logon = first.message
        their_sender, their_target = logon.get(49) or "", logon.get(56) or ""
        session = self.sessions.get((their_target, their_sender))
        if logon.msg_type != "A" or session is None:
            reason = "first message is not Logon" if logon.msg_type != "A" else "unknown session"
            logger.warning("fix_connection_refused peer=%s sender=%s reason=%s", peer, their_sender, reason)
            if logon.msg_type == "A":
                writer.write(
                    encode(FixMessage("5").append(58, reason), their_target, their_sender, 1, _now())
                )
            return
        if session.is_connected:
            logger.warning("fix_connection_refused session=%s reason=already connected", session.name)
            return
        await session.run_connection(reader, writer, parser, read)


def _now() -> str:
    import time

    return time.strftime("%Y%m%d-%H:%M:%S.000", time.gmtime())
