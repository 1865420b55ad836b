"""Kafka settings (``[feed.kafka]`` in the run config) and the Nautilus config of ``KafkaDataClient``."""

from __future__ import annotations

from datetime import UTC, datetime

from nautilus_trader.config import InstrumentProviderConfig, LiveDataClientConfig
from pydantic import Field, field_validator

from macrofund.config.base import FrozenModel

_BOOTSTRAP = r"^[A-Za-z0-9._-]+:\d{1,5}(,[A-Za-z0-9._-]+:\d{1,5})*$"


class KafkaSettings(FrozenModel):
    """Where market data comes from when ``feed.source = "kafka"``.

    ``start`` applies when the consumer group has no committed offset for a partition: ``latest`` (only new
    data), ``earliest`` (everything retained), or an ISO time (replay from the first message at or after
    it; a time always seeks, even over a committed offset, because asking for a time means a replay).
    """

    bootstrap_servers: str = Field(default="127.0.0.1:9092", pattern=_BOOTSTRAP)
    group_id: str = Field(default="macrofund-paper", min_length=1)
    topic_prefix: str = Field(default="md", pattern=r"^[A-Za-z0-9_-]+$")
    kinds: list[str] = Field(default_factory=lambda: ["quotes"], min_length=1)
    start: str = "latest"
    # Group membership: tansu (and Kafka) wait about half of this before the first assignment.
    session_timeout_ms: int = Field(default=6000, ge=1000, le=300_000)
    fetch_wait_max_ms: int = Field(default=10, ge=0, le=10_000)
    batch_size: int = Field(default=2000, ge=1, le=100_000)
    status_interval_secs: float = Field(default=1.0, gt=0, le=3600)
    consumer: dict[str, str | int | bool] = Field(default_factory=dict)  # extra librdkafka settings

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, values: list[str]) -> list[str]:
        for kind in values:
            if kind not in ("quotes", "trades", "bars"):
                raise ValueError(f"unknown kind {kind!r}: expected quotes, trades or bars")
        return values

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if value in ("latest", "earliest"):
            return value
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r}: expected latest, earliest or an ISO time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.isoformat()


class KafkaDataClientConfig(LiveDataClientConfig, frozen=True):
    """Nautilus config of ``KafkaDataClient`` (plain fields: Nautilus configs are msgspec structs)."""

    instrument_ids: tuple[str, ...] = ()
    bootstrap_servers: str = "127.0.0.1:9092"
    group_id: str = "macrofund-paper"
    topic_prefix: str = "md"
    kinds: tuple[str, ...] = ("quotes",)
    start: str = "latest"
    session_timeout_ms: int = 6000
    fetch_wait_max_ms: int = 10
    batch_size: int = 2000
    status_interval_secs: float = 1.0
    consumer_overrides: tuple[tuple[str, str], ...] = ()


def kafka_data_client_config(
    settings: KafkaSettings, instrument_ids: tuple[str, ...], provider: InstrumentProviderConfig
) -> KafkaDataClientConfig:
    """The data-client config for ``settings`` consuming ``instrument_ids``."""
    return KafkaDataClientConfig(
        instrument_provider=provider,
        instrument_ids=instrument_ids,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group_id,
        topic_prefix=settings.topic_prefix,
        kinds=tuple(settings.kinds),
        start=settings.start,
        session_timeout_ms=settings.session_timeout_ms,
        fetch_wait_max_ms=settings.fetch_wait_max_ms,
        batch_size=settings.batch_size,
        status_interval_secs=settings.status_interval_secs,
        consumer_overrides=tuple(
            (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in settings.consumer.items()
        ),
    )
