"""A paper/live node hands market data over one datum at a time: the strategies have seen a datum,
and everything it caused, before the next one is handed over and before it is recorded."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from nautilus_trader.config import LoggingConfig, StrategyConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.trading.strategy import Strategy

from macrofund.adapters.feed import DATA_BATCH_ENDPOINT, DataBatch, FeedConfig, data_clients
from macrofund.adapters.sim_feed.config import SimFeedSettings
from macrofund.engine.paper import install_market_data_path
from macrofund.engine.replay import MarketDataRecorder
from macrofund.venues.contracts import futures_contract

ES = "ESZ6.CME"
BURST = 200  # quotes
MARK = Quantity.from_int(7)  # the burst quotes' bid size


class SeenConfig(StrategyConfig, frozen=True):
    instrument_id: str = ES


class Seen(Strategy):
    """Counts quotes and the 5-tick bars they complete."""

    def __init__(self, config: SeenConfig) -> None:
        super().__init__(config)
        self.quotes = 0
        self.others = 0
        self.bars = 0

    def on_start(self) -> None:
        from nautilus_trader.model.data import BarType

        instrument_id = InstrumentId.from_str(self.config.instrument_id)
        self.subscribe_quote_ticks(instrument_id)
        self.subscribe_bars(BarType.from_str(f"{instrument_id}-5-TICK-MID-INTERNAL"))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.bid_size == MARK:  # the burst's quotes
            self.quotes += 1
        else:  # the simulator's opening quote: it counts towards the first bar
            self.others += 1

    def on_bar(self, bar: object) -> None:
        self.bars += 1


@pytest.mark.parametrize("as_batches", [False, True], ids=["datum_by_datum", "two_batches"])
def test_each_datum_and_the_bar_it_completes_reach_the_strategy_before_the_next_datum(
    node_event_loop: asyncio.AbstractEventLoop, as_batches: bool
) -> None:
    # two_batches: the burst arrives as two of a data client's decoded batches (what the Kafka client
    # sends), each of which must say it settled only once the strategy has seen all of it.
    instrument = futures_contract(ES)
    # A real data client, so the subscriptions (and the bar aggregator) exist; at this rate the
    # simulator itself sends nothing during the test: every quote is the burst's.
    feed = FeedConfig(source="sim", sim=SimFeedSettings(rate=0.001, ignore_sessions=True))
    clients = data_clients(feed, {ES: instrument})
    node = TradingNode(
        TradingNodeConfig(
            trader_id="SETTLE-001",
            logging=LoggingConfig(log_level="ERROR"),
            data_clients={name: config for name, (config, _) in clients.items()},
        ),
        loop=node_event_loop,
    )
    strategy = Seen(SeenConfig())
    node.trader.add_strategy(strategy)
    for name, (_, factory) in clients.items():
        node.add_data_client_factory(name, factory)
    node.build()
    node.kernel.cache.add_instrument(instrument)
    recorder = MarketDataRecorder()
    data = install_market_data_path(node, node_event_loop, recorder)
    # (burst quotes delivered, burst quotes seen, all quotes seen, bars seen) at each delivery
    seen_at_delivery: list[tuple[int, int, int, int]] = []

    def delivered(datum: object) -> None:
        # The client's instrument and the simulator's opening quote go through here too.
        if isinstance(datum, QuoteTick) and datum.bid_size == MARK:
            seen = strategy.quotes + strategy.others
            seen_at_delivery.append((len(seen_at_delivery) + 1, strategy.quotes, seen, strategy.bars))

    data.on_delivered = delivered
    n = BURST
    settled_at: list[tuple[int, int]] = []  # (what a batch said it settled, burst quotes the strategy saw)

    def burst() -> None:
        # All at once, as a Kafka batch or a busy simulator delivers them.
        now = time.time_ns()
        quotes = []
        for k in range(n):
            price = Decimal(5000) + Decimal(k % 7) / 4
            quote = QuoteTick(
                instrument.id,
                Price(price, 2),
                Price(price + Decimal("0.25"), 2),
                MARK,
                Quantity.from_int(1),
                now + k,
                now + k,
            )
            quotes.append(quote)
        if as_batches:
            for part in (quotes[: n // 2], quotes[n // 2 :]):
                batch = DataBatch(part, lambda seen: settled_at.append((seen, strategy.quotes)))
                node.kernel.msgbus.send(DATA_BATCH_ENDPOINT, batch)
        else:
            for quote in quotes:
                node.kernel.msgbus.send("DataEngine.process", quote)

    def stop_when_done() -> None:
        if len(seen_at_delivery) >= n or node_event_loop.time() > deadline:
            node.stop()
        else:
            node_event_loop.call_later(0.05, stop_when_done)

    deadline = node_event_loop.time() + 30
    node_event_loop.call_later(0.5, burst)
    node_event_loop.call_later(0.6, stop_when_done)
    try:
        node.run()
    finally:
        node.dispose()
    assert len(seen_at_delivery) == n
    # When datum k is delivered (and recorded) the strategy has seen k quotes and every bar they made.
    assert [(k, q) for k, q, _, _ in seen_at_delivery] == [(k, k) for k in range(1, n + 1)]
    # ... and every 5-tick bar the quotes seen so far completed
    assert [bars for _, _, _, bars in seen_at_delivery] == [seen // 5 for _, _, seen, _ in seen_at_delivery]
    assert len(recorder) == n + strategy.others  # recorded: exactly what the strategy saw
    if as_batches:
        assert settled_at == [(n // 2, n // 2), (n - n // 2, n)]
