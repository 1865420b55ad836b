"""Config of a FIX session (``[[fix.sessions]]`` in a run or venue config): who, where, store, schedule.

Credentials: ``password`` is a ``SecretStr`` (never printed by pydantic); a config file should rather
name an environment variable in ``password_env`` and let the caller resolve it at the edge.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from macrofund.adapters.fix.errors import FixConfigError
from macrofund.adapters.fix.schedule import SessionSchedule
from macrofund.adapters.fix.store import FileSessionStore, PostgresSessionStore, SessionStore
from macrofund.config.base import FrozenModel

_COMP_ID = r"^[A-Za-z0-9._-]{1,64}$"


class FixStoreConfig(FrozenModel):
    """Where sequence numbers and sent messages are kept: ``file`` (default) or ``postgres``."""

    kind: Literal["file", "postgres"] = "file"
    path: Path = Path("state/fix")  # file store directory
    fsync: bool = False  # file store: fsync every write (survives power loss; one disk flush per message)
    dsn: str | None = None  # postgres store

    @model_validator(mode="after")
    def _dsn_for_postgres(self) -> FixStoreConfig:
        if self.kind == "postgres" and not self.dsn:
            raise ValueError("store.dsn is required when store.kind = 'postgres'")
        return self


class FixScheduleConfig(FrozenModel):
    """A daily window in ``timezone``; ``start`` after ``end`` crosses midnight (e.g. CME 17:00-16:00)."""

    start: time
    end: time
    timezone: str = "UTC"
    days: list[int] = Field(default_factory=lambda: list(range(7)))  # window start days, Monday=0
    reset_daily: bool = True

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if not value or any(d < 0 or d > 6 for d in value):
            raise ValueError("days must be a non-empty list of 0 (Monday) .. 6 (Sunday)")
        return value

    def build(self) -> SessionSchedule:
        """The schedule object the session uses."""
        return SessionSchedule(self.start, self.end, self.timezone, frozenset(self.days), self.reset_daily)


class FixSessionConfig(FrozenModel):
    """One FIX 4.4 session, as initiator (we connect to ``host:port``) or acceptor (we listen)."""

    sender_comp_id: str = Field(pattern=_COMP_ID)
    target_comp_id: str = Field(pattern=_COMP_ID)
    host: str = "127.0.0.1"
    port: int = Field(default=9876, ge=0, le=65535)
    heartbeat_interval_secs: int = Field(default=30, ge=1, le=3600)
    reset_on_logon: bool = False  # send 141=Y and start both sequences at 1
    username: str | None = None  # 553
    password: SecretStr | None = None  # 554; acceptor: the password a counterparty must send
    logon_fields: dict[int, str] = Field(default_factory=dict)  # venue-specific Logon tags (CME 1603..)
    logon_timeout_secs: float = Field(default=10.0, gt=0, le=300)
    logout_timeout_secs: float = Field(default=2.0, gt=0, le=60)
    reconnect_min_secs: float = Field(default=0.5, gt=0, le=600)
    reconnect_max_secs: float = Field(default=30.0, gt=0, le=3600)
    store: FixStoreConfig = Field(default_factory=FixStoreConfig)
    log_dir: Path | None = Path("logs/fix")  # raw message log; None turns it off
    schedule: FixScheduleConfig | None = None  # None: always open, no daily reset

    @model_validator(mode="after")
    def _backoff(self) -> FixSessionConfig:
        if self.reconnect_max_secs < self.reconnect_min_secs:
            raise ValueError("reconnect_max_secs must be >= reconnect_min_secs")
        return self

    @property
    def name(self) -> str:
        """``SENDER->TARGET``, how logs and errors name the session."""
        return f"{self.sender_comp_id}->{self.target_comp_id}"

    def build_store(self) -> SessionStore:
        """The configured sequence store for this session."""
        if self.store.kind == "postgres":
            if self.store.dsn is None:  # validated above; keeps mypy honest
                raise FixConfigError(f"FIX session {self.name}: store.dsn is required")
            return PostgresSessionStore(self.store.dsn, self.sender_comp_id, self.target_comp_id)
        return FileSessionStore(self.store.path, self.sender_comp_id, self.target_comp_id, self.store.fsync)
