"""``SettledMarketData`` tells a ``DataBatch`` how much of it reached the strategies: all of it after its
last datum, or the part handed over when the node stops in the middle (a Kafka consumer commits that)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from macrofund.adapters.feed import DataBatch
from macrofund.engine.replay import FeedStats, SettledMarketData


@dataclass(frozen=True)
class Datum:
    ts_event: int


def _node(loop: asyncio.AbstractEventLoop, forwarded: list[Datum]) -> SettledMarketData:
    # Each datum leaves a moment of work behind (as one that causes an order does), so the node
    # yields to the loop between data and can be stopped in the middle of a batch.
    pending = {"work": False}

    def forward(datum: Datum) -> None:
        forwarded.append(datum)
        pending["work"] = True

    def backlog() -> bool:
        busy, pending["work"] = pending["work"], False
        return busy

    return SettledMarketData(loop, forward, backlog, recorder=None)


def test_a_batch_settles_after_its_last_datum_and_a_cut_one_with_what_was_handed_over() -> None:
    loop = asyncio.new_event_loop()
    try:
        forwarded: list[Datum] = []
        node = _node(loop, forwarded)
        settled: list[tuple[str, int, int]] = []  # (batch, what it was told, data forwarded by then)

        def batch(name: str, first_ts: int, length: int) -> DataBatch:
            data = [Datum(k) for k in range(first_ts, first_ts + length)]
            return DataBatch(data, lambda n: settled.append((name, n, len(forwarded))))

        first, second, third = batch("a", 1, 3), batch("b", 4, 10), batch("c", 14, 1)

        async def run() -> None:
            for batch in (first, second, third):
                node.process_batch(batch)
            while len(forwarded) < 6:
                await asyncio.sleep(0)
            await node.close()  # the node stops with the second batch half handed over

        loop.run_until_complete(run())
        cut = len(forwarded) - 3
        assert 0 < cut < 10
        assert settled == [("a", 3, 3), ("b", cut, 3 + cut)]  # the third was never started: no word
        assert node.stats.delivered == len(forwarded)
    finally:
        loop.close()


def test_the_feed_rate_is_what_was_delivered_since_the_last_look_even_above_100k_per_second() -> None:
    stats = FeedStats()
    start = 1_000_000_000_000
    stats.rate(start)  # the console's first look
    stats.delivered += 250_000
    assert stats.rate(start + 1_000_000_000) == 250_000.0
    stats.delivered += 500
    assert stats.rate(start + 1_500_000_000) == 1_000.0  # 500 in half a second
    assert stats.rate(start + 2_500_000_000) == 0.0  # nothing since


def test_a_datum_whose_delivery_raises_stops_delivery_and_counts_as_seen() -> None:
    loop = asyncio.new_event_loop()
    try:
        forwarded: list[Datum] = []
        errors: list[Exception] = []
        settled: list[int] = []

        def forward(datum: Datum) -> None:
            forwarded.append(datum)
            if datum.ts_event == 2:
                raise ValueError("strategy bug")

        node = SettledMarketData(loop, forward, lambda: False, recorder=None)
        node.on_error = errors.append

        async def run() -> None:
            node.process_batch(DataBatch([Datum(k) for k in range(1, 5)], settled.append))
            for _ in range(20):
                await asyncio.sleep(0)
            node.process_batch(DataBatch([Datum(9)], settled.append))  # arrives after the stop
            await node.close()

        loop.run_until_complete(run())
        assert [d.ts_event for d in forwarded] == [1, 2]  # nothing after the datum that raised
        assert [str(e) for e in errors] == ["strategy bug"]  # reported once
        # The failing datum reached the strategies: it counts, so a Kafka restart resumes after it.
        assert node.stats.delivered == 2 and settled == [2]
    finally:
        loop.close()
