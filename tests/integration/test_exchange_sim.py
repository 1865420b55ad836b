"""``macrofund exchange-sim`` against our own ``FixInitiator``: the venue behaviour a client relies on.

The reference price is static and moved by the test (``ExchangeSimServer.set_reference``), so every
fill price is known in advance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.model.enums import OrderSide

from macrofund.adapters.b3.di1 import DI1PriceConvention, di1_maturity
from macrofund.adapters.exchange_sim.config import default_config
from macrofund.adapters.exchange_sim.server import ExchangeSimServer
from macrofund.adapters.fix.application import FixEventQueue
from macrofund.adapters.fix.config import FixSessionConfig
from macrofund.adapters.fix.initiator import FixInitiator
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.session import FixSession
from macrofund.adapters.fix.translate import format_utc_timestamp

PASSWORD = "s3cret"


def sim_config(tmp_path: Path, venue: str = "cme", **overrides: Any) -> Any:
    instruments = (
        [{"instrument_id": "ESZ9.CME", "start_price": "6000.00", "max_qty": 100}]
        if venue == "cme"
        else [
            {"instrument_id": "DI1F30.B3", "start_price": "12.500", "max_qty": 1000},
            {"instrument_id": "WINZ9.B3", "start_price": "160000", "max_qty": 50},
        ]
    )
    values: dict[str, Any] = {
        "sessions": [{"comp_id": "MF01", "username": "mf", "password": PASSWORD}],
        "instruments": instruments,
        "reference": {"source": "static"},
        "state_dir": tmp_path / "sim",
    }
    values.update(overrides)
    return default_config(venue, **values)  # type: ignore[arg-type]


class Client:
    """Our initiator, logged on to the sim, with helpers to send and await messages."""

    def __init__(self, tmp_path: Path, port: int, target: str, password: str = PASSWORD) -> None:
        self.app = FixEventQueue()
        config = FixSessionConfig(
            sender_comp_id="MF01",
            target_comp_id=target,
            port=port,
            username="mf",
            password=password,
            store={"path": str(tmp_path / "client")},
            log_dir=None,
            reconnect_min_secs=0.1,
            reconnect_max_secs=0.2,
        )
        self.initiator = FixInitiator(config, self.app)
        self.session: FixSession | None = None
        self.received: list[FixMessage] = []

    async def start(self) -> Client:
        self.session = await self.initiator.start()
        await self.session.wait_logged_on(timeout=10)
        return self

    def send(self, message: FixMessage) -> None:
        assert self.session is not None
        self.session.send(message)

    async def next(self, msg_type: str, timeout: float = 5.0) -> FixMessage:
        """The next application message of ``msg_type`` (others are kept in ``received``)."""
        while True:
            event = await asyncio.wait_for(self.app.queue.get(), timeout)
            if event.kind in ("message", "reject") and event.message is not None:
                self.received.append(event.message)
                if event.message.msg_type == msg_type:
                    return event.message

    async def reports(self, count: int) -> list[FixMessage]:
        return [await self.next("8") for _ in range(count)]


def order(
    cl: str,
    qty: int | str,
    ord_type: str = "1",
    price: str | None = None,
    side: str = "1",
    symbol: str = "ESZ9",
    tif: str = "0",
    stop: str | None = None,
) -> FixMessage:
    message = FixMessage("D").append(11, cl).append(55, symbol).append(54, side)
    message.append(60, "20260101-00:00:00.000").append(38, str(qty)).append(40, ord_type)
    message.append(44, price).append(99, stop).append(59, tif)
    return message


def run(tmp_path: Path, scenario: Callable[[ExchangeSimServer, Client], Awaitable[None]], **cfg: Any) -> None:
    venue = cfg.pop("venue", "cme")

    async def main() -> None:
        server = ExchangeSimServer(sim_config(tmp_path, venue, **cfg))
        await server.start()
        client = await Client(tmp_path, server.port, server.config.comp_id).start()
        try:
            await scenario(server, client)
        finally:
            await client.initiator.stop("done")
            await server.stop()

    asyncio.run(main())


def tags(message: FixMessage, *numbers: int) -> tuple[str | None, ...]:
    return tuple(message.get(n) for n in numbers)


def test_bad_password_is_refused_with_a_logout(tmp_path: Path) -> None:
    async def main() -> None:
        server = ExchangeSimServer(sim_config(tmp_path))
        await server.start()
        client = Client(tmp_path, server.port, "CME", password="wrong")
        session = await client.initiator.start()
        try:
            event = await asyncio.wait_for(client.app.queue.get(), 5)
            assert event.kind == "logout"
            assert "invalid username or password" in event.text
            assert not session.is_logged_on
            assert server.stats().sessions_logged_on == 0
        finally:
            await client.initiator.stop()
            await server.stop()

    asyncio.run(main())


def test_market_order_is_accepted_and_filled_at_the_reference_ask(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("M1", 3))
        new, fill = await client.reports(2)
        assert tags(new, 150, 39, 11, 151, 14) == ("0", "0", "M1", "3", "0")
        assert tags(fill, 150, 39, 32, 31, 14, 151, 6) == ("F", "2", "3", "6000.25", "3", "0", "6000.25")
        assert fill.get(37) == new.get(37)

    run(tmp_path, scenario)


def test_sell_market_order_fills_at_the_bid(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("S1", 2, side="2"))
        _, fill = await client.reports(2)
        assert tags(fill, 54, 31, 39) == ("2", "6000.00", "2")

    run(tmp_path, scenario)


def test_limit_order_rests_then_fills_at_its_limit_when_the_price_crosses(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("L1", 4, "2", "5995.00"))
        new = await client.next("8")
        assert tags(new, 150, 39, 151) == ("0", "0", "4")
        server.set_reference("ESZ9.CME", Decimal("5996.00"), Decimal("5996.25"))  # not crossed yet
        server.set_reference("ESZ9.CME", Decimal("5994.50"), Decimal("5994.75"))  # ask below the limit
        fill = await client.next("8")
        assert tags(fill, 150, 39, 32, 31, 14, 6) == ("F", "2", "4", "5995.00", "4", "5995")
        assert [m.get(150) for m in client.received] == ["0", "F"]

    run(tmp_path, scenario)


def test_marketable_limit_fills_on_arrival_at_the_touch(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("L2", 1, "2", "6001.00"))
        _, fill = await client.reports(2)
        assert tags(fill, 31, 39) == ("6000.25", "2")

    run(tmp_path, scenario)


def test_sell_stop_triggers_when_the_bid_falls_to_it(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("ST1", 2, "3", side="2", stop="5990.00"))
        assert (await client.next("8")).get(150) == "0"
        server.set_reference("ESZ9.CME", Decimal("5989.75"), Decimal("5990.00"))
        fill = await client.next("8")
        assert tags(fill, 150, 39, 31, 99) == ("F", "2", "5989.75", "5990.00")

    run(tmp_path, scenario)


def test_cancel_replace_status_and_unknown_order(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("A1", 5, "2", "5990.00"))
        new = await client.next("8")
        order_id = new.get(37)
        # status of a working order
        client.send(FixMessage("H").append(11, "A1").append(790, "Q1").append(55, "ESZ9").append(54, "1"))
        status = await client.next("8")
        assert tags(status, 150, 39, 790, 37, 151, 44) == ("I", "0", "Q1", order_id, "5", "5990.00")
        # replace: new quantity and price, still resting
        replace = FixMessage("G").append(41, "A1").append(37, order_id).append(11, "A2").append(55, "ESZ9")
        replace.append(54, "1").append(38, "7").append(40, "2").append(44, "5991.00").append(59, "1")
        client.send(replace)
        replaced = await client.next("8")
        assert tags(replaced, 150, 39, 11, 41, 38, 44, 151, 59) == (
            "5",
            "0",
            "A2",
            "A1",
            "7",
            "5991.00",
            "7",
            "1",
        )
        # cancel by the new ClOrdID
        client.send(FixMessage("F").append(41, "A2").append(11, "A3").append(55, "ESZ9").append(54, "1"))
        canceled = await client.next("8")
        assert tags(canceled, 150, 39, 11, 41, 151, 37) == ("4", "4", "A3", "A2", "0", order_id)
        # cancel again: too late; an unknown order: unknown
        client.send(FixMessage("F").append(41, "A3").append(11, "A4").append(55, "ESZ9").append(54, "1"))
        too_late = await client.next("9")
        assert tags(too_late, 434, 102, 39, 37) == ("1", "0", "4", order_id)
        assert "already canceled" in (too_late.get(58) or "")
        client.send(FixMessage("F").append(41, "NOPE").append(11, "A5").append(55, "ESZ9").append(54, "1"))
        unknown = await client.next("9")
        assert tags(unknown, 434, 102, 37) == ("1", "1", "NONE")
        # status after the cancel, by any of the order's ClOrdIDs
        client.send(FixMessage("H").append(11, "A1").append(55, "ESZ9").append(54, "1"))
        assert tags(await client.next("8"), 150, 39, 11) == ("I", "4", "A3")

    run(tmp_path, scenario)


def test_replace_to_a_marketable_price_fills(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("R1", 2, "2", "5990.00"))
        await client.next("8")
        replace = FixMessage("G").append(41, "R1").append(11, "R2").append(55, "ESZ9").append(54, "1")
        replace.append(38, "2").append(40, "2").append(44, "6000.25").append(59, "0")
        client.send(replace)
        replaced, fill = await client.reports(2)
        assert replaced.get(150) == "5"
        assert tags(fill, 150, 39, 11, 31, 14) == ("F", "2", "R2", "6000.25", "2")

    run(tmp_path, scenario)


def test_mass_cancel_answers_35r_then_cancels_each_working_order(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        for cl, price in (("W1", "5990.00"), ("W2", "5980.00")):
            client.send(order(cl, 1, "2", price))
            await client.next("8")
        client.send(order("W3", 1))  # filled: not affected
        await client.reports(2)
        client.send(FixMessage("q").append(11, "MC1").append(530, "7").append(60, "20260101-00:00:00"))
        report = await client.next("r")
        assert tags(report, 11, 530, 531, 533) == ("MC1", "7", "7", "2")
        canceled = await client.reports(2)
        assert {m.get(11) for m in canceled} == {"W1", "W2"}
        assert all(tags(m, 150, 39, 151) == ("4", "4", "0") for m in canceled)
        assert server.stats().working == 0

    run(tmp_path, scenario)


def test_invalid_orders_are_rejected_with_a_reason(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        cases = [
            (order("X1", 1, "2", "6000.10"), "99", "not on the 0.25 tick of ESZ9"),
            (order("X2", 1, symbol="NQZ9"), "1", "unknown symbol 55=NQZ9"),
            (order("X3", 101), "13", "exceeds the maximum 100 for ESZ9"),
            (order("X4", "1.5"), "13", "not a positive whole number"),
            (order("X5", 1, "2"), "99", "needs tag 44"),
            (order("X6", 1, tif="1"), "11", "MARKET order cannot be GTC"),
        ]
        for message, reason, text in cases:
            client.send(message)
            report = await client.next("8")
            assert tags(report, 150, 39, 103, 11) == ("8", "8", reason, message.get(11))
            assert text in (report.get(58) or ""), report.get(58)
        client.send(order("X1", 1))  # the ClOrdID of a rejected order may be reused
        assert [m.get(150) for m in await client.reports(2)] == ["0", "F"]
        client.send(order("X1", 1))
        assert tags(await client.next("8"), 150, 103) == ("8", "6")

    run(tmp_path, scenario)


def test_malformed_message_gets_a_business_reject(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(FixMessage("D").append(11, "B1").append(55, "ESZ9").append(54, "1").append(40, "1"))
        reject = await client.next("j")
        assert tags(reject, 372, 379, 380) == ("D", "B1", "5")
        assert "tag 38" in (reject.get(58) or "")
        client.send(FixMessage("D").append(11, "B2").append(55, "ESZ9").append(54, "7").append(38, "1"))
        assert "tag 54" in ((await client.next("j")).get(58) or "")
        client.send(FixMessage("AE").append(571, "x"))
        assert (await client.next("j")).get(380) == "3"

    run(tmp_path, scenario)


def test_partial_fills_when_configured_and_unique_exec_ids(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("P1", 5))
        reports = await client.reports(4)
        fills = reports[1:]
        assert [tags(m, 32, 14, 151, 39) for m in fills] == [
            ("2", "2", "3", "1"),
            ("2", "4", "1", "1"),
            ("1", "5", "0", "2"),
        ]
        client.send(order("P2", 3, "2", "5999.00"))
        await client.next("8")
        server.set_reference("ESZ9.CME", Decimal("5998.50"), Decimal("5998.75"))  # one chunk per quote
        first = await client.next("8")
        assert tags(first, 32, 14, 39) == ("2", "2", "1")
        server.set_reference("ESZ9.CME", Decimal("5998.25"), Decimal("5998.50"))
        second = await client.next("8")
        assert tags(second, 32, 14, 39, 6) == ("1", "3", "2", "5999")
        exec_ids = [m.get(17) for m in client.received if m.msg_type == "8"]
        assert len(exec_ids) == len(set(exec_ids)) == 7

    run(tmp_path, scenario, partial_fill_qty=2)


def test_ioc_limit_remainder_is_canceled(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("I1", 2, "2", "5990.00", tif="3"))
        new, canceled = await client.reports(2)
        assert new.get(150) == "0"
        assert tags(canceled, 150, 39, 14) == ("4", "4", "0")
        assert "IOC" in (canceled.get(58) or "")

    run(tmp_path, scenario)


def test_almgren_chriss_prices_larger_orders_worse(tmp_path: Path) -> None:
    impact = {"ES": {"sigma": 30.0, "eta": 0.002, "gamma": 0.0, "epsilon": 0.125}}

    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        client.send(order("AC1", 1))
        small = (await client.reports(2))[1]
        client.send(order("AC2", 80))
        large = (await client.reports(2))[1]
        small_px, large_px = Decimal(small.require(31)), Decimal(large.require(31))
        assert small_px >= Decimal("6000.25")  # mid 6000.125 + half spread, rounded adversely
        assert large_px > small_px
        assert large_px % Decimal("0.25") == 0

    run(tmp_path, scenario, fill_model={"kind": "almgren_chriss", "impact": impact})


def test_di1_orders_are_quoted_and_filled_in_rate(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        # A Nautilus BUY of PU 60,000.00 becomes a rate SELL at a rate on the DI1F30 tick.
        convention = DI1PriceConvention(di1_maturity(2030, 1))
        now = server.venue._clock()
        rate = convention.price_to_wire(Decimal("60000.00"), OrderSide.BUY, now)
        wire_side = "2" if convention.side_to_wire(OrderSide.BUY) == OrderSide.SELL else "1"
        assert wire_side == "2"
        client.send(order("D1", 10, "2", str(rate), side=wire_side, symbol="DI1F30"))
        assert (await client.next("8")).get(150) == "0"
        # a resting rate SELL fills when the bid rate reaches it
        tick = server.venue.instruments["DI1F30.B3"].tick(now)
        server.set_reference("DI1F30.B3", rate, rate + tick)
        fill = await client.next("8")
        assert tags(fill, 150, 39, 31, 54) == ("F", "2", str(rate), "2")
        pu = convention.price_from_wire(Decimal(fill.require(31)), now)
        assert pu <= Decimal("60000.00")  # a PU buyer never pays more than asked
        # an off-tick rate is refused, naming the rate tick
        off = rate + tick / 2
        client.send(order("D2", 1, "2", str(off), symbol="DI1F30"))
        rejected = await client.next("8")
        assert rejected.get(150) == "8" and "tick of DI1F30" in (rejected.get(58) or "")
        assert date.today().year < 2030

    run(tmp_path, scenario, venue="b3")


def test_sequence_numbers_and_working_orders_survive_a_sim_restart(tmp_path: Path) -> None:
    async def main() -> None:
        config = sim_config(tmp_path)
        server = ExchangeSimServer(config)
        await server.start()
        client = await Client(tmp_path, server.port, "CME").start()
        client.send(order("K1", 2, "2", "5990.00"))
        order_id = (await client.next("8")).get(37)
        port = server.port
        sim_session = server._acceptor.session("CME", "MF01")
        next_out = sim_session.next_sender_seq
        await server.stop()
        await asyncio.sleep(0.3)
        server = ExchangeSimServer(config, port=port)  # a new process would load the same files
        await server.start()
        try:
            assert client.session is not None
            await client.session.wait_logged_on(timeout=10)
            restarted = server._acceptor.session("CME", "MF01")
            assert restarted.next_sender_seq >= next_out  # no reset: the sequence continued
            client.send(FixMessage("H").append(11, "K1").append(55, "ESZ9").append(54, "1"))
            status = await client.next("8")
            assert tags(status, 150, 39, 37, 151) == ("I", "0", order_id, "2")
            server.set_reference("ESZ9.CME", Decimal("5989.75"), Decimal("5990.00"))
            fill = await client.next("8")
            assert tags(fill, 150, 11, 39) == ("F", "K1", "2")
        finally:
            await client.initiator.stop()
            await server.stop()

    asyncio.run(main())


def test_gtd_order_expires_over_the_wire(tmp_path: Path) -> None:
    async def scenario(server: ExchangeSimServer, client: Client) -> None:
        expire = format_utc_timestamp(time.time_ns() + 300_000_000)
        client.send(order("G1", 1, "2", "5990.00", tif="6").append(126, expire))
        assert (await client.next("8")).get(150) == "0"
        expired = await client.next("8")
        assert tags(expired, 150, 39, 11, 151) == ("C", "C", "G1", "0")

    run(tmp_path, scenario)
