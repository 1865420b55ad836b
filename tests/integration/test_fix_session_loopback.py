"""Our initiator against our acceptor: the application hooks both roles rely on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from macrofund.adapters.fix.acceptor import FixAcceptor
from macrofund.adapters.fix.application import FixEventQueue
from macrofund.adapters.fix.config import FixScheduleConfig, FixSessionConfig, FixStoreConfig
from macrofund.adapters.fix.errors import FixStoreError
from macrofund.adapters.fix.initiator import FixInitiator
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.session import FixSession
from macrofund.adapters.fix.store import PostgresSessionStore
from tests.fixtures.quickfix import eventually
from tests.fixtures.servers import free_port


def pair(tmp_path: Path, port: int, **initiator: Any) -> tuple[FixSessionConfig, FixSessionConfig]:
    common: dict[str, Any] = {"port": port, "reconnect_min_secs": 0.1, "reconnect_max_secs": 0.2}
    ours = FixSessionConfig(
        sender_comp_id="MF",
        target_comp_id="VENUE",
        store={"path": str(tmp_path / "mf")},
        log_dir=tmp_path / "log-mf",
        **{**common, **initiator},
    )
    venue = FixSessionConfig(
        sender_comp_id="VENUE",
        target_comp_id="MF",
        username="trader",
        password="s3cret",
        store={"path": str(tmp_path / "venue")},
        log_dir=tmp_path / "log-venue",
        **common,
    )
    return ours, venue


class Venue(FixEventQueue):
    """Answers every NewOrderSingle with a BusinessMessageReject, and records Logon fields."""

    def __init__(self) -> None:
        super().__init__()
        self.logons: list[FixSession] = []

    def on_message(self, session: FixSession, message: FixMessage) -> None:
        super().on_message(session, message)
        reject = FixMessage("j").append(45, message.require(34)).append(372, "D")
        session.send(reject.append(379, message.require(11)).append(380, 2).append(58, "unknown symbol"))


def test_logon_fields_hook_and_business_reject_reach_the_application(tmp_path: Path) -> None:
    port = free_port()
    ours, venue_config = pair(tmp_path, port, username="trader", password="s3cret")

    async def scenario() -> None:
        venue_app = Venue()
        acceptor = FixAcceptor([venue_config], venue_app, port=port)
        await acceptor.start()
        app = FixEventQueue(extra_logon_fields=[(1603, "macrofund"), (1604, "0.1"), (1605, "macrofund")])
        initiator = FixInitiator(ours, app)
        session = await initiator.start()
        await session.wait_logged_on(5)
        session.send(FixMessage("D").append(11, "ORD-1").append(55, "NOPE"))
        while (event := await asyncio.wait_for(app.queue.get(), 5)).kind != "reject":
            pass
        assert event.reject is not None
        assert (event.reject.kind, event.reject.ref_id, event.reject.reason) == ("business", "ORD-1", 2)
        assert event.reject.text == "unknown symbol"
        logon = next(e for e in [venue_app.queue.get_nowait() for _ in range(venue_app.queue.qsize())])
        assert logon.kind == "logon"
        await initiator.stop()
        await acceptor.stop()

    asyncio.run(scenario())
    venue_log = "".join(p.read_text() for p in (tmp_path / "log-venue").rglob("*.log"))
    assert "1603=macrofund|1604=0.1|1605=macrofund" in venue_log and "s3cret" not in venue_log


def test_bad_password_refused_and_initiator_backs_off_and_retries(tmp_path: Path) -> None:
    port = free_port()
    ours, venue_config = pair(tmp_path, port, username="trader", password="wrong")

    async def scenario() -> None:
        venue_app = FixEventQueue()
        acceptor = FixAcceptor([venue_config], venue_app, port=port)
        await acceptor.start()
        app = FixEventQueue()
        initiator = FixInitiator(ours, app)
        await initiator.start()
        kinds: list[str] = []
        texts: list[str] = []
        while kinds.count("reconnect") < 2:
            event = await asyncio.wait_for(app.queue.get(), 5)
            kinds.append(event.kind)
            texts.append(event.text)
        assert "logon" not in kinds and kinds[0] == "logout"
        assert "invalid username or password" in texts[0]
        assert not acceptor.session("VENUE", "MF").is_logged_on
        assert all(
            e.kind == "disconnect"
            for e in [venue_app.queue.get_nowait() for _ in range(venue_app.queue.qsize())]
        )
        await initiator.stop()
        await acceptor.stop()

    asyncio.run(scenario())


def test_postgres_store_on_the_acceptor_keeps_sequences_across_restart(
    tmp_path: Path, postgres_dsn: str
) -> None:
    port = free_port()
    ours, venue_config = pair(tmp_path, port, username="trader", password="s3cret")
    pg_store = FixStoreConfig(kind="postgres", dsn=postgres_dsn)
    venue_config = venue_config.model_copy(update={"store": pg_store})

    async def one_day(count: int) -> tuple[int, int]:
        acceptor = FixAcceptor([venue_config], Venue(), port=port)
        await acceptor.start()
        app = FixEventQueue()
        initiator = FixInitiator(ours, app)
        session = await initiator.start()
        await session.wait_logged_on(5)
        for i in range(count):
            session.send(FixMessage("D").append(11, f"ORD-{i}").append(55, "X"))
        rejects = 0
        while rejects < count:
            rejects += (await asyncio.wait_for(app.queue.get(), 5)).kind == "reject"
        venue = acceptor.session("VENUE", "MF")
        seqs = (venue.next_sender_seq, venue.next_target_seq)
        await initiator.stop()
        await acceptor.stop()
        return seqs

    async def scenario() -> None:
        first = await one_day(3)
        assert first == (5, 5)  # Logon + 3 rejects sent; Logon + 3 orders received
        second = await one_day(2)
        assert second == (first[0] + 1 + 2 + 1, first[1] + 1 + 2 + 1)  # + the logouts, then continued

    asyncio.run(scenario())


def test_acceptor_refuses_logon_outside_its_schedule(tmp_path: Path) -> None:
    port = free_port()
    ours, venue_config = pair(tmp_path, port, username="trader", password="s3cret")
    now = datetime.now(UTC)
    closed = {"start": (now + timedelta(hours=2)).time(), "end": (now + timedelta(hours=3)).time()}
    venue_config = venue_config.model_copy(update={"schedule": FixScheduleConfig(**closed)})

    async def scenario() -> None:
        acceptor = FixAcceptor([venue_config], FixEventQueue(), port=port)
        await acceptor.start()
        app = FixEventQueue()
        initiator = FixInitiator(ours, app)
        await initiator.start()
        await eventually(lambda: app.queue.qsize() >= 1)
        event = app.queue.get_nowait()
        assert (event.kind, event.text) == ("logout", "outside the session schedule")
        await initiator.stop()
        await acceptor.stop()

    asyncio.run(scenario())


def test_a_postgres_store_in_use_is_refused_and_free_again_once_closed(postgres_dsn: str) -> None:
    """The PostgreSQL store takes a session-level advisory lock: a second process on the same session
    identity is told which backend holds it; the lock goes with the connection."""

    async def scenario() -> None:
        store = PostgresSessionStore(postgres_dsn, "MF-LOCK", "B3")
        await store.open()
        holder = await store._c.fetchval("select pg_backend_pid()")
        with pytest.raises(
            FixStoreError, match=rf"in use by another process \(PostgreSQL backend pid {holder}\)"
        ):
            await PostgresSessionStore(postgres_dsn, "MF-LOCK", "B3").open()
        await store.close()
        again = PostgresSessionStore(postgres_dsn, "MF-LOCK", "B3")
        await again.open()
        await again.close()

    asyncio.run(scenario())
