"""Our FIX 4.4 session against QuickFIX (the C++ engine) as the independent peer, over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from macrofund.adapters.fix.acceptor import FixAcceptor
from macrofund.adapters.fix.application import ExecIdDeduplicator, FixEventQueue
from macrofund.adapters.fix.codec import encode
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.initiator import FixInitiator
from macrofund.adapters.fix.message import FixMessage
from tests.fixtures.quickfix import LoopbackProxy, QuickFixPeer, eventually, execution_report, news
from tests.fixtures.servers import free_port

PeerFactory = Callable[..., QuickFixPeer]


def session_config(tmp_path: Path, port: int, **overrides: Any) -> FixSessionConfig:
    values: dict[str, Any] = {
        "sender_comp_id": "MF",
        "target_comp_id": "QF",
        "port": port,
        "heartbeat_interval_secs": 30,
        "reconnect_min_secs": 0.2,
        "reconnect_max_secs": 0.5,
        "store": {"path": str(tmp_path / "store")},
        "log_dir": tmp_path / "log",
    }
    values.update(overrides)
    return FixSessionConfig(**values)


class Recorder(FixEventQueue):
    """Keeps every event in a list as well (tests look at all of them)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[FixMessage] = []
        self.kinds: list[str] = []
        self.texts: list[str] = []

    def on_message(self, session: Any, message: FixMessage) -> None:
        self.messages.append(message)
        self.kinds.append("message")

    def on_logon(self, session: Any) -> None:
        self.kinds.append("logon")

    def on_logout(self, session: Any, text: str) -> None:
        self.kinds.append("logout")
        self.texts.append(text)

    def on_disconnect(self, session: Any, reason: str) -> None:
        self.kinds.append("disconnect")
        self.texts.append(reason)

    def exec_ids(self) -> list[str]:
        return [m.get(17) or "" for m in self.messages if m.msg_type == "8"]


def raw_log(tmp_path: Path) -> str:
    return "".join(p.read_text() for p in sorted((tmp_path / "log").rglob("*.log")))


