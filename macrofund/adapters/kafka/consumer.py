"""The Kafka consumer thread behind ``KafkaDataClient``: poll, decode, de-duplicate, hand over, commit.

Threading: confluent-kafka's ``consume`` blocks, so it runs in its own thread. Decoded batches go into a
bounded ``queue.Queue`` (a slow node back-pressures the consumer instead of growing memory) and the event
loop is woken with ``loop.call_soon_threadsafe``; the loop delivers each batch, then records the batch's
offsets as *processed*. Only processed offsets are stored for commit (``enable.auto.offset.store=false``),
so a crash re-delivers at most what the strategy had not seen yet: at-least-once from Kafka.

Exactly-once into the strategy: every message carries (stream, seq); ``Deduplicator`` drops one whose seq is
not above the last delivered for its (stream, key, kind). Offsets alone would not do: a memory broker that
restarts (tansu) or a re-created topic starts its offsets again at 0, and a producer that re-sends after
its own restart writes the same data at new offsets. The sequence catches all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, TopicPartition
from nautilus_trader.model.identifiers import InstrumentId

from macrofund.adapters.kafka.codec import CodecError, Decoded, decode
from macrofund.adapters.kafka.producer import LIBRDKAFKA_LOG

_MALFORMED_LOG_FIRST = 100  # log every malformed message up to this count, then every 1000th


class Deduplicator:
    """Last delivered sequence per (stream, key, kind); lives as long as the data client, across consumers.

    Used on the event loop only (at delivery), so it needs no lock.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[int, bytes, int], int] = {}
        self.duplicates = 0

    def accept(self, key: bytes, decoded: Decoded) -> bool:
        """Whether ``decoded`` is new (and remember it); duplicates are counted."""
        _, kind, stream, seq = decoded
        ident = (stream, key, kind)
        if seq <= self._last.get(ident, 0):
            self.duplicates += 1
            return False
        self._last[ident] = seq
        return True


@dataclass
class ConsumerCounters:
    """What the consumer has seen since it started (read from any thread; ints are updated atomically)."""

    messages: int = 0
    delivered: int = 0
    malformed: int = 0
    offset_resets: int = 0
    connected: bool = False
    assigned: int = 0
    assignments: int = 0  # group (re)assignments so far: one per join, more after rebalances/restarts
    processed: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to commit


@dataclass(frozen=True)
class ConsumerSettings:
    """What the consumer thread needs (built by ``KafkaDataClient`` from its config)."""

    bootstrap_servers: str
    group_id: str
    topics: tuple[str, ...]
    keys: dict[bytes, InstrumentId]
    start: str = "latest"
    session_timeout_ms: int = 6000
    fetch_wait_max_ms: int = 10
    queue_batches: int = 64
    batch_size: int = 2000
    overrides: tuple[tuple[str, str], ...] = ()

    def librdkafka(self) -> dict[str, Any]:
        """The consumer's librdkafka configuration."""
        reset = self.start if self.start in ("latest", "earliest") else "earliest"
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": self.group_id,
            "auto.offset.reset": reset,
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,  # we store offsets only once the node processed them
            "auto.commit.interval.ms": 1000,
            "session.timeout.ms": self.session_timeout_ms,
            "fetch.wait.max.ms": self.fetch_wait_max_ms,
            "reconnect.backoff.ms": 100,
            "reconnect.backoff.max.ms": 2000,
        }
        config.update(dict(self.overrides))
        return config


