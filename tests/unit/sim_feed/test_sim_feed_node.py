"""``SimFeedDataClient`` inside a real ``TradingNode``: simulated quotes stream to a strategy in real time."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from nautilus_trader.config import LoggingConfig, StrategyConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from macrofund.adapters.feed import FEED_STATUS_TOPIC, FeedConfig, FeedStatus, data_clients
from macrofund.adapters.sim_feed.config import SimFeedSettings
from macrofund.venues.contracts import futures_contract


class RecordingConfig(StrategyConfig, frozen=True):
    instrument_ids: tuple[str, ...] = ()


class Recording(Strategy):
    def __init__(self, config: RecordingConfig) -> None:
        super().__init__(config)
        self.quotes: list[QuoteTick] = []
        self.statuses: list[FeedStatus] = []

    def on_start(self) -> None:
        for instrument_id in self.config.instrument_ids:
            self.subscribe_quote_ticks(InstrumentId.from_str(instrument_id))
        self.msgbus.subscribe(FEED_STATUS_TOPIC, self.statuses.append)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes.append(tick)


def test_simulated_quotes_reach_the_strategy_on_the_grid_with_node_time(
    node_event_loop: asyncio.AbstractEventLoop,
) -> None:
    ids = ("ESZ6.CME", "WINZ26.B3")
    feed = FeedConfig(source="sim", sim=SimFeedSettings(rate=200, ignore_sessions=True, seed=3))
    clients = data_clients(feed, {i: futures_contract(i) for i in ids})
    node = TradingNode(
        TradingNodeConfig(
            trader_id="TESTER-001",
            logging=LoggingConfig(log_level="ERROR"),
            data_clients={name: config for name, (config, _) in clients.items()},
            timeout_connection=5,
            timeout_disconnection=2,
            timeout_post_stop=0.2,
        ),
        loop=node_event_loop,
    )
    strategy = Recording(RecordingConfig(instrument_ids=ids))
    node.trader.add_strategy(strategy)
    for name, (_, factory) in clients.items():
        node.add_data_client_factory(name, factory)
    node.build()
    node.get_event_loop().call_later(2.5, node.stop)
    started = time.time_ns()
    try:
        node.run()
    finally:
        node.dispose()

    by_id = {i: [q for q in strategy.quotes if str(q.instrument_id) == i] for i in ids}
    assert all(len(quotes) > 100 for quotes in by_id.values())  # ~100/s each for ~2 s
    for quote in by_id["WINZ26.B3"]:
        assert quote.bid_price.as_decimal() % Decimal(5) == 0
    for quote in strategy.quotes:
        assert quote.ts_init >= quote.ts_event >= started  # real time, stamped by the node clock
    assert strategy.statuses and strategy.statuses[-1].source == "sim"