def test_initiator_logs_on_exchanges_and_logs_out_with_quickfix_acceptor(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    peer = quickfix_peer("acceptor")
    app = Recorder()

    async def scenario() -> None:
        initiator = FixInitiator(
            session_config(tmp_path, peer.port, username="trader", password="s3cret"), app
        )
        session = await initiator.start()
        await session.wait_logged_on(10)
        seq = session.send(news("hello"))
        assert seq == 2
        await eventually(lambda: peer.received("app", "B"), what="QuickFIX got News")
        peer.send("8", execution_report("E1"))
        await eventually(lambda: app.exec_ids() == ["E1"], what="ExecutionReport delivered")
        await initiator.stop("end of test")

    asyncio.run(scenario())
    logon = peer.received("admin", "A")[0]
    assert logon.get(553) == "trader" and logon.get(554) == "s3cret"
    assert peer.received("app", "B")[0].get(148) == "hello"
    assert peer.received("admin", "5")[-1].get(58) == "end of test"
    assert app.kinds[:2] == ["logon", "message"] and "logout" in app.kinds
    log = raw_log(tmp_path)
    assert "554=***" in log and "s3cret" not in log  # credentials never reach the raw log
    assert " OUT 8=FIX.4.4|" in log and " IN 8=FIX.4.4|" in log


@pytest.mark.parametrize("store_kind", ["file", "postgres"])
def test_restart_continues_sequence_numbers(
    tmp_path: Path, quickfix_peer: PeerFactory, postgres_dsn: str, store_kind: str
) -> None:
    peer = quickfix_peer("acceptor")
    store = (
        {"path": str(tmp_path / "store")}
        if store_kind == "file"
        else {"kind": "postgres", "dsn": postgres_dsn}
    )
    config = session_config(tmp_path, peer.port, store=store)

    async def run_once(headline: str) -> tuple[int, int]:
        initiator = FixInitiator(config, Recorder())
        session = await initiator.start()
        await session.wait_logged_on(10)
        first_seq = session.next_sender_seq - 1  # the Logon's
        session.send(news(headline))
        await eventually(lambda: any(m.get(148) == headline for m in peer.received("app", "B")))
        await initiator.stop()
        return first_seq, session.next_sender_seq

    async def scenario() -> None:
        logon_1, after_1 = await run_once("first")
        logon_2, _ = await run_once("second")
        assert logon_1 == 1
        assert logon_2 == after_1  # the second process continued where the first stopped

    asyncio.run(scenario())
    assert [m.get(148) for m in peer.received("app", "B")] == ["first", "second"]
    assert not peer.received("admin", "2")  # QuickFIX never had to ask for a resend


def test_quickfix_initiator_logs_on_to_our_acceptor_and_both_log_out(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    port = free_port()
    app = Recorder()

    async def scenario() -> None:
        config = session_config(tmp_path, port, username="trader", password="s3cret")
        acceptor = FixAcceptor([config], app, port=port)
        await acceptor.start()
        peer = quickfix_peer("initiator", port=port, logon_fields=[(553, "trader"), (554, "s3cret")])
        session = acceptor.session("MF", "QF")
        await session.wait_logged_on(15)
        await eventually(peer.is_logged_on, what="QuickFIX processed our Logon answer")
        peer.send("8", execution_report("E7"))
        await eventually(lambda: app.exec_ids() == ["E7"])
        session.send(news("from acceptor"))
        await eventually(lambda: peer.received("app", "B"))
        await acceptor.stop()
        await eventually(lambda: "logout" in peer.events(), what="QuickFIX saw the logout")

    asyncio.run(scenario())
    assert app.kinds[0] == "logon"


def test_bad_password_gets_logout_with_text_and_no_session(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    port = free_port()
    app = Recorder()

    async def scenario() -> None:
        config = session_config(tmp_path, port, username="trader", password="s3cret")
        acceptor = FixAcceptor([config], app, port=port)
        await acceptor.start()
        peer = quickfix_peer("initiator", port=port, logon_fields=[(553, "trader"), (554, "wrong")])
        await eventually(lambda: peer.received("admin", "5"), timeout=15, what="Logout for the bad password")
        assert not acceptor.session("MF", "QF").is_logged_on
        await acceptor.stop()
        assert "logon" not in app.kinds
        assert "invalid username or password" in (peer.received("admin", "5")[0].get(58) or "")

    asyncio.run(scenario())
    assert "wrong" not in raw_log(tmp_path)


def test_test_request_is_answered_and_idle_session_sends_heartbeats(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    peer = quickfix_peer("acceptor", heartbeat_secs=1)

    async def scenario() -> None:
        initiator = FixInitiator(session_config(tmp_path, peer.port, heartbeat_interval_secs=1), Recorder())
        session = await initiator.start()
        await session.wait_logged_on(10)
        peer.send("1", [(112, "PING-42")])  # QuickFIX sends the TestRequest like any message
        await eventually(lambda: any(m.get(112) == "PING-42" for m in peer.received("admin", "0")))
        await eventually(lambda: len([m for m in peer.received("admin", "0") if m.get(112) is None]) >= 2)
        await initiator.stop()

    asyncio.run(scenario())


def test_silent_counterparty_gets_test_request_then_disconnect_then_reconnect(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    peer = quickfix_peer("acceptor", heartbeat_secs=1)
    app = Recorder()

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        initiator = FixInitiator(session_config(tmp_path, proxy.port, heartbeat_interval_secs=1), app)
        session = await initiator.start()
        await session.wait_logged_on(10)
        proxy.hold = True  # QuickFIX keeps talking, nothing reaches us
        await eventually(lambda: "disconnect" in app.kinds, timeout=10, what="disconnect after TestRequest")
        proxy.hold = False
        await eventually(lambda: app.kinds.count("logon") == 2, timeout=10, what="reconnected")
        await initiator.stop()
        await proxy.stop()

    asyncio.run(scenario())
    assert peer.received("admin", "1"), "QuickFIX never saw our TestRequest"
    assert "no answer to TestRequest" in app.texts


def test_disconnect_and_reconnect_continue_sequences_and_recover_missed_messages_once(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    peer = quickfix_peer("acceptor")
    app = Recorder()

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        initiator = FixInitiator(
            session_config(tmp_path, proxy.port), app, duplicate_filter=ExecIdDeduplicator()
        )
        session = await initiator.start()
        await session.wait_logged_on(10)
        peer.send("8", execution_report("E1"))
        await eventually(lambda: app.exec_ids() == ["E1"])
        proxy.cut()
        await eventually(lambda: not session.is_connected and not peer.is_logged_on())
        peer.send("8", execution_report("E2"))  # the fill that happens while we are away
        peer.send("8", execution_report("E3"))
        session.send(news("while away"))  # stored, delivered through QuickFIX's ResendRequest
        proxy.restore()
        await session.wait_logged_on(10)
        await eventually(lambda: app.exec_ids() == ["E1", "E2", "E3"], what="missed reports recovered")
        await eventually(lambda: any(m.get(148) == "while away" for m in peer.received("app", "B")))
        await asyncio.sleep(0.3)  # anything duplicated would arrive now
        assert app.exec_ids() == ["E1", "E2", "E3"]
        assert session.next_sender_seq > 3 and session.next_target_seq > 4
        await initiator.stop()
        await proxy.stop()

    asyncio.run(scenario())
    logons = peer.received("admin", "A")
    assert int(logons[1].require(34)) > 1  # the second logon continued the sequence
    away = [m for m in peer.received("app", "B") if m.get(148) == "while away"]
    assert len(away) == 1 and away[0].get(43) == "Y" and away[0].get(122)


def test_resend_request_from_quickfix_gets_possdup_messages_and_gap_fill(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    peer = quickfix_peer("acceptor")

    async def scenario() -> None:
        initiator = FixInitiator(session_config(tmp_path, peer.port), Recorder())
        session = await initiator.start()
        await session.wait_logged_on(10)
        session.send(news("one"))  # seq 2
        session.send(news("two"))  # seq 3
        await eventually(lambda: len(peer.received("app", "B")) == 2)
        peer.session.setNextTargetMsgSeqNum(1)  # QuickFIX forgets everything after our Logon...
        session.send(news("three"))  # ...so this seq 4 is a gap: it asks us to resend 1..
        await eventually(lambda: len(peer.received("app", "B")) == 5, what="resent messages")
        await initiator.stop()

    asyncio.run(scenario())
    assert peer.received("sent", "2")[0].get(7) == "1"  # QuickFIX asked from 1
    received = peer.received("app", "B")
    assert [m.get(148) for m in received] == ["one", "two", "one", "two", "three"]
    for resent in received[2:4]:
        assert resent.get(43) == "Y" and resent.get(122) is not None
    gap_fills = [m for m in peer.received("admin", "4") if m.get(123) == "Y"]
    assert gap_fills and gap_fills[0].get(34) == "1" and gap_fills[0].get(36) == "2"  # the Logon


def test_inbound_gap_is_requested_and_messages_are_delivered_in_order(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    peer = quickfix_peer("acceptor")
    app = Recorder()

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        initiator = FixInitiator(session_config(tmp_path, proxy.port), app)
        session = await initiator.start()
        await session.wait_logged_on(10)
        proxy.drop = lambda m: m.get(17) == "E2" and m.get(43) != "Y"  # lose E2 the first time only
        for exec_id in ("E1", "E2", "E3", "E4"):
            peer.send("8", execution_report(exec_id))
        await eventually(lambda: len(app.exec_ids()) == 4, what="all four reports")
        # QuickFIX jumps its sequence (as after its own crash): we fill the gap, nothing is lost
        peer.session.setNextSenderMsgSeqNum(peer.session.getExpectedSenderNum() + 5)
        peer.send("8", execution_report("E5"))
        await eventually(lambda: len(app.exec_ids()) == 5)
        assert session.next_target_seq == peer.session.getExpectedSenderNum()
        await initiator.stop()
        await proxy.stop()

    asyncio.run(scenario())
    assert app.exec_ids() == ["E1", "E2", "E3", "E4", "E5"]
    assert len(peer.received("admin", "2")) == 2


def test_possdup_replay_and_repeated_exec_id_are_ignored(tmp_path: Path, quickfix_peer: PeerFactory) -> None:
    peer = quickfix_peer("acceptor")
    app = Recorder()

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        initiator = FixInitiator(
            session_config(tmp_path, proxy.port), app, duplicate_filter=ExecIdDeduplicator()
        )
        session = await initiator.start()
        await session.wait_logged_on(10)
        peer.send("8", execution_report("E1"))
        await eventually(lambda: app.exec_ids() == ["E1"])
        seen_seq = int(app.messages[0].require(34))
        # A PossDup copy of a sequence number already processed: ignored at session level.
        replay = FixMessage("8").extend(execution_report("E1-replay"))
        proxy.inject(
            encode(replay, "QF", "MF", seen_seq, "20260101-00:00:00.000", True, "20260101-00:00:00.000")
        )
        # The same ExecID again under a new sequence number: the deduplicator drops it.
        peer.send("8", execution_report("E1"))
        peer.send("8", execution_report("E2"))
        await eventually(lambda: "E2" in app.exec_ids())
        await initiator.stop()
        await proxy.stop()

    asyncio.run(scenario())
    assert app.exec_ids() == ["E1", "E2"]


def test_garbage_and_bad_checksum_bytes_are_skipped_and_the_session_survives(
    tmp_path: Path, quickfix_peer: PeerFactory
) -> None:
    peer = quickfix_peer("acceptor")
    app = Recorder()

    async def scenario() -> None:
        proxy = await LoopbackProxy(peer.port).start()
        initiator = FixInitiator(session_config(tmp_path, proxy.port), app)
        session = await initiator.start()
        await session.wait_logged_on(10)
        bad = encode(
            FixMessage("8").extend(execution_report("BAD")), "QF", "MF", 999, "20260101-00:00:00.000"
        )
        bad = bad[:-4] + b"%03d\x01" % ((int(bad[-4:-1]) + 1) % 256)
        proxy.inject(b"\x00\xffnot fix at all\x01\x01" + bad + b"8=FIX.4.4\x019=zz\x01garbage")
        peer.send("8", execution_report("E1"))
        await eventually(lambda: app.exec_ids() == ["E1"])
        assert session.is_logged_on
        await initiator.stop()
        await proxy.stop()

    asyncio.run(scenario())
    assert app.exec_ids() == ["E1"]
    log = raw_log(tmp_path)
    assert log.count(" SKIP ") >= 2 and "CheckSum" not in log  # skipped bytes are logged, raw
