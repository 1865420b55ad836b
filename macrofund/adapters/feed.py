"""Market-data feed selection for paper and live (``[feed]`` in the run config).

``data_clients`` is the one function the paper/live assembly calls: it turns ``[feed]`` into the node's data
client configs and factories. Both feed clients publish a ``FeedStatus`` on the message bus topic
``macrofund.feed.status`` once a second, which the paper console shows (feed rate and lag).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from macrofund.adapters.kafka.config import KafkaSettings
from macrofund.adapters.sim_feed.config import SimFeedSettings
from macrofund.config.base import FrozenModel

if TYPE_CHECKING:
    from nautilus_trader.config import LiveDataClientConfig
    from nautilus_trader.model.instruments import Instrument

#: Message-bus topic of ``FeedStatus`` updates.
FEED_STATUS_TOPIC = "macrofund.feed.status"

#: Message-bus endpoint a paper/live node registers to take a data client's decoded batch in one call
#: (``SettledMarketData.process_batch``: a list of market data, in order, or a ``DataBatch``). A client
#: delivers there when it is registered, else each datum to ``DataEngine.process`` as Nautilus clients do.
DATA_BATCH_ENDPOINT = "macrofund.DataEngine.process_batch"


class DataBatch(list):  # type: ignore[type-arg]
    """Market data for ``DATA_BATCH_ENDPOINT`` that says how much of it the strategies have seen.

    ``settled(n)`` is called once the node has handed the batch's last datum to the strategies (and what
    it caused has settled), with ``n`` = its length; when the node stops in the middle of the batch, with
    the number it did hand over; never for a batch it had not started. A Kafka consumer records offsets as
    processed, and takes its next batch, only then: offsets committed for data still waiting in the node
    would be lost by a crash, and taking batches faster than the node settles them would grow memory.
    """

    __slots__ = ("settled",)

    def __init__(self, data: list[Any], settled: Callable[[int], None]) -> None:
        super().__init__(data)
        self.settled = settled


#: Client names (Nautilus ``ClientId``s) of the two feeds in the node.
SIM_CLIENT_NAME = "SIMFEED"
KAFKA_CLIENT_NAME = "KAFKA"


class FeedConfig(FrozenModel):
    """Where a paper/live node's market data comes from; backtests read ``[[data]]`` instead."""

    source: Literal["sim", "kafka"] = "sim"
    sim: SimFeedSettings = Field(default_factory=SimFeedSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    record: bool = True  # paper: record consumed market data (Parquet) in the run folder for replay


@dataclass(frozen=True)
class FeedStatus:
    """One status sample of a feed client, published on ``macrofund.feed.status`` every status interval.

    ``messages_per_sec`` is measured over the last interval; ``lag`` is the consumer lag in messages
    (Kafka: high watermark minus consumed position, summed over assigned partitions; the simulator: 0);
    ``malformed`` and ``duplicates`` count messages skipped since start; ``offset_resets`` counts partitions
    whose position the broker no longer had (data may have been skipped: look at the log).
    """

    source: str
    ts_ns: int
    messages_total: int
    messages_per_sec: float
    lag: int
    malformed: int = 0
    duplicates: int = 0
    offset_resets: int = 0
    connected: bool = True


def data_clients(
    feed: FeedConfig, instruments: dict[str, Instrument]
) -> dict[str, tuple[LiveDataClientConfig, type]]:
    """The node's data clients for ``feed``: client name -> (config, factory class).

    ``instruments`` are the run's instruments by id (``"ESZ6.CME"``); the feed quotes (sim) or consumes
    (Kafka) exactly those. Add each pair with ``node_config.data_clients[name] = config`` and
    ``node.add_data_client_factory(name, factory)``.
    """
    from nautilus_trader.config import InstrumentProviderConfig

    ids = tuple(sorted(instruments))
    provider = InstrumentProviderConfig(load_ids=frozenset(ids))
    if feed.source == "sim":
        from macrofund.adapters.sim_feed.config import SimFeedDataClientConfig
        from macrofund.adapters.sim_feed.factories import SimFeedDataClientFactory
        from macrofund.adapters.sim_feed.providers import sim_instruments

        sim_instruments(ids, feed.sim)  # fail now, with a one-line error, not inside the node
        sim_config = SimFeedDataClientConfig(
            instrument_provider=provider, instrument_ids=ids, settings_json=feed.sim.model_dump_json()
        )
        return {SIM_CLIENT_NAME: (sim_config, SimFeedDataClientFactory)}
    from macrofund.adapters.kafka.config import kafka_data_client_config
    from macrofund.adapters.kafka.factories import KafkaDataClientFactory

    kafka_config = kafka_data_client_config(feed.kafka, ids, provider)
    return {KAFKA_CLIENT_NAME: (kafka_config, KafkaDataClientFactory)}
