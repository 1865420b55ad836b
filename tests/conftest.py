"""Shared fixtures: real servers, started when the machine has none (see tests/fixtures/servers.py)."""

from tests.fixtures.kafka import kafka_broker  # noqa: F401
from tests.fixtures.quickfix import quickfix_peer  # noqa: F401
from tests.fixtures.servers import (  # noqa: F401
    postgres_dsn,
    postgres_server,
    redis_prefix,
    redis_server,
)
