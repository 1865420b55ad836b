"""Publishing market data to Kafka: idempotent, acks=all, keyed by instrument, codec v1 (see ``codec.py``).

``enable.idempotence`` makes the broker drop the producer's own retries (no duplicates, per-partition
order kept) and implies ``acks=all``: a message counts as sent only once every in-sync replica has it. The
key is the instrument id, so one instrument's data stays in order on one partition. Each producer session
draws a random ``stream`` id and numbers its messages per (instrument, kind) from 1, which consumers use
to de-duplicate re-sends that Kafka itself cannot recognise (a restarted producer, a restarted broker).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from nautilus_trader.model.data import Bar, QuoteTick, TradeTick

from macrofund.adapters.kafka.codec import encode_bar, encode_quote, encode_quote_mantissas, encode_trade
from macrofund.adapters.kafka.topics import Kind, topic_for

#: librdkafka's own log lines (connection refused every 50 ms while a broker is down...) go to this Python
#: logger instead of stderr; errors that matter also reach us as error events and delivery reports.
LIBRDKAFKA_LOG = logging.getLogger("macrofund.kafka.librdkafka")
LIBRDKAFKA_LOG.addHandler(logging.NullHandler())


def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], partitions: int = 1, timeout: float = 10.0
) -> None:
    """Create ``topics`` with ``partitions`` partitions where they do not exist yet."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers}, logger=LIBRDKAFKA_LOG)
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics],
        request_timeout=timeout,
    )
    for topic, future in futures.items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise KafkaException(f"cannot create topic {topic}: {exc}") from exc


class MarketDataProducer:
    """Sends quotes/trades/bars to their topics; counts deliveries and failures from the broker's acks."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic_prefix: str = "md",
        stream: int | None = None,
        linger_ms: int = 5,
        overrides: dict[str, Any] | None = None,
        sequences: dict[tuple[str, str], int] | None = None,
    ) -> None:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": linger_ms,
            "queue.buffering.max.messages": 500_000,
        }
        config.update(overrides or {})
        self._producer = Producer(config, logger=LIBRDKAFKA_LOG)
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.stream = stream if stream is not None else secrets.randbits(32)
        # A producer that restarts and must resume a stream passes its ``stream`` and last ``sequences``.
        self._seq: dict[tuple[str, str], int] = dict(sequences or {})
        self._topics: dict[tuple[str, str], str] = {}
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self.last_error: str | None = None

    @property
    def sequences(self) -> dict[tuple[str, str], int]:
        """Last sequence number sent per (instrument id, kind)."""
        return dict(self._seq)

    def _next(self, instrument_id: str, kind: Kind) -> tuple[str, int]:
        ident = (instrument_id, kind)
        seq = self._seq.get(ident, 0) + 1
        self._seq[ident] = seq
        topic = self._topics.get(ident)
        if topic is None:
            topic = self._topics[ident] = topic_for(instrument_id, kind, self.topic_prefix)
        return topic, seq

    def _on_delivery(self, error: KafkaError | None, _msg: Any) -> None:
        if error is None:
            self.delivered += 1
        else:
            self.failed += 1
            self.last_error = error.str()

    def send(self, topic: str, key: str, value: bytes) -> None:
        """Queue one raw message (waits for room when librdkafka's local queue is full)."""
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
                break
            except BufferError:
                self._producer.poll(0.05)
        self.sent += 1

    def quote_mantissas(
        self,
        instrument_id: str,
        ts_event: int,
        bid: int,
        ask: int,
        bid_size: int,
        ask_size: int,
        price_precision: int,
        size_precision: int = 0,
    ) -> int:
        """Send a quote given as integer mantissas; returns its sequence number."""
        topic, seq = self._next(instrument_id, "quotes")
        value = encode_quote_mantissas(
            self.stream, seq, ts_event, bid, ask, bid_size, ask_size, price_precision, size_precision
        )
        self.send(topic, instrument_id, value)
        return seq

    def quote(self, quote: QuoteTick) -> int:
        """Send a Nautilus quote; returns its sequence number."""
        instrument_id = str(quote.instrument_id)
        topic, seq = self._next(instrument_id, "quotes")
        self.send(topic, instrument_id, encode_quote(quote, self.stream, seq))
        return seq

    def trade(self, trade: TradeTick) -> int:
        """Send a Nautilus trade; returns its sequence number."""
        instrument_id = str(trade.instrument_id)
        topic, seq = self._next(instrument_id, "trades")
        self.send(topic, instrument_id, encode_trade(trade, self.stream, seq))
        return seq

    def bar(self, bar: Bar) -> int:
        """Send a Nautilus bar; returns its sequence number."""
        instrument_id = str(bar.bar_type.instrument_id)
        topic, seq = self._next(instrument_id, "bars")
        self.send(topic, instrument_id, encode_bar(bar, self.stream, seq))
        return seq

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery callbacks (call regularly)."""
        self._producer.poll(timeout)

    def flush(self, timeout: float = 10.0) -> int:
        """Wait for outstanding messages; returns how many are still not acknowledged."""
        return int(self._producer.flush(timeout))

    def purge(self) -> None:
        """Drop everything not yet sent (for a prompt Ctrl-C)."""
        self._producer.purge()
