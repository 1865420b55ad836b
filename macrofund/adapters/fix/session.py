"""The FIX 4.4 session on asyncio: logon, heartbeats, sequence numbers, resends, gaps, logout.

One ``FixSession`` holds the state of a SenderCompID/TargetCompID pair across connections (its
sequence numbers live in a ``SessionStore``). ``FixInitiator`` connects it (and reconnects with
backoff); ``FixAcceptor`` listens and binds incoming Logons to configured sessions. All I/O is on the
event loop: sockets through asyncio streams, the store as described in ``store.py``, the raw log as one
buffered ``write`` per message.

Inbound rules (FIX 4.4 session layer): a message with the expected MsgSeqNum is processed; a higher one
is queued and a ResendRequest asks for the gap (queued messages are then delivered in order); a lower
one is ignored when PossDupFlag=Y, otherwise the session logs out ("MsgSeqNum too low"). A
ResendRequest is answered at once whatever its own sequence number (so both sides never wait for each
other). Garbled bytes and bad checksums are logged and skipped without consuming a sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from typing import Literal

from macrofund.adapters.fix.application import FixApplication, FixReject
from macrofund.adapters.fix.codec import FixStreamParser, ParsedFrame, SkippedBytes, decode, encode
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.errors import FixCodecError, FixSessionError
from macrofund.adapters.fix.log import RawMessageLog
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.schedule import SessionSchedule
from macrofund.adapters.fix.store import SessionStore

logger = logging.getLogger("macrofund.fix")

ADMIN_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
Role = Literal["initiator", "acceptor"]
DuplicateFilter = Callable[[FixMessage], bool]


class _SendingTime:
    """UTCTimestamp with milliseconds; the seconds part is cached (formatting it is the slow bit)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, now_ns: int) -> str:
        second, rest = divmod(now_ns, 1_000_000_000)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{rest // 1_000_000:03d}"


class FixSession:
    """The session state and protocol of one SenderCompID/TargetCompID pair.

    Application code uses ``send``, ``logout``, the read-only properties, and the callbacks of its
    ``FixApplication``. ``open`` loads the store; the initiator or acceptor attaches connections.
    """

    def __init__(
        self,
        config: FixSessionConfig,
        application: FixApplication,
        role: Role,
        *,
        store: SessionStore | None = None,
        duplicate_filter: DuplicateFilter | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.role = role
        self._app = application
        self._store = store or config.build_store()
        self._dup = duplicate_filter
        self._clock = clock
        self._schedule: SessionSchedule | None = config.schedule.build() if config.schedule else None
        self._log = (
            RawMessageLog(config.log_dir, config.sender_comp_id, config.target_comp_id)
            if (config.log_dir is not None)
            else None
        )
        self._sending_time = _SendingTime()
        self._heartbeat_secs = float(config.heartbeat_interval_secs)
        self._next_out = 1
        self._next_in = 1
        self._created_ns = 0
        self._persisted_upto = 0
        self._opened = False
        # connection state
        self._writer: asyncio.StreamWriter | None = None
        self._logged_on = False
        self._logon_sent_ns = 0
        self._logout_sent_ns = 0
        self._connected_ns = 0
        self._last_in_ns = 0
        self._last_out_ns = 0
        self._test_request: tuple[str, int] | None = None
        self._test_request_count = 0
        self._queued: dict[int, tuple[FixMessage, bool]] = {}
        self._resend_upto: int | None = None
        self._disconnect_reason = ""
        # Set when the counterparty's Logon carried a MsgSeqNum lower than expected (initiator): the
        # initiator stops reconnecting.
        self.sequence_error: str | None = None
        self._logged_on_event = asyncio.Event()
        self._disconnected_event = asyncio.Event()
        self._disconnected_event.set()
        # write-behind pipeline for stores that are awaited (PostgreSQL)
        self._outbox: list[tuple[int | None, bytes | None, bytes, bool]] = []
        self._outbox_wake = asyncio.Event()
        self._outbox_task: asyncio.Task[None] | None = None
        self._outbox_idle = asyncio.Event()
        self._outbox_idle.set()
        # After a disconnect, the connection stays open until what was queued before it (e.g. our
        # Logout answer) is persisted and written.
        self._linger_writer: asyncio.StreamWriter | None = None

    # ------------------------------------------------------------------ public API

    @property
    def name(self) -> str:
        """``SENDER->TARGET``."""
        return self.config.name

    @property
    def sender_comp_id(self) -> str:
        return self.config.sender_comp_id

    @property
    def target_comp_id(self) -> str:
        return self.config.target_comp_id

    @property
    def is_logged_on(self) -> bool:
        """Logged on now (application messages go out at once)."""
        return self._logged_on

    @property
    def is_connected(self) -> bool:
        """A TCP connection is attached (logged on or not)."""
        return self._writer is not None

    @property
    def next_sender_seq(self) -> int:
        """The MsgSeqNum our next message will carry."""
        return self._next_out

    @property
    def next_target_seq(self) -> int:
        """The MsgSeqNum we expect next from the counterparty."""
        return self._next_in

    async def open(self) -> None:
        """Load sequence numbers from the store (a restart continues them); apply a due daily reset."""
        if self._opened:
            return
        state = await self._store.open()
        self._next_out, self._next_in, self._created_ns = (
            state.next_sender_seq,
            state.next_target_seq,
            state.created_ns,
        )
        self._persisted_upto = self._next_out - 1
        self._opened = True
        await self._reset_if_new_day()
        if not self._store.immediate:
            self._outbox_task = asyncio.get_running_loop().create_task(self._drain_outbox())

    async def close(self) -> None:
        """Drop the connection (without Logout), flush and close the store and the log."""
        self._disconnect("session closed")
        if self._outbox_task is not None:
            await self._outbox_idle.wait()  # everything sent is persisted before the store closes
            self._outbox_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outbox_task
            self._outbox_task = None
        if self._opened:
            await self._store.close()
            self._opened = False
        if self._log is not None:
            self._log.close()

    def send(self, message: FixMessage) -> int:
        """Send an application message; returns its MsgSeqNum.

        Never blocks. When not logged on the message is stored, not written, and reaches the
        counterparty through its ResendRequest after the next logon (``on_resend`` may gap-fill it).
        """
        if not self._opened:
            raise FixSessionError(f"FIX session {self.name} is not open")
        if message.msg_type in ADMIN_TYPES:
            raise FixSessionError(f"35={message.msg_type} is a session message; the session sends it itself")
        return self._send(message, admin=False)

    async def wait_logged_on(self, timeout: float | None = None) -> None:
        """Until the session is logged on (``TimeoutError`` after ``timeout`` seconds)."""
        await asyncio.wait_for(self._logged_on_event.wait(), timeout)

    async def wait_disconnected(self, timeout: float | None = None) -> None:
        """Until no connection is attached."""
        await asyncio.wait_for(self._disconnected_event.wait(), timeout)

    async def logout(self, text: str = "") -> None:
        """Send Logout, wait for the counterparty's (up to ``logout_timeout_secs``), then disconnect."""
        if self._writer is None:
            return
        if self._logged_on and not self._logout_sent_ns:
            self._send_logout(text)
        with contextlib.suppress(TimeoutError):
            await self.wait_disconnected(self.config.logout_timeout_secs)
        self._disconnect("logged out")

    async def reset_sequences(self) -> None:
        """Both sequences to 1 and the stored messages dropped (operator action while disconnected)."""
        if self._writer is not None:
            raise FixSessionError(f"FIX session {self.name}: reset sequences only while disconnected")
        await self._reset_store()

    # ------------------------------------------------------------------ sending

    def _send(self, message: FixMessage, admin: bool) -> int:
        seq = self._next_out
        self._next_out += 1
        now = self._clock()
        raw = encode(message, self.sender_comp_id, self.target_comp_id, seq, self._sending_time(now))
        stored = None if admin else raw
        if self._store.immediate:
            self._store.save_outbound(seq, stored)
            self._persisted_upto = seq
            self._write(raw, admin)
        else:
            self._outbox.append((seq, stored, raw, admin))
            self._outbox_idle.clear()
            self._outbox_wake.set()
        return seq

    def _emit_unpersisted(self, raw: bytes) -> None:
        """Write a resent message (it is already stored) in order with what is queued."""
        if self._store.immediate:
            self._write(raw, True)
        else:
            self._outbox.append((None, None, raw, True))
            self._outbox_idle.clear()
            self._outbox_wake.set()

    def _write(self, raw: bytes, admin: bool) -> None:
        writer = self._writer or (self._linger_writer if admin else None)
        if writer is None or writer.is_closing() or not (admin or self._logged_on):
            return
        writer.write(raw)
        now = self._clock()
        self._last_out_ns = now
        if self._log is not None:
            self._log.write("OUT", raw, now)

    async def _drain_outbox(self) -> None:
        while True:
            await self._outbox_wake.wait()
            self._outbox_wake.clear()
            while self._outbox:
                batch, self._outbox = self._outbox, []
                to_persist = [(seq, stored) for seq, stored, _, _ in batch if seq is not None]
                if to_persist:
                    try:
                        await self._store.persist_outbound(to_persist)
                    except Exception as exc:  # keep order and retry: a message is never sent unstored
                        logger.error("fix_store_write_failed session=%s error=%s", self.name, exc)
                        self._outbox[:0] = batch
                        await asyncio.sleep(0.5)
                        continue
                    self._persisted_upto = to_persist[-1][0]
                for _, _, raw, admin in batch:
                    self._write(raw, admin)
            if self._linger_writer is not None:
                self._linger_writer.close()
                self._linger_writer = None
            self._outbox_idle.set()

    def _send_logout(self, text: str) -> None:
        message = FixMessage("5")
        if text:
            message.append(58, text)
        self._logout_sent_ns = self._clock() or 1
        self._send(message, admin=True)

    def _send_logon(self, reset: bool, heartbeat: int) -> None:
        message = FixMessage("A").append(98, "0").append(108, heartbeat)
        if reset:
            message.append(141, "Y")
        if self.role == "initiator":
            if self.config.username:
                message.append(553, self.config.username)
            if self.config.password is not None:
                message.append(554, self.config.password.get_secret_value())
            extra = self._call("logon_fields", self)
            for tag, value in extra if isinstance(extra, list) else []:
                message.append(tag, value)
        self._logon_sent_ns = self._clock()
        self._send(message, admin=True)

    # ------------------------------------------------------------------ connections

    async def run_connection(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: FixStreamParser | None = None,
        already_read: Iterable[ParsedFrame | SkippedBytes] = (),
    ) -> bool:
        """Serve one TCP connection until it ends; returns whether it reached the logged-on state.

        The initiator sends Logon first; the acceptor waits for it (``already_read`` carries the
        frames the acceptor read to find out which session a connection belongs to).
        """
        if self._writer is not None:
            raise FixSessionError(f"FIX session {self.name} already has a connection")
        parser = parser or FixStreamParser()
        self._writer = writer
        self._disconnected_event.clear()
        self._logged_on_event.clear()
        self._logged_on = False
        self._logout_sent_ns = self._logon_sent_ns = 0
        self._connected_ns = self._last_in_ns = self._last_out_ns = self._clock()
        self._test_request = None
        self._queued.clear()
        self._resend_upto = None
        self._disconnect_reason = "connection closed by counterparty"
        reached_logon = False
        timer = asyncio.get_running_loop().create_task(self._timer())
        try:
            if self.role == "initiator":
                await self._reset_if_new_day()
                if self.config.reset_on_logon:
                    await self._reset_store()
                self._send_logon(self.config.reset_on_logon, self.config.heartbeat_interval_secs)
            for item in already_read:
                await self._handle(item)
                reached_logon |= self._logged_on
            while self._writer is not None:
                data = await reader.read(65536)
                if not data:
                    break
                for item in parser.feed(data):
                    await self._handle(item)
                    reached_logon |= self._logged_on
                    if self._writer is None:
                        break
        except (ConnectionError, OSError) as exc:
            self._disconnect_reason = f"connection error: {exc}"
        finally:
            timer.cancel()
            reason = self._disconnect_reason
            self._disconnect(reason)
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._call("on_disconnect", self, reason)
        return reached_logon

    def _disconnect(self, reason: str) -> None:
        writer = self._writer
        if writer is None:
            return
        self._disconnect_reason = reason
        self._writer = None
        self._logged_on = False
        self._logged_on_event.clear()
        self._disconnected_event.set()
        if self._outbox_idle.is_set():
            writer.close()
        else:
            self._linger_writer = writer
        logger.info("fix_disconnected session=%s reason=%s", self.name, reason)

    async def _timer(self) -> None:
        tick = min(1.0, self._heartbeat_secs / 4)
        while self._writer is not None:
            await asyncio.sleep(tick)
            now = self._clock()
            if self._schedule is not None and not self._schedule.is_open(now):
                if self._logged_on and not self._logout_sent_ns:
                    self._send_logout("end of session")
                elif not self._logged_on:
                    self._disconnect("outside the session schedule")
            if self._logout_sent_ns and now - self._logout_sent_ns > self.config.logout_timeout_secs * 1e9:
                self._disconnect("no Logout answer")
                return
            if not self._logged_on:
                if now - self._connected_ns > self.config.logon_timeout_secs * 1e9:
                    self._disconnect("logon timeout")
                    return
                continue
            interval = self._heartbeat_secs * 1e9
            if now - self._last_out_ns >= interval:
                self._send(FixMessage("0"), admin=True)
            if self._test_request is not None:
                if now - self._test_request[1] >= interval * 1.2:
                    self._disconnect("no answer to TestRequest")
                    return
            elif now - self._last_in_ns >= interval * 1.2:
                self._test_request_count += 1
                request_id = f"TEST-{self._test_request_count}"
                self._test_request = (request_id, now)
                self._send(FixMessage("1").append(112, request_id), admin=True)

    # ------------------------------------------------------------------ inbound

    async def _handle(self, item: ParsedFrame | SkippedBytes) -> None:
        now = self._clock()
        if isinstance(item, SkippedBytes):
            logger.warning(
                "fix_bytes_skipped session=%s bytes=%d reason=%s", self.name, len(item.raw), item.reason
            )
            if self._log is not None:
                self._log.write("SKIP", item.raw, now)
            return
        if self._log is not None:
            self._log.write("IN", item.raw, now)
        self._last_in_ns = now
        message = item.message
        seq_text = message.get(34)
        if seq_text is None or not seq_text.isdigit() or message.get(49) is None or message.get(56) is None:
            logger.warning("fix_garbled_ignored session=%s reason=missing 34/49/56", self.name)
            return
        seq = int(seq_text)
        if message.get(49) != self.target_comp_id or message.get(56) != self.sender_comp_id:
            self._send_reject(seq, message.msg_type, 9, "CompID problem")
            self._send_logout("CompID problem")
            self._disconnect("wrong CompID")
            return
        if not self._logged_on:
            await self._before_logon(message, seq)
            return
        msg_type = message.msg_type
        if msg_type == "4":
            await self._on_sequence_reset(message, seq)
            return
        handled = False
        if msg_type == "2":  # answer at once: the counterparty may be waiting for it to fill our gap
            await self._on_resend_request(message)
            handled = True
        if seq < self._next_in:
            if message.get(43) == "Y":
                logger.info("fix_duplicate_ignored session=%s seq=%d", self.name, seq)
                return
            text = f"MsgSeqNum too low, expecting {self._next_in} but received {seq}"
            self._send_logout(text)
            self._disconnect(text)
            return
        if seq > self._next_in:
            if msg_type == "5":
                self._on_logout(message)
                return
            self._queued[seq] = (message, handled)
            self._request_resend(seq)
            return
        self._advance_in(seq + 1)
        await self._dispatch(message, handled)
        await self._drain_queue()

    def _advance_in(self, next_in: int) -> None:
        self._next_in = next_in
        self._store.set_next_target(next_in)
        if self._resend_upto is not None and next_in > self._resend_upto:
            self._resend_upto = None

    async def _drain_queue(self) -> None:
        while self._queued and self._writer is not None:
            for seq in [s for s in self._queued if s < self._next_in]:
                del self._queued[seq]  # filled by a gap fill
            entry = self._queued.pop(self._next_in, None)
            if entry is None:
                return
            self._advance_in(self._next_in + 1)
            await self._dispatch(*entry)

    def _request_resend(self, seen_seq: int) -> None:
        if self._resend_upto is not None and self._next_in <= self._resend_upto:
            return  # a request covering this gap is outstanding (16=0 asks for everything)
        self._resend_upto = seen_seq - 1
        logger.info("fix_gap session=%s expected=%d received=%d", self.name, self._next_in, seen_seq)
        self._send(FixMessage("2").append(7, self._next_in).append(16, 0), admin=True)

    async def _before_logon(self, message: FixMessage, seq: int) -> None:
        if message.msg_type == "5":
            self._on_logout(message)
            return
        if message.msg_type != "A":
            self._disconnect(f"first message is 35={message.msg_type}, not Logon")
            return
        if self.role == "acceptor":
            refused = self._check_credentials(message)
            if refused:
                logger.warning("fix_logon_refused session=%s reason=%s", self.name, refused)
                self._send_logout(refused)
                self._disconnect(f"logon refused: {refused}")
                return
            if self._schedule is not None and not self._schedule.is_open(self._clock()):
                self._send_logout("outside the session schedule")
                self._disconnect("logon outside the session schedule")
                return
            await self._reset_if_new_day()
        reset = message.get(141) == "Y"
        if reset and (self.role == "acceptor" or self._next_in != 1 or self._next_out != 2):
            if self.role == "acceptor":
                await self._reset_store()
            else:
                self._next_in = 1
                self._store.set_next_target(1)
        heartbeat = message.get(108)
        if heartbeat is None or not heartbeat.isdigit() or int(heartbeat) == 0:
            self._send_logout("HeartBtInt (108) missing or invalid")
            self._disconnect("invalid HeartBtInt")
            return
        if self.role == "acceptor":
            self._heartbeat_secs = float(int(heartbeat))
            if seq < self._next_in and not reset:
                text = f"MsgSeqNum too low, expecting {self._next_in} but received {seq}"
                self._send_logout(text)
                self._disconnect(text)
                return
            self._send_logon(reset, int(heartbeat))
        elif seq < self._next_in:
            text = f"MsgSeqNum too low, expecting {self._next_in} but received {seq}"
            # The venue's sequence went back (it reset its side, or our store is not the one it knows):
            # a person must decide. Reconnecting would only push its sequence up one Logon at a time
            # until it passed ours, and then its ResendRequest from 1 would ask for every stored order.
            self.sequence_error = text
            self._send_logout(text)
            self._disconnect(text)
            return
        self._logged_on = True
        self._logged_on_event.set()
        self._test_request = None
        logger.info(
            "fix_logged_on session=%s role=%s next_out=%d next_in=%d",
            self.name,
            self.role,
            self._next_out,
            seq,
        )
        if seq > self._next_in:
            self._request_resend(seq)
            self._queued[seq] = (message, True)  # the Logon itself is consumed when the gap is filled
        else:
            self._advance_in(seq + 1)
        self._call("on_logon", self)

    def _check_credentials(self, logon: FixMessage) -> str:
        expected_user = self.config.username
        if expected_user is not None and logon.get(553) != expected_user:
            return "Logon rejected: invalid username or password"
        if self.config.password is not None:
            given = (logon.get(554) or "").encode()
            if not hmac.compare_digest(given, self.config.password.get_secret_value().encode()):
                return "Logon rejected: invalid username or password"
        return ""

    async def _on_sequence_reset(self, message: FixMessage, seq: int) -> None:
        new_seq_text = message.get(36)
        if new_seq_text is None or not new_seq_text.isdigit():
            self._send_reject(seq, "4", 1, "NewSeqNo (36) missing")
            return
        new_seq = int(new_seq_text)
        gap_fill = message.get(123) == "Y"
        if gap_fill:
            if seq > self._next_in:
                self._queued[seq] = (message, False)
                self._request_resend(seq)
                return
            if seq < self._next_in:
                return  # an old gap fill resent again: already applied
        if new_seq < self._next_in:
            if not gap_fill:
                self._send_reject(seq, "4", 5, f"NewSeqNo {new_seq} lower than expected {self._next_in}")
            return
        self._advance_in(new_seq)
        await self._drain_queue()

    async def _dispatch(self, message: FixMessage, handled: bool) -> None:
        msg_type = message.msg_type
        if msg_type == "0":
            if self._test_request is not None and message.get(112) == self._test_request[0]:
                self._test_request = None
        elif msg_type == "1":
            self._send(FixMessage("0").append(112, message.get(112, "")), admin=True)
        elif msg_type == "2":
            if not handled:
                await self._on_resend_request(message)
        elif msg_type == "3":
            self._call("on_reject", self, FixReject.from_message(message))
        elif msg_type == "4":
            new_seq = message.get(36)
            if new_seq is not None and new_seq.isdigit() and int(new_seq) > self._next_in:
                self._advance_in(int(new_seq))
        elif msg_type == "5":
            self._on_logout(message)
        elif msg_type == "A":
            if not handled:
                logger.warning("fix_unexpected_logon session=%s", self.name)
        elif msg_type == "j":
            self._call("on_reject", self, FixReject.from_message(message))
        else:
            if self._dup is not None and self._dup(message):
                logger.info("fix_duplicate_report_ignored session=%s exec_id=%s", self.name, message.get(17))
                return
            self._call("on_message", self, message)

    def _on_logout(self, message: FixMessage) -> None:
        text = message.get(58, "") or ""
        was_sent = bool(self._logout_sent_ns)
        if not was_sent and self._writer is not None and (self._logged_on or self.role == "acceptor"):
            self._send_logout("")
        self._call("on_logout", self, text)
        self._disconnect(f"logout: {text}" if text else "logout")

    async def _on_resend_request(self, message: FixMessage) -> None:
        begin_text, end_text = message.get(7), message.get(16)
        if begin_text is None or end_text is None or not begin_text.isdigit() or not end_text.isdigit():
            self._send_reject(int(message.get(34, "0") or 0), "2", 1, "BeginSeqNo/EndSeqNo missing")
            return
        begin, end = int(begin_text), int(end_text)
        last = self._persisted_upto  # later ones are still in the pipeline and go out after this
        if end == 0 or end > last:
            end = last
        logger.info("fix_resend session=%s begin=%d end=%d", self.name, begin, end)
        if begin > end:
            return
        stored = await self._store.get_outbound(begin, end)
        now_text = self._sending_time(self._clock())
        gap_start = begin
        for seq, raw in stored:
            try:
                original = decode(raw)
            except FixCodecError:
                continue
            if self._call("on_resend", self, original) is False:
                continue
            if seq > gap_start:
                self._emit_unpersisted(self._gap_fill(gap_start, seq, now_text))
            resent = encode(
                original,
                self.sender_comp_id,
                self.target_comp_id,
                seq,
                now_text,
                poss_dup=True,
                orig_sending_time=original.get(52) or now_text,
            )
            self._emit_unpersisted(resent)
            gap_start = seq + 1
        if gap_start <= end:
            self._emit_unpersisted(self._gap_fill(gap_start, end + 1, now_text))

    def _gap_fill(self, seq: int, new_seq: int, now_text: str) -> bytes:
        message = FixMessage("4").append(123, "Y").append(36, new_seq)
        return encode(
            message, self.sender_comp_id, self.target_comp_id, seq, now_text, True, orig_sending_time=now_text
        )

    def _send_reject(self, ref_seq: int, ref_type: str, reason: int, text: str) -> None:
        reject = (
            FixMessage("3").append(45, ref_seq).append(372, ref_type).append(373, reason).append(58, text)
        )
        self._send(reject, admin=True)

    # ------------------------------------------------------------------ store helpers

    async def _reset_if_new_day(self) -> None:
        if self._schedule is not None and self._schedule.needs_reset(self._created_ns, self._clock()):
            logger.info("fix_daily_reset session=%s", self.name)
            await self._reset_store()

    async def _reset_store(self) -> None:
        await self._outbox_idle.wait()
        self._created_ns = self._clock()
        await self._store.reset(self._created_ns)
        self._next_out = self._next_in = 1
        self._persisted_upto = 0

    def _call(self, name: str, *args: object) -> object:
        try:
            return getattr(self._app, name)(*args)
        except Exception:
            logger.exception("fix_application_callback_failed session=%s callback=%s", self.name, name)
            return None