class MarketDataConsumer:
    """One consumer thread. ``deliver`` runs on ``loop`` with a list of Nautilus objects, in offset order."""

    def __init__(
        self,
        settings: ConsumerSettings,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[Any]], None],
        now_ns: Callable[[], int],
        log: Callable[[str], None],
        dedup: Deduplicator | None = None,
    ) -> None:
        self.settings = settings
        self.counters = ConsumerCounters()
        self.dedup = dedup or Deduplicator()
        self._loop = loop
        self._deliver = deliver
        self._now_ns = now_ns
        self._log_on_loop = log
        self._queue: queue.Queue[tuple[list[Any], dict[tuple[str, int], int]]] = queue.Queue(
            settings.queue_batches
        )
        self._drain_scheduled = threading.Event()
        self._stop = threading.Event()
        self._commit_on_stop = True
        self._thread: threading.Thread | None = None
        self._consumer: Consumer | None = None
        self._lag = 0
        self._missing_topics: set[str] = set()

    # -- lifecycle (loop side) -------------------------------------------------------------------------

    def start(self) -> None:
        """Create the consumer and start its thread (raises ``KafkaException`` on a bad configuration)."""
        self._consumer = Consumer(self.settings.librdkafka(), logger=LIBRDKAFKA_LOG)
        self._consumer.subscribe(
            list(self.settings.topics), on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        self._thread = threading.Thread(target=self._run, name="macrofund-kafka-consumer", daemon=True)
        self._thread.start()

    def stop(self, commit: bool = True, timeout: float = 10.0) -> None:
        """Stop the thread and close the consumer; commits processed offsets unless ``commit`` is False."""
        self._commit_on_stop = commit
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def lag(self) -> int:
        """Messages on the assigned partitions not yet processed by the node (as of the last poll)."""
        return self._lag

    # -- consumer thread -------------------------------------------------------------------------------

    def _log(self, message: str) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._log_on_loop, message)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.counters.assigned = len(partitions)
        self.counters.assignments += 1
        start = self.settings.start
        if start in ("latest", "earliest"):
            return
        ts_ms = int(datetime.fromisoformat(start).timestamp() * 1000)
        for tp in partitions:
            tp.offset = ts_ms
        try:
            consumer.assign(consumer.offsets_for_times(partitions, timeout=10))
        except KafkaException as exc:
            self._log(f"cannot seek to {start}: {exc}; starting at the committed offset or the earliest")

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.counters.assigned = 0
        self._store_processed(consumer)

    def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        last_lag = 0.0
        try:
            while not self._stop.is_set():
                # Block for the first message only, then take what is already fetched: ``consume(n, t)``
                # alone would wait the full timeout for n messages and add up to t of latency at low rates.
                first = consumer.poll(0.05)
                if first is not None:
                    messages = [first]
                    if self.settings.batch_size > 1:
                        messages += consumer.consume(self.settings.batch_size - 1, 0)
                    self._handle(messages)
                now = time.monotonic()
                if now - last_lag >= 0.25:
                    last_lag = now
                    self._store_processed(consumer)
                    self._update_lag(consumer)
        except Exception as exc:  # never let the thread die silently
            self._log(f"Kafka consumer thread stopped on an error: {exc!r}")
        finally:
            if self._commit_on_stop:
                self._wait_for_queue(2.0)
                self._store_processed(consumer)
                # Nothing stored, or the broker is down: the next consumer re-reads and dedup drops it.
                with contextlib.suppress(KafkaException):
                    consumer.commit(asynchronous=False)
            consumer.close()

    def _handle(self, messages: list[Any]) -> None:
        # Runs once per message on a thread that shares the GIL with the node: keep the loop lean. The
        # batch was fetched at one moment, so its messages share one ts_init.
        counters = self.counters
        keys = self.settings.keys
        ts_init = self._now_ns()
        out: list[Any] = []
        append = out.append
        offsets: dict[tuple[str, int], int] = {}
        received = 0
        for msg in messages:
            error = msg.error()
            if error is not None:
                self._handle_error(msg, error)
                continue
            received += 1
            offset = msg.offset()
            offsets[(msg.topic(), msg.partition())] = offset + 1
            key = msg.key()
            instrument_id = keys.get(key) if key is not None else None
            if instrument_id is None:
                self._malformed(
                    msg.topic(), msg.partition(), offset, f"key {key!r} is not a configured instrument"
                )
                continue
            try:
                append((key, decode(instrument_id, msg.value() or b"", ts_init)))
            except CodecError as exc:
                self._malformed(msg.topic(), msg.partition(), offset, str(exc))
        if received:
            counters.connected = True
            counters.messages += received
        if offsets:
            self._hand_over(out, offsets)

    def _handle_error(self, msg: Any, error: KafkaError) -> None:
        code = error.code()
        if code == KafkaError.UNKNOWN_TOPIC_OR_PART:
            topic = msg.topic() or "?"
            if topic not in self._missing_topics:
                self._missing_topics.add(topic)
                self._log(f"topic {topic} does not exist (yet): waiting for a producer to create it")
        elif code == KafkaError._AUTO_OFFSET_RESET:
            self.counters.offset_resets += 1
            self._log(f"offset reset on {msg.topic()}[{msg.partition()}]: {error.str()}")
        elif code in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            if self.counters.connected:
                self._log(f"lost the Kafka broker ({error.str()}); reconnecting")
            self.counters.connected = False
        else:
            self._log(f"Kafka consumer error: {error.str()}")

    def _malformed(self, topic: str, partition: int, offset: int, reason: str) -> None:
        self.counters.malformed += 1
        count = self.counters.malformed
        if count <= _MALFORMED_LOG_FIRST or count % 1000 == 0:
            self._log(f"skipped malformed message {topic}[{partition}]@{offset} (#{count}): {reason}")

    def _hand_over(self, out: list[Any], offsets: dict[tuple[str, int], int]) -> None:
        item = (out, offsets)
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                break
            except queue.Full:
                continue
        else:
            return
        if not self._drain_scheduled.is_set():
            self._drain_scheduled.set()
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._drain)

    def _wait_for_queue(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline and self._loop.is_running():
            time.sleep(0.01)

    def _store_processed(self, consumer: Consumer) -> None:
        processed = dict(self.counters.processed)
        if not processed:
            return
        partitions = [TopicPartition(t, p, o) for (t, p), o in processed.items()]
        # A partition no longer assigned to us (rebalance) fails: its new owner resumes from commits.
        with contextlib.suppress(KafkaException):
            consumer.store_offsets(offsets=partitions)

    def _update_lag(self, consumer: Consumer) -> None:
        lag = 0
        try:
            assignment = consumer.assignment()
        except KafkaException:
            return
        processed = self.counters.processed
        for tp in assignment:
            try:
                low, high = consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            if high < 0:
                continue
            position = processed.get((tp.topic, tp.partition))
            if position is None:
                position = low if low >= 0 and low != OFFSET_INVALID else high
            lag += max(0, high - position)
        self._lag = lag

    # -- loop side -------------------------------------------------------------------------------------

    def _drain(self) -> None:
        self._drain_scheduled.clear()  # a batch queued after this line schedules another drain
        processed = self.counters.processed
        for _ in range(8):  # bounded work per call: other loop tasks (orders!) interleave
            try:
                out, offsets = self._queue.get_nowait()
            except queue.Empty:
                return
            # De-duplicate here, at delivery, not in the thread: a batch decoded but never delivered (the
            # node stopped) must not count as seen, or its re-read after a restart would be dropped.
            accept = self.dedup.accept
            data = [decoded[0] for key, decoded in out if accept(key, decoded)]
            if data:
                self._deliver(data)
                self.counters.delivered += len(data)
            processed.update(offsets)
        if not self._drain_scheduled.is_set():
            self._drain_scheduled.set()
            self._loop.call_soon(self._drain)
