"""The initiator: connects a ``FixSession`` to the venue and keeps it connected (backoff, schedule)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from macrofund.adapters.fix.application import FixApplication
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.session import DuplicateFilter, FixSession
from macrofund.adapters.fix.store import SessionStore

logger = logging.getLogger("macrofund.fix")


class FixInitiator:
    """Our side connects: ``await start()``, ``await session.wait_logged_on()``, ``session.send(...)``.

    After a lost connection (or a refused one) it reconnects after ``reconnect_min_secs``, doubling up
    to ``reconnect_max_secs``; the delay resets once a logon succeeds. It does not reconnect after the
    venue's Logon came with a MsgSeqNum lower than expected (``FixSession.sequence_error``). Outside the
    session schedule it stays disconnected and connects when the next window opens.
    """

    def __init__(
        self,
        config: FixSessionConfig,
        application: FixApplication,
        *,
        store: SessionStore | None = None,
        duplicate_filter: DuplicateFilter | None = None,
    ) -> None:
        self.config = config
        self._app = application
        self.session = FixSession(
            config, application, "initiator", store=store, duplicate_filter=duplicate_filter
        )
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Why the last attempt to connect failed (``None`` once it connected): what a user is told when
        # no logon comes (``FixExecutionClient``'s start-up error).
        self.last_connect_error: str | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The connect-and-reconnect loop; done once stopped, or once it gave up by itself (see
        ``FixSession.sequence_error``)."""
        return self._task

    async def start(self) -> FixSession:
        """Open the store and start connecting in the background; returns the session."""
        await self.session.open()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"fix-{self.session.name}")
        return self.session

    async def stop(self, text: str = "") -> None:
        """Log out (when logged on), stop reconnecting and close the store."""
        self._stopping = True
        if self.session.is_logged_on:
            await self.session.logout(text)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.session.close()

    async def _run(self) -> None:
        attempt = 0
        schedule = self.config.schedule.build() if self.config.schedule else None
        while not self._stopping:
            if schedule is not None:
                now = time.time_ns()
                wait_ns = schedule.next_open_ns(now) - now
                if wait_ns > 0:
                    logger.info(
                        "fix_waiting_for_schedule session=%s secs=%.0f", self.session.name, wait_ns / 1e9
                    )
                    await asyncio.sleep(wait_ns / 1e9)
                    continue
            logged_on = False
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.config.host, self.config.port),
                    self.config.logon_timeout_secs,
                )
            except (OSError, TimeoutError) as exc:
                self.last_connect_error = str(exc) or type(exc).__name__
                logger.info(
                    "fix_connect_failed session=%s address=%s:%d error=%s",
                    self.session.name,
                    self.config.host,
                    self.config.port,
                    exc or type(exc).__name__,
                )
            else:
                self.last_connect_error = None
                logged_on = await self.session.run_connection(reader, writer)
            if self._stopping:
                return
            if self.session.sequence_error is not None:
                self.last_connect_error = self.session.sequence_error
                logger.error(
                    "fix_not_reconnecting session=%s reason=%s",
                    self.session.name,
                    self.session.sequence_error,
                )
                return
            attempt = 1 if logged_on else attempt + 1
            delay = min(self.config.reconnect_max_secs, self.config.reconnect_min_secs * 2 ** (attempt - 1))
            self.session._call("on_reconnect", self.session, attempt, delay)
            await asyncio.sleep(delay)
