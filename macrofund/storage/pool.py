"""Connections to PostgreSQL with one-line errors, and the DSN a command should use.

Every storage entry point (the persistence writer, ``macrofund db``, rebuild) connects through here,
so an unreachable server or a typo in a DSN always reads the same way: what failed and where, with any
password masked. Which DSN a command uses is ``macrofund.storage.resolve``'s business.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from macrofund.errors import MacrofundError

ENV_DATABASE_URL = "MACROFUND_DATABASE_URL"
CONNECT_TIMEOUT_S = 10.0
T = TypeVar("T")


class StorageError(MacrofundError):
    """The database could not be reached, or a storage request was invalid."""


def mask_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (safe for messages and logs)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)


def _check_dsn(dsn: str) -> None:
    if not re.match(r"^postgres(ql)?://", dsn):
        raise StorageError(f"database URL {mask_dsn(dsn)!r} must start with postgresql://")


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection; any failure becomes a one-line ``StorageError`` naming the (masked) DSN."""
    _check_dsn(dsn)
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {reason}") from exc


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 4) -> asyncpg.Pool:
    """A small pool for query commands and services that serve several requests at once."""
    _check_dsn(dsn)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {reason}") from exc
    assert pool is not None
    return pool


@asynccontextmanager
async def connection(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """``async with connection(dsn) as conn``: connect, use, always close."""
    conn = await connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, even when the caller's thread already runs
    an event loop (a node's start-up code): then it runs on a short-lived thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="macrofund-storage-sync")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
