"""``macrofund exchange-sim`` with QuickFIX (the C++ engine, FIX44.xml dictionary) as the client.

QuickFIX validates every report we send against the FIX 4.4 data dictionary: a malformed 35=8/9/r
would come back as a session Reject (35=3) and never reach its application, so each test also checks
that QuickFIX sent no Reject.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from macrofund.adapters.exchange_sim.config import default_config
from macrofund.adapters.exchange_sim.server import ExchangeSimServer
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.translate import format_utc_timestamp
from tests.fixtures.quickfix import QuickFixPeer, eventually
from tests.fixtures.servers import free_port

PASSWORD = "s3cret"
StartPeer = Callable[..., QuickFixPeer]


def sim_config(tmp_path: Path, venue: str = "cme") -> Any:
    instruments = (
        [{"instrument_id": "ESZ9.CME", "start_price": "6000.00", "max_qty": 100}]
        if venue == "cme"
        else [{"instrument_id": "DI1F30.B3", "start_price": "12.500", "max_qty": 1000}]
    )
    return default_config(
        venue,  # type: ignore[arg-type]
        sessions=[{"comp_id": "MF01", "username": "mf", "password": PASSWORD}],
        instruments=instruments,
        reference={"source": "static"},
        state_dir=tmp_path / "sim",
    )


def new_order(
    cl: str, qty: int, ord_type: str = "1", price: str | None = None, symbol: str = "ESZ9", side: str = "1"
) -> list[tuple[int, str]]:
    fields = [
        (11, cl),
        (55, symbol),
        (54, side),
        (60, "20260101-00:00:00.000"),
        (38, str(qty)),
        (40, ord_type),
    ]
    if price is not None:
        fields.append((44, price))
    return [*fields, (59, "0")]


def reports(peer: QuickFixPeer, msg_type: str = "8") -> list[FixMessage]:
    return peer.received("app", msg_type)


def logon_fields(password: str = PASSWORD) -> list[tuple[int, str]]:
    return [(553, "mf"), (554, password)]


def run(
    tmp_path: Path,
    quickfix_peer: StartPeer,
    scenario: Callable[[ExchangeSimServer, QuickFixPeer], Awaitable[None]],
    venue: str = "cme",
) -> None:
    async def main() -> None:
        server = ExchangeSimServer(sim_config(tmp_path, venue), port=free_port())
        await server.start()
        try:
            peer = quickfix_peer(
                "initiator",
                port=server.port,
                sender_comp_id="MF01",
                target_comp_id=server.config.comp_id,
                logon_fields=logon_fields(),
            )
            await eventually(peer.is_logged_on, what="QuickFIX logon")
            await scenario(server, peer)
            assert not peer.received("sent", "3"), "QuickFIX rejected a message of ours"
            assert not peer.received("sent", "j")
        finally:
            await server.stop()

    asyncio.run(main())


def test_quickfix_bad_password_gets_a_logout_and_no_session(tmp_path: Path, quickfix_peer: StartPeer) -> None:
    async def main() -> None:
        server = ExchangeSimServer(sim_config(tmp_path), port=free_port())
        await server.start()
        try:
            peer = quickfix_peer(
                "initiator",
                port=server.port,
                sender_comp_id="MF01",
                target_comp_id="CME",
                logon_fields=logon_fields("wrong"),
            )
            await eventually(lambda: peer.received("admin", "5"), what="Logout")
            assert "invalid username or password" in (peer.received("admin", "5")[0].get(58) or "")
            assert server.stats().sessions_logged_on == 0
        finally:
            await server.stop()

    asyncio.run(main())


def test_quickfix_market_and_resting_limit_orders_fill(tmp_path: Path, quickfix_peer: StartPeer) -> None:
    async def scenario(server: ExchangeSimServer, peer: QuickFixPeer) -> None:
        peer.send("D", new_order("Q1", 2))
        await eventually(lambda: len(reports(peer)) == 2, what="market order reports")
        new, fill = reports(peer)
        assert (new.get(150), fill.get(150), fill.get(39), fill.get(31), fill.get(14)) == (
            "0",
            "F",
            "2",
            "6000.25",
            "2",
        )
        peer.send("D", new_order("Q2", 3, "2", "5995.00"))
        await eventually(lambda: len(reports(peer)) == 3, what="limit accepted")
        server.set_reference("ESZ9.CME", Decimal("5994.75"), Decimal("5995.00"))
        await eventually(lambda: len(reports(peer)) == 4, what="limit filled")
        fill = reports(peer)[3]
        assert (fill.get(11), fill.get(31), fill.get(39), fill.get(6)) == ("Q2", "5995.00", "2", "5995")

    run(tmp_path, quickfix_peer, scenario)


def test_quickfix_cancel_replace_status_and_mass_cancel(tmp_path: Path, quickfix_peer: StartPeer) -> None:
    async def scenario(server: ExchangeSimServer, peer: QuickFixPeer) -> None:
        peer.send("D", new_order("C1", 1, "2", "5990.00"))
        peer.send("D", new_order("C2", 1, "2", "5980.00"))
        await eventually(lambda: len(reports(peer)) == 2, what="two accepted")
        replace = [
            (41, "C1"),
            (11, "C1b"),
            (55, "ESZ9"),
            (54, "1"),
            (60, "20260101-00:00:00.000"),
            (38, "4"),
            (40, "2"),
            (44, "5991.00"),
        ]
        peer.send("G", replace)
        await eventually(lambda: len(reports(peer)) == 3, what="replaced")
        replaced = reports(peer)[2]
        assert (replaced.get(150), replaced.get(11), replaced.get(41), replaced.get(38)) == (
            "5",
            "C1b",
            "C1",
            "4",
        )
        peer.send("H", [(11, "C1b"), (790, "S1"), (55, "ESZ9"), (54, "1")])
        await eventually(lambda: len(reports(peer)) == 4, what="status")
        status = reports(peer)[3]
        assert (status.get(150), status.get(39), status.get(790), status.get(44)) == (
            "I",
            "0",
            "S1",
            "5991.00",
        )
        peer.send("F", [(41, "C2"), (11, "C2x"), (55, "ESZ9"), (54, "1"), (60, "20260101-00:00:00.000")])
        await eventually(lambda: len(reports(peer)) == 5, what="canceled")
        assert (reports(peer)[4].get(150), reports(peer)[4].get(39)) == ("4", "4")
        peer.send("F", [(41, "NOPE"), (11, "C3x"), (55, "ESZ9"), (54, "1"), (60, "20260101-00:00:00.000")])
        await eventually(lambda: reports(peer, "9"), what="cancel reject")
        assert reports(peer, "9")[0].get(102) == "1"
        peer.send("q", [(11, "M1"), (530, "1"), (55, "ESZ9"), (60, "20260101-00:00:00.000")])
        await eventually(lambda: reports(peer, "r") and len(reports(peer)) == 6, what="mass cancel")
        mass = reports(peer, "r")[0]
        assert (mass.get(530), mass.get(531), mass.get(533)) == ("1", "1", "1")
        assert (reports(peer)[5].get(11), reports(peer)[5].get(150)) == ("C1b", "4")

    run(tmp_path, quickfix_peer, scenario)


def test_quickfix_invalid_orders_are_rejected_with_text(tmp_path: Path, quickfix_peer: StartPeer) -> None:
    async def scenario(server: ExchangeSimServer, peer: QuickFixPeer) -> None:
        peer.send("D", new_order("V1", 1, "2", "6000.10"))
        peer.send("D", new_order("V2", 1, symbol="ZZZ9"))
        peer.send("D", new_order("V3", 1000))
        await eventually(lambda: len(reports(peer)) == 3, what="three rejects")
        texts = {m.get(11): (m.get(150), m.get(103), m.get(58) or "") for m in reports(peer)}
        assert texts["V1"][:2] == ("8", "99") and "0.25 tick" in texts["V1"][2]
        assert texts["V2"][:2] == ("8", "1") and "unknown symbol" in texts["V2"][2]
        assert texts["V3"][:2] == ("8", "13") and "maximum 100" in texts["V3"][2]

    run(tmp_path, quickfix_peer, scenario)


def test_quickfix_di1_rate_order_on_the_b3_profile(tmp_path: Path, quickfix_peer: StartPeer) -> None:
    async def scenario(server: ExchangeSimServer, peer: QuickFixPeer) -> None:
        peer.send("D", [*new_order("R1", 5, "1", symbol="DI1F30"), (207, "BVMF")])
        await eventually(lambda: len(reports(peer)) == 2, what="DI1 fill")
        fill = reports(peer)[1]
        instrument = server.venue.instruments["DI1F30.B3"]
        assert Decimal(fill.require(31)) == instrument.ask  # a rate, e.g. 12.505
        assert Decimal("10") < Decimal(fill.require(31)) < Decimal("15")

    run(tmp_path, quickfix_peer, scenario, venue="b3")


def test_quickfix_sequence_continues_across_a_sim_restart(tmp_path: Path, quickfix_peer: StartPeer) -> None:
    async def main() -> None:
        config = sim_config(tmp_path)
        port = free_port()
        server = ExchangeSimServer(config, port=port)
        await server.start()
        peer = quickfix_peer(
            "initiator", port=port, sender_comp_id="MF01", target_comp_id="CME", logon_fields=logon_fields()
        )
        try:
            await eventually(peer.is_logged_on, what="logon")
            peer.send("D", new_order("K1", 2, "2", "5990.00"))
            await eventually(lambda: len(reports(peer)) == 1, what="accepted")
            sent_before = server._acceptor.session("CME", "MF01").next_sender_seq
            await server.stop()
            await eventually(lambda: not peer.is_logged_on(), what="QuickFIX sees the logout")
            server = ExchangeSimServer(config, port=port)
            await server.start()
            await eventually(peer.is_logged_on, timeout=15, what="QuickFIX logs on to the restarted sim")
            assert server._acceptor.session("CME", "MF01").next_sender_seq >= sent_before
            peer.send("H", [(11, "K1"), (55, "ESZ9"), (54, "1")])
            await eventually(lambda: len(reports(peer)) == 2, what="status after restart")
            assert (reports(peer)[1].get(150), reports(peer)[1].get(39)) == ("I", "0")
            logouts = [m.get(58) or "" for m in peer.received("admin", "5")]
            assert not any("MsgSeqNum too low" in text for text in logouts), logouts
            assert not peer.received("sent", "2") or all(
                m.get(7) != "1" for m in peer.received("sent", "2")
            ), "QuickFIX asked for everything again: the sequence was reset"
        finally:
            await server.stop()

    asyncio.run(main())


def test_quickfix_accepts_expiry_and_unknown_order_status_reports(
    tmp_path: Path, quickfix_peer: StartPeer
) -> None:
    async def scenario(server: ExchangeSimServer, peer: QuickFixPeer) -> None:
        expire = format_utc_timestamp(time.time_ns() + 300_000_000)
        gtd = [(k, "6") if k == 59 else (k, v) for k, v in new_order("G1", 1, "2", "5990.00")]
        peer.send("D", [*gtd, (126, expire)])
        await eventually(lambda: len(reports(peer)) == 2, what="GTD accepted and expired")
        assert (reports(peer)[1].get(150), reports(peer)[1].get(39)) == ("C", "C")
        peer.send("H", [(11, "NOPE"), (55, "ESZ9"), (54, "1")])
        await eventually(lambda: len(reports(peer)) == 3, what="status of an unknown order")
        unknown = reports(peer)[2]
        assert (unknown.get(150), unknown.get(39), unknown.get(37)) == ("I", "8", "NONE")

    run(tmp_path, quickfix_peer, scenario)
