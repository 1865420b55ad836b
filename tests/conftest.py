"""Shared fixtures: real servers, started when the machine has none (see tests/fixtures/servers.py)."""

import asyncio
from collections.abc import Iterator

import pytest

from tests.fixtures.kafka import kafka_broker  # noqa: F401
from tests.fixtures.quickfix import quickfix_peer  # noqa: F401
from tests.fixtures.servers import (  # noqa: F401
    postgres_dsn,
    postgres_server,
    redis_prefix,
    redis_server,
)


@pytest.fixture
def node_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop for an in-process TradingNode (pass it as ``TradingNode(config, loop=...)``).

    ``TradingNode.dispose()`` closes its loop, and under pytest Nautilus refuses to create one itself,
    so a second node in the same test process needs its own.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        if not loop.is_closed():
            loop.close()
        asyncio.set_event_loop(None)
