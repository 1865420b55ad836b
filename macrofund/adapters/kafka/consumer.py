"""The Kafka consumer behind ``KafkaDataClient``: poll, decode, de-duplicate, deliver, commit.

Threading: a consumer thread waits in confluent-kafka's blocking ``poll`` (the GIL released) for the first
message of a burst and hands it to the event loop with ``loop.call_soon_threadsafe``. The loop then takes
that message and everything already fetched, up to ``batch_size``, decodes, de-duplicates and delivers it,
and once the node has settled that batch takes the next, while full batches keep coming (order handling
runs in between); then the thread waits again. Only one thread runs Python on the data path at a time:
with the thread decoding while the loop delivered, the two fought over the GIL and the node took ~30%
fewer quotes per second. What the loop has not taken stays in librdkafka's fetch queue, which is bounded
(``queued.max.messages.kbytes``) and stops fetching when full.

Commit after processing: a batch's offsets count as *processed* once the receiver says the strategies have
seen all of it (``deliver``'s ``settled`` callback; up to the last datum they saw when the node stopped in
the middle of it), and only processed offsets are stored for commit (``enable.auto.offset.store=false``),
so nothing the strategies had not seen is skipped after a restart: at-least-once from Kafka (a crash
re-reads what was delivered since the last commit; a clean stop commits exactly what was delivered). The
next batch is taken only then, too, so a node that falls behind leaves the data in librdkafka's bounded
fetch queue instead of its own memory.

Exactly-once into the strategy: every message carries (stream, seq); ``Deduplicator`` drops one whose seq is
not above the last delivered for its (stream, key, kind). Offsets alone would not do: a memory broker that
restarts (tansu) or a re-created topic starts its offsets again at 0, and a producer that re-sends after
its own restart writes the same data at new offsets. The sequence catches all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, TopicPartition
from nautilus_trader.model.identifiers import InstrumentId

from macrofund.adapters.kafka.codec import CodecError, decode
from macrofund.adapters.kafka.producer import LIBRDKAFKA_LOG

_MALFORMED_LOG_FIRST = 100  # log every malformed message up to this count, then every 1000th


def _next_offsets(messages: list[Any]) -> dict[tuple[str, int], int]:
    """The next offset of each partition after ``messages``."""
    return {(m.topic(), m.partition()): m.offset() + 1 for m in messages if m.error() is None}


class Deduplicator:
    """Last delivered sequence per (stream, key, kind); lives as long as the data client, across consumers.

    A message is new when its ``seq`` is above ``last`` of its (stream, key, kind); the consumer applies
    that rule at delivery (``MarketDataConsumer._handle``), on the event loop only, so it needs no lock.
    """

    def __init__(self) -> None:
        self.last: dict[tuple[int, bytes, int], int] = {}
        self.duplicates = 0


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
    """One consumer (a waiting thread and the loop's turns).

    ``deliver(batch, settled)`` runs on ``loop`` with a list of Nautilus objects, in offset order; it must
    call ``settled(n)`` (on the loop) once the strategies have seen the whole batch (``n = len(batch)``),
    or, stopping in the middle of it, the first ``n``; nothing more is taken until it does.
    """

    def __init__(
        self,
        settings: ConsumerSettings,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[Any], Callable[[int], None]], None],
        now_ns: Callable[[], int],
        log: Callable[[str], None],
        dedup: Deduplicator | None = None,
        alert: Callable[[str], None] | None = None,
    ) -> None:
        """``alert`` (default ``log``) gets what stops market data from flowing: the broker unreachable
        or lost; ``log`` everything else (missing topics, offset resets, malformed messages)."""
        self.settings = settings
        self.counters = ConsumerCounters()
        self.dedup = dedup or Deduplicator()
        self._loop = loop
        self._deliver = deliver
        self._now_ns = now_ns
        self._log_on_loop = log
        self._alert_on_loop = alert or log
        self._broker_down = False  # told the user the broker is unreachable; cleared by the next message
        self._turn_done = threading.Event()  # set: the thread may poll; clear: the loop is consuming
        self._turn_done.set()
        self._closing = threading.Lock()  # the loop never consumes from a closed consumer
        self._closed = False
        self._stop = threading.Event()
        self._commit_on_stop = True
        self._thread: threading.Thread | None = None
        self._consumer: Consumer | None = None
        self._lag = 0
        self._missing_topics: set[str] = set()
        self._start_offsets: dict[tuple[str, int], int] = {}  # for start = a time (see _on_assign)

    # -- lifecycle (loop side) -------------------------------------------------------------------------

    def start(self) -> None:
        """Create the consumer and start its thread (raises ``KafkaException`` on a bad configuration)."""
        # librdkafka reports an unreachable or lost broker only to ``error_cb`` (called from poll, on
        # the consumer's thread), never as a polled message.
        config = {**self.settings.librdkafka(), "error_cb": self._on_client_error}
        self._consumer = Consumer(config, logger=LIBRDKAFKA_LOG)
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

    def _alert(self, message: str) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._alert_on_loop, message)

    def _on_client_error(self, error: KafkaError) -> None:
        """librdkafka's global errors: tell the user once per outage that no market data can come."""
        if error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE):
            if not self._broker_down:
                self._broker_down = True
                what = "lost the Kafka broker" if self.counters.connected else "cannot reach the Kafka broker"
                self._alert(
                    f"{what} at {self.settings.bootstrap_servers} ({error.str()}): no market data until "
                    "it answers; retrying"
                )
            self.counters.connected = False
        else:
            self._log(f"Kafka client error: {error.str()}")

    def _offsets_at_start_time(self, consumer: Consumer) -> None:
        """For ``start`` = a time: each existing partition's offset at that time, asked once by the thread
        before its first poll. The assignment callback only applies them: it can run inside the loop's
        ``consume`` (a rebalance in a burst), where a broker round trip would stall the node."""
        start = self.settings.start
        if start in ("latest", "earliest"):
            return
        ts_ms = int(datetime.fromisoformat(start).timestamp() * 1000)
        try:
            topics = consumer.list_topics(timeout=10).topics
            partitions = [
                TopicPartition(topic, partition, ts_ms)
                for topic in self.settings.topics
                if topic in topics
                for partition in topics[topic].partitions
            ]
            found = consumer.offsets_for_times(partitions, timeout=10) if partitions else []
        except KafkaException as exc:
            self._log(f"cannot seek to {start}: {exc}; starting at the committed offset or the earliest")
            return
        # An offset of -1 (OFFSET_END): nothing at or after that time yet, so start at the end.
        self._start_offsets = {(tp.topic, tp.partition): tp.offset for tp in found}

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.counters.assigned = len(partitions)
        self.counters.assignments += 1
        if not self._start_offsets:
            return
        # A partition created since the start (not looked up) resumes at the committed offset or the earliest.
        for tp in partitions:
            offset = self._start_offsets.get((tp.topic, tp.partition))
            if offset is not None:
                tp.offset = offset
        consumer.assign(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.counters.assigned = 0
        self._store_processed(consumer)

    def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        last_lag = 0.0
        turn_done = self._turn_done
        try:
            self._offsets_at_start_time(consumer)
            while not self._stop.is_set():
                # Wait (GIL released) for the first message only; the loop then takes it and whatever else
                # is fetched, decoding and delivering on its own thread, while this thread waits for its
                # turn to end. One thread at a time runs Python on the data path: no GIL contention.
                if turn_done.is_set():
                    first = consumer.poll(0.05)
                    if first is not None:
                        turn_done.clear()
                        if self._loop.is_closed():
                            break
                        self._loop.call_soon_threadsafe(self._turn, first)
                else:
                    turn_done.wait(0.05)
                now = time.monotonic()
                if now - last_lag >= 0.25:
                    last_lag = now
                    self._store_processed(consumer)
                    self._update_lag(consumer)
        except Exception as exc:  # never let the thread die silently
            self._log(f"Kafka consumer thread stopped on an error: {exc!r}")
        finally:
            if not turn_done.is_set() and self._loop.is_running():
                turn_done.wait(2.0)
            with self._closing:
                self._closed = True
                if self._commit_on_stop:
                    self._store_processed(consumer)
                    # Nothing stored, or the broker is down: the next consumer re-reads and dedup drops it.
                    with contextlib.suppress(KafkaException):
                        consumer.commit(asynchronous=False)
                consumer.close()

    # -- loop side -------------------------------------------------------------------------------------

    def _turn(self, first: Any = None) -> None:
        """Take what is fetched (after ``first``), decode, de-duplicate, deliver; once the batch settled,
        again next iteration while full batches keep coming, else hand waiting back to the thread."""
        size = self.settings.batch_size
        with self._closing:
            if self._closed or self._stop.is_set():
                self._turn_done.set()
                return
            consumer = self._consumer
            assert consumer is not None
            if first is None:
                messages = consumer.consume(size, 0)
            else:
                messages = [first]
                if size > 1:
                    messages += consumer.consume(size - 1, 0)
        more = len(messages) >= size
        out, sources = self._handle(messages)
        processed = self.counters.processed

        def settled(seen: int) -> None:
            if seen >= len(out):
                processed.update(_next_offsets(messages))
                if more and not self._stop.is_set():
                    self._loop.call_soon(self._turn)  # other loop tasks (orders!) run in between
                    return
            else:  # the node stopped in the middle: processed up to the last datum it handed over
                processed.update(_next_offsets(messages[: sources[seen - 1] + 1 if seen else sources[0]]))
            self._turn_done.set()

        if out:
            self.counters.delivered += len(out)
            self._deliver(out, settled)
        else:
            settled(0)

    def _handle(self, messages: list[Any]) -> tuple[list[Any], list[int]]:
        """The batch's new data, and the index in ``messages`` of each datum's message (the offsets it
        settles are ``_next_offsets`` of the messages up to there)."""
        # Runs once per message: keep the loop lean. The batch was fetched at one moment, so its
        # messages share one ts_init. De-duplication (the ``Deduplicator`` rule) follows runs: a
        # partition's messages come in a row, from one stream, so the last sequence of the current
        # (stream, key, kind) is kept in a local and written back when the run ends.
        counters = self.counters
        keys = self.settings.keys
        ts_init = self._now_ns()
        dedup = self.dedup
        last = dedup.last
        duplicates = 0
        run: tuple[int, bytes, int] | None = None
        run_seq = 0
        out: list[Any] = []
        append = out.append
        sources: list[int] = []
        source = sources.append
        received = 0
        for index, msg in enumerate(messages):
            error = msg.error()
            if error is not None:
                self._handle_error(msg, error)
                continue
            received += 1
            key = msg.key()
            instrument_id = keys.get(key) if key is not None else None
            if instrument_id is None:
                self._malformed(msg, f"key {key!r} is not a configured instrument")
                continue
            try:
                data, kind, stream, seq = decode(instrument_id, msg.value() or b"", ts_init)
            except CodecError as exc:
                self._malformed(msg, str(exc))
                continue
            if run is None or run[0] != stream or run[1] != key or run[2] != kind:
                if run is not None:
                    last[run] = run_seq
                run = (stream, key, kind)
                run_seq = last.get(run, 0)
            if seq > run_seq:
                run_seq = seq
                append(data)
                source(index)
            else:
                duplicates += 1
        if run is not None:
            last[run] = run_seq
        dedup.duplicates += duplicates
        if received:
            if self._broker_down:
                self._broker_down = False
                self._log(f"Kafka broker at {self.settings.bootstrap_servers} answering again")
            counters.connected = True
            counters.messages += received
        return out, sources

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
            self._on_client_error(error)
        else:
            self._log(f"Kafka consumer error: {error.str()}")

    def _malformed(self, msg: Any, reason: str) -> None:
        self.counters.malformed += 1
        count = self.counters.malformed
        if count <= _MALFORMED_LOG_FIRST or count % 1000 == 0:
            where = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
            self._log(f"skipped malformed message {where} (#{count}): {reason}")

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
