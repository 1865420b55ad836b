"""``SimFeedDataClient``: the GBM simulator streamed into a ``TradingNode`` in real time.

The client quotes every configured instrument from connect to disconnect (the sandbox venue needs quotes to
move its market whether or not a strategy subscribed). A task wakes every millisecond or so, asks the pure
core for all events up to the node clock's *now*, and hands them to the data engine: ``ts_event`` is the
event's grid time, ``ts_init`` the node clock when handed over. Instruments keep their real ids (ESZ6.CME)
so the paper venue of that name moves on them.
"""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.data.messages import (
    SubscribeBars,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    UnsubscribeBars,
    UnsubscribeQuoteTicks,
    UnsubscribeTradeTicks,
)
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.data import BarSpecification, BarType
from nautilus_trader.model.enums import AggregationSource, PriceType
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from macrofund.adapters.feed import FEED_STATUS_TOPIC, FeedStatus
from macrofund.adapters.sim_feed.config import SimFeedDataClientConfig
from macrofund.adapters.sim_feed.gbm import PriceSimulator
from macrofund.adapters.sim_feed.nautilus import SimEventConverter
from macrofund.adapters.sim_feed.providers import ContractInstrumentProvider, gbm_parameters, sim_instruments

_WAKE_SECS = 0.001


def quote_bar_type(bar_type: BarType) -> BarType:
    """The bar type the node can build from the simulator's quotes in place of an EXTERNAL one: same
    step and aggregation, aggregated INTERNAL; LAST (trade) prices become MID, BID/ASK/MID stay."""
    spec = bar_type.spec
    price_type = spec.price_type if spec.price_type != PriceType.LAST else PriceType.MID
    return BarType(
        bar_type.instrument_id,
        BarSpecification(spec.step, spec.aggregation, price_type),
        AggregationSource.INTERNAL,
    )


class SimFeedDataClient(LiveMarketDataClient):
    """Streams seeded GBM quotes (and trades) for the configured instruments into the node."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: ContractInstrumentProvider,
        config: SimFeedDataClientConfig,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=None,  # multi-venue (CME and B3): registered as the data engine's default client
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
            config=config,
        )
        self._config = config
        self._settings = config.settings()
        self._instruments = sim_instruments(config.instrument_ids, self._settings)
        self._converter = SimEventConverter(self._instruments)
        self._simulator: PriceSimulator | None = None
        self._stream_task: asyncio.Task | None = None
        self._status_task: asyncio.Task | None = None
        self._delivered = 0

    @property
    def delivered(self) -> int:
        """Events handed to the data engine since connect."""
        return self._delivered

    def lag(self) -> int:
        """Always 0: the simulator generates on demand, nothing waits upstream."""
        return 0

    async def _connect(self) -> None:
        ids = [InstrumentId.from_str(i) for i in self._config.instrument_ids]
        await self._instrument_provider.load_ids_async(ids)
        for instrument in self._instrument_provider.list_all():
            self._handle_data(instrument)
        self._simulator = PriceSimulator(
            self._instruments, gbm_parameters(self._settings), start_ns=self._clock.timestamp_ns()
        )
        mode = "around the clock" if self._settings.ignore_sessions else "inside sessions"
        self._log.info(
            f"Simulating {', '.join(self._config.instrument_ids)} at {self._settings.rate:g} quotes/s "
            f"{mode} (seed {self._settings.seed})"
        )
        self._stream_task = self.create_task(self._stream(), log_msg="sim_feed_stream")
        self._status_task = self.create_task(self._publish_status(), log_msg="sim_feed_status")

    async def _disconnect(self) -> None:
        for task in (self._stream_task, self._status_task):
            if task is not None and not task.done():
                task.cancel()
        self._stream_task = self._status_task = None

    async def _stream(self) -> None:
        simulator = self._simulator
        assert simulator is not None
        limit = self._config.max_events_per_wakeup
        while True:
            now = self._clock.timestamp_ns()
            events = simulator.advance(now, limit=limit)
            for event in events:
                self._handle_data(self._converter.convert(event, self._clock.timestamp_ns()))
            self._delivered += len(events)
            if len(events) >= limit:  # behind (a busy loop): catch up, but let other tasks run first
                await asyncio.sleep(0)
                continue
            # Sleep to the next grid slot: at least ~1 ms (no busy loop), at most 0.25 s (prompt stop).
            wait = (simulator.next_ts_ns - self._clock.timestamp_ns()) / 1e9
            await asyncio.sleep(min(max(wait, _WAKE_SECS), 0.25))

    async def _publish_status(self) -> None:
        interval = self._config.status_interval_secs
        last = self._delivered
        while True:
            await asyncio.sleep(interval)
            total = self._delivered
            status = FeedStatus(
                source="sim",
                ts_ns=self._clock.timestamp_ns(),
                messages_total=total,
                messages_per_sec=(total - last) / interval,
                lag=0,
            )
            last = total
            self._msgbus.publish(FEED_STATUS_TOPIC, status)

    # Every configured instrument is streamed from connect; subscriptions only route inside the engine.
    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        pass

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        if self._settings.trade_probability == 0:
            self._log.warning(
                f"{command.instrument_id}: the simulator prints no trades (set feed.sim.trade_probability)"
            )

    async def _subscribe_bars(self, command: SubscribeBars) -> None:
        if command.bar_type.aggregation_source == AggregationSource.EXTERNAL:
            self._log.error(
                f"{command.bar_type}: the simulator produces quotes, not EXTERNAL bars; subscribe "
                f"{quote_bar_type(command.bar_type)} bars, which the node aggregates from its quotes"
            )

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        pass

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        pass

    async def _unsubscribe_bars(self, command: UnsubscribeBars) -> None:
        pass
