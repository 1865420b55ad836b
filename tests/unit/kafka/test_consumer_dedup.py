"""What the consumer makes of one fetched batch: each (stream, instrument, kind)'s messages once, in order,
whatever the batch interleaves; duplicates counted; the next offset of every partition it came from."""

from __future__ import annotations

import asyncio
from typing import Any

from confluent_kafka import Message
from nautilus_trader.model.identifiers import InstrumentId

from macrofund.adapters.kafka.codec import encode_quote_mantissas
from macrofund.adapters.kafka.consumer import (
    ConsumerSettings,
    Deduplicator,
    MarketDataConsumer,
    _next_offsets,
)

ES, NQ = b"ESZ6.CME", b"NQZ6.CME"


def _message(topic: str, offset: int, key: bytes, stream: int, seq: int) -> Message:
    value = encode_quote_mantissas(stream, seq, 1_000 + seq, 100_000 + seq, 100_001 + seq, 1, 1, 2)
    return Message(topic=topic, partition=0, offset=offset, key=key, value=value)


def _consumer(dedup: Deduplicator) -> MarketDataConsumer:
    settings = ConsumerSettings(
        bootstrap_servers="127.0.0.1:1",
        group_id="unit",
        topics=("q.ES", "q.NQ"),
        keys={ES: InstrumentId.from_str(ES.decode()), NQ: InstrumentId.from_str(NQ.decode())},
    )
    loop = asyncio.new_event_loop()
    loop.close()  # never run: _handle is called directly, as the loop's turn would
    return MarketDataConsumer(settings, loop, lambda _b, _s: None, lambda: 7, lambda _m: None, dedup=dedup)


def _seen(delivered: list[Any]) -> list[tuple[str, int]]:
    return [(str(q.instrument_id), q.bid_price.raw // 10**14 - 100_000) for q in delivered]


def test_one_batch_delivers_each_streams_new_messages_once_in_order() -> None:
    dedup = Deduplicator()
    consumer = _consumer(dedup)
    batch = [
        _message("q.ES", 0, ES, stream=1, seq=1),
        _message("q.ES", 1, ES, stream=1, seq=2),
        _message("q.NQ", 0, NQ, stream=1, seq=1),  # same stream, other instrument: its own sequence
        _message("q.ES", 2, ES, stream=1, seq=2),  # re-sent
        _message("q.ES", 3, ES, stream=2, seq=1),  # a restarted producer: a new stream starts at 1
        _message("q.ES", 4, ES, stream=1, seq=1),  # the old stream again, already delivered
        _message("q.ES", 5, ES, stream=1, seq=3),
        _message("q.NQ", 1, NQ, stream=1, seq=2),
    ]
    delivered, sources = consumer._handle(batch)
    assert _seen(delivered) == [
        ("ESZ6.CME", 1),
        ("ESZ6.CME", 2),
        ("NQZ6.CME", 1),
        ("ESZ6.CME", 1),
        ("ESZ6.CME", 3),
        ("NQZ6.CME", 2),
    ]
    assert dedup.duplicates == 2
    assert _next_offsets(batch) == {("q.ES", 0): 6, ("q.NQ", 0): 2}  # what the batch settles
    assert sources == [0, 1, 2, 4, 6, 7]  # the message each datum came from
    assert consumer.counters.messages == 8

    # The next batch (a re-read after a reconnect) remembers what the first delivered.
    again = [_message("q.ES", 6, ES, stream=1, seq=3), _message("q.ES", 7, ES, stream=1, seq=4)]
    delivered, sources = consumer._handle(again)
    assert _seen(delivered) == [("ESZ6.CME", 4)]
    assert dedup.duplicates == 3
    assert _next_offsets(again) == {("q.ES", 0): 8}
    assert sources == [1]
