"""Market-data feed selection for paper and live (``[feed]`` in the run config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from macrofund.adapters.kafka.config import KafkaSettings
from macrofund.adapters.sim_feed.config import SimFeedSettings
from macrofund.config.base import FrozenModel


class FeedConfig(FrozenModel):
    """Where a paper/live node's market data comes from; backtests read ``[[data]]`` instead."""

    source: Literal["sim", "kafka"] = "sim"
    sim: SimFeedSettings = Field(default_factory=SimFeedSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    record: bool = True  # paper: record consumed market data (Parquet) in the run folder for replay
