"""Kafka settings (``[feed.kafka]`` in the run config)."""

from __future__ import annotations

from macrofund.config.base import FrozenModel


class KafkaSettings(FrozenModel):
    """Where market data comes from when ``feed.source = "kafka"``."""

    bootstrap_servers: str = "127.0.0.1:9092"
