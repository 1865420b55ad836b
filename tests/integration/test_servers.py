"""The server fixtures give real, isolated servers."""

from __future__ import annotations

import asyncio

import asyncpg
import redis


def test_each_test_gets_an_empty_postgres_database(postgres_dsn: str) -> None:
    async def check() -> tuple[int, str]:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            tables = await conn.fetchval("select count(*) from pg_tables where schemaname = 'public'")
            await conn.execute("create table probe (id int primary key)")
            return int(tables), str(await conn.fetchval("select current_database()"))
        finally:
            await conn.close()

    tables, name = asyncio.run(check())
    assert tables == 0
    assert name.startswith("mf_test_")


def test_redis_answers(redis_server: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_server)
    client.set(redis_prefix + "k", "v", ex=10)
    assert client.get(redis_prefix + "k") == b"v"
    client.delete(redis_prefix + "k")
