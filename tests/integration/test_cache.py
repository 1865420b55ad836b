"""Redis cache-aside on real Redis servers: hits, TTLs, Redis down (fall through), Redis back (refill)."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from macrofund.cache import AccountSnapshot, CacheAside, CacheConfig, CacheKeys, RedisLink, ReferencePrice
from macrofund.cache.writer import CacheWriter
from macrofund.cli import default_config_path
from macrofund.config.run_config import load_run_config
from macrofund.engine.assembly import run as run_engine
from macrofund.venues.contracts import futures_contract
from tests.fixtures.servers import free_port


def closed_port_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


class OwnRedis:
    """A redis-server this test starts, kills and restarts on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server binary installed: cannot stop and restart a Redis in this test")
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        pytest.fail(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.kill()


def aside(url: str, prefix: str, **config: object) -> CacheAside:
    settings = {"retry_interval": "1s", **config}
    cfg = CacheConfig(redis_url=url, key_prefix=prefix, **settings)  # type: ignore[arg-type]
    return CacheAside.connect(cfg, "TESTER-001")


def test_second_read_is_a_cache_hit_with_the_configured_ttl(redis_server: str, redis_prefix: str) -> None:
    cache = aside(redis_server, redis_prefix, instrument_ttl="10m")
    loads = []

    def load():
        loads.append(1)
        return futures_contract("6EH4.CME")

    first = cache.instrument("6EH4.CME", load)
    second = cache.instrument("6EH4.CME", load)
    assert first == second == futures_contract("6EH4.CME")
    assert second.multiplier == first.multiplier and len(loads) == 1
    assert (cache.hits, cache.misses, cache.fallthroughs) == (1, 1, 0)
    client = redis.Redis.from_url(redis_server)
    key = f"{redis_prefix}TESTER-001:instrument:6EH4.CME"
    assert 0 < client.pttl(key) <= 600_000
    cache.invalidate(key)
    cache.instrument("6EH4.CME", load)
    assert len(loads) == 2
    client.delete(key)
    cache.close()


def test_redis_down_falls_through_to_the_source_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    cache = aside(closed_port_url(), "x:")
    price = ReferencePrice("6EH4.CME", Decimal("1.10450"), 1, "bar_close")
    with caplog.at_level(logging.WARNING, logger="macrofund.cache"):
        answers = [cache.reference_price("6EH4.CME", lambda: price) for _ in range(50)]
    assert answers == [price] * 50
    assert cache.fallthroughs == 50 and cache.hits == 0
    warnings = [r for r in caplog.records if "cache=unavailable" in r.getMessage()]
    assert len(warnings) == 1
    cache.close()


def test_cache_refills_when_redis_comes_back(own_redis: OwnRedis, redis_prefix: str) -> None:
    cache = aside(own_redis.url, redis_prefix, retry_interval="100ms")
    snapshot = AccountSnapshot("SIM-001", [{"currency": "USD", "total": "1000000.00"}], [], 5)
    assert cache.account("SIM-001", lambda: snapshot) == snapshot  # miss, filled
    own_redis.kill()
    loads = []
    assert cache.account("SIM-001", lambda: loads.append(1) or snapshot) == snapshot
    assert cache.fallthroughs == 1 and not cache.link.available and loads == [1]
    own_redis.start()  # empty: a restarted Redis lost every key
    time.sleep(0.15)  # let the retry interval pass
    cache.account("SIM-001", lambda: loads.append(1) or snapshot)  # reconnects, misses, refills
    assert cache.link.available and loads == [1, 1]
    cache.account("SIM-001", lambda: loads.append(1) or snapshot)
    assert loads == [1, 1] and cache.hits == 1
    cache.close()


def test_writer_rewrites_every_key_after_an_outage(own_redis: OwnRedis, redis_prefix: str) -> None:
    link = RedisLink(own_redis.url, socket_timeout=0.2, retry_interval=0.05)
    writer = CacheWriter(link)
    keys = CacheKeys(redis_prefix)
    writer.offer({keys.price("A.CME"): ("1", 60_000)})
    assert writer.flush()
    own_redis.kill()
    writer.offer({keys.price("B.CME"): ("2", 60_000)})  # dropped while down: run goes on
    assert writer.flush() and writer.failed_batches == 1
    own_redis.start()
    time.sleep(0.1)
    writer.offer({keys.price("C.CME"): ("3", 60_000)})  # first write after recovery triggers the refill
    assert writer.flush()
    deadline = time.monotonic() + 5
    client = redis.Redis.from_url(own_redis.url, decode_responses=True)
    while time.monotonic() < deadline and client.get(keys.price("A.CME")) is None:
        time.sleep(0.02)
        writer.flush()
    assert [client.get(keys.price(i)) for i in ("A.CME", "B.CME", "C.CME")] == ["1", "2", "3"]
    writer.close()
    link.close()


def _backtest(tmp_path: Path, run_id: str, redis_url: str, prefix: str) -> dict:
    config = load_run_config(
        default_config_path(),
        {
            "run.output_dir": str(tmp_path),
            "run.run_id": run_id,
            "cache.redis_url": redis_url,
            "cache.key_prefix": prefix,
        },
    )
    return run_engine(config).summary


def test_backtest_keeps_instruments_prices_and_accounts_in_redis(
    tmp_path: Path, redis_server: str, redis_prefix: str
) -> None:
    summary = _backtest(tmp_path, "cached", redis_server, redis_prefix)
    section = summary["cache"]
    assert section["available"] is True and section["failed_batches"] == 0 and section["keys_written"] > 0
    client = redis.Redis.from_url(redis_server, decode_responses=True)
    namespace = f"{redis_prefix}MACROFUND-001:"
    keys = set(client.keys(f"{namespace}*"))
    assert f"{namespace}instrument:6EH4.CME" in keys
    price = ReferencePrice.decode(client.get(f"{namespace}price:6EH4.CME"))
    assert price.source == "bar_close" and price.price > 0 and price.ts_ns > 0
    accounts = [k for k in keys if ":account:" in k]
    assert accounts
    snapshot = AccountSnapshot.decode(client.get(accounts[0]))
    assert snapshot.balances and snapshot.balances[0]["currency"] == "USD"
    assert json.loads(client.get(accounts[0]))["account_id"] == snapshot.account_id
    client.delete(*keys)


def test_backtest_completes_when_redis_is_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="macrofund.cache"):
        summary = _backtest(tmp_path, "no-redis", closed_port_url(), "x:")
    assert summary["accounts"][0]["orders"] > 0
    section = summary["cache"]
    assert section["available"] is False and section["keys_written"] == 0 and section["failed_batches"] >= 1
    assert sum("cache=unavailable" in r.getMessage() for r in caplog.records) == 1
