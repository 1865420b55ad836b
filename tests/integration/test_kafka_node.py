"""``KafkaDataClient`` inside a real ``TradingNode``: quotes from the broker reach ``on_quote_tick``."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from nautilus_trader.config import LoggingConfig, StrategyConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from macrofund.adapters.feed import FEED_STATUS_TOPIC, FeedConfig, FeedStatus, data_clients
from macrofund.adapters.kafka.config import KafkaSettings
from macrofund.adapters.kafka.producer import MarketDataProducer, ensure_topics
from macrofund.adapters.kafka.topics import topic_for
from macrofund.engine.paper import install_market_data_path
from macrofund.venues.contracts import futures_contract
from tests.fixtures.kafka import TansuBroker


class RecordingConfig(StrategyConfig, frozen=True):
    instrument_id: str = "ESZ6.CME"
    expected: int = 0


class Recording(Strategy):
    """Records quotes and feed statuses; stops the node once every expected quote arrived."""

    def __init__(self, config: RecordingConfig) -> None:
        super().__init__(config)
        self.quotes: list[QuoteTick] = []
        self.statuses: list[FeedStatus] = []

    def on_start(self) -> None:
        self.subscribe_quote_ticks(InstrumentId.from_str(self.config.instrument_id))
        self.msgbus.subscribe(FEED_STATUS_TOPIC, self.statuses.append)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes.append(tick)


@pytest.mark.parametrize("node_path", ["bare", "paper_live"])
def test_kafka_quotes_reach_a_strategy_in_a_trading_node(
    kafka_broker: TansuBroker, node_event_loop: asyncio.AbstractEventLoop, node_path: str
) -> None:
    # bare: Nautilus's own data path (each datum to DataEngine.process); paper_live: the settled path a
    # paper or live node installs, which takes the client's decoded batches in one call.
    prefix = f"n{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka_broker.bootstrap, [topic_for("ESZ6.CME", "quotes", prefix)], partitions=1)
    producer = MarketDataProducer(kafka_broker.bootstrap, prefix)
    for k in range(300):
        producer.quote_mantissas("ESZ6.CME", time.time_ns(), 600_000 + 25 * k, 600_025 + 25 * k, 2, 3, 2)
    assert producer.flush(10) == 0

    feed = FeedConfig(
        source="kafka",
        kafka=KafkaSettings(
            bootstrap_servers=kafka_broker.bootstrap,
            group_id=f"g-{prefix}",
            topic_prefix=prefix,
            start="earliest",
            status_interval_secs=0.5,
        ),
    )
    clients = data_clients(feed, {"ESZ6.CME": futures_contract("ESZ6.CME")})
    node = TradingNode(
        TradingNodeConfig(
            trader_id="TESTER-001",
            logging=LoggingConfig(log_level="ERROR"),
            data_clients={name: config for name, (config, _) in clients.items()},
            timeout_connection=10,
            timeout_disconnection=5,
            timeout_post_stop=0.5,
        ),
        loop=node_event_loop,
    )
    strategy = Recording(RecordingConfig(expected=300))
    node.trader.add_strategy(strategy)
    for name, (_, factory) in clients.items():
        node.add_data_client_factory(name, factory)
    node.build()
    loop = node.get_event_loop()
    settled = install_market_data_path(node, loop) if node_path == "paper_live" else None
    deadline = time.monotonic() + 60  # the group join alone can take seconds on a loaded machine

    def stop_when_done() -> None:
        if (len(strategy.quotes) >= 300 and strategy.statuses) or time.monotonic() > deadline:
            node.stop()
        else:
            loop.call_later(0.1, stop_when_done)

    loop.call_later(0.5, stop_when_done)
    try:
        node.run()
    finally:
        node.dispose()

    assert len(strategy.quotes) == 300
    if settled is not None:
        assert settled.stats.received == settled.stats.delivered == 300
    first, last = strategy.quotes[0], strategy.quotes[-1]
    assert str(first.bid_price) == "6000.00" and str(first.ask_price) == "6000.25"
    assert str(last.bid_price) == f"{6000 + 0.25 * 299:.2f}"
    assert first.ts_init >= first.ts_event  # stamped by the node clock on arrival
    assert strategy.statuses[-1].source == "kafka"
    assert strategy.statuses[-1].malformed == 0
