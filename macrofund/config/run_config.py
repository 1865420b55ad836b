"""The run config: one TOML file names everything a run needs, validated before anything starts.

A user copies a file from ``configs/``, edits it and runs ``macrofund run --config FILE``. Every mistake is
reported as one line naming the file, the key and the problem (``ConfigError``), so nothing half-starts.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from macrofund.adapters.feed import FeedConfig
from macrofund.audit.config import AuditConfig
from macrofund.cache.config import CacheConfig
from macrofund.config.base import FrozenModel
from macrofund.errors import ConfigError
from macrofund.risk.config import RiskConfig
from macrofund.storage.config import StorageConfig
from macrofund.venues.sim.config import FillModelSettings

Mode = Literal["backtest", "paper", "live"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "OFF"]

# One or more <integer><unit> parts: "90s", "15m", "1h30m", "2d 12h".
_DURATION_PART = r"(\d+)\s*(ms|min|s|m|h|d)"
_DURATION = re.compile(rf"^\s*(?:{_DURATION_PART}\s*)+$")
_DURATION_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_ns(value: datetime) -> int:
    """Exact UTC nanoseconds of an aware datetime (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1) * 1_000


def parse_duration(value: object) -> timedelta:
    """Accept ``timedelta``, seconds, or strings such as ``"90s"``, ``"15m"``, ``"1h30m"``, ``"1d"``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str) and _DURATION.match(value):
        parts = re.findall(_DURATION_PART, value)
        return sum((int(n) * _DURATION_UNITS[unit] for n, unit in parts), timedelta())
    raise ValueError(f"expected a duration like '30s', '15m', '1h30m' or '1d', got {value!r}")


class RunSection(FrozenModel):
    """How the run is executed and where its outputs go."""

    mode: Mode = "backtest"
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    trader_id: str = Field(default="MACROFUND-001", pattern=r"^[A-Za-z0-9_]+-[A-Za-z0-9_]+$")
    output_dir: Path = Path("runs")
    log_level: LogLevel = "ERROR"
    start: datetime | None = None
    end: datetime | None = None
    # Sim-time interval at which the equity curve is sampled and closed orders/positions are written to
    # the run outputs and purged from the kernel's cache (keeps per-event cost flat on long runs).
    equity_interval: timedelta = timedelta(hours=1)
    purge_interval: timedelta = timedelta(hours=1)
    # Live: wall-clock interval at which every open order is re-checked at its venue (one
    # OrderStatusRequest each); 0 turns the checks off. Backtest and paper have nothing to reconcile.
    open_order_check_interval: timedelta | None = timedelta(seconds=30)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("equity_interval", "purge_interval", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        duration = parse_duration(value)
        if duration <= timedelta(0):
            raise ValueError("must be positive")
        return duration

    @field_validator("open_order_check_interval", mode="before")
    @classmethod
    def _check_interval(cls, value: object) -> timedelta | None:
        duration = parse_duration(value)
        if duration < timedelta(0):
            raise ValueError("must be positive, or 0 for no checks")
        return duration if duration > timedelta(0) else None

    @model_validator(mode="after")
    def _range(self) -> RunSection:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self


class VenueConfig(FrozenModel):
    """A venue account: the simulated exchange in backtest, the sandbox in paper, the FIX session in live."""

    name: str = Field(pattern=r"^[A-Z0-9_]+$")
    oms_type: Literal["NETTING", "HEDGING"] = "NETTING"
    account_type: Literal["MARGIN", "CASH"] = "MARGIN"
    base_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    starting_balances: list[str] = Field(min_length=1)
    # Per-contract fee per side, keyed by contract root ("ES") or instrument id ("ESZ6.CME").
    fees: dict[str, Decimal] = Field(default_factory=dict)
    bar_execution: bool = True
    # The simulated exchange's fill model (backtest and paper): default Nautilus, or Almgren-Chriss.
    fill_model: FillModelSettings = Field(default_factory=FillModelSettings)
    # Live mode: the venue's FIX execution client (session, profile, password_env, ...; docs/live.md).
    fix: dict[str, Any] | None = None

    @field_validator("starting_balances")
    @classmethod
    def _balances(cls, values: list[str]) -> list[str]:
        for value in values:
            parts = value.split()
            if len(parts) != 2 or not re.fullmatch(r"[A-Z]{3}", parts[1]):
                raise ValueError(f"{value!r} is not '<amount> <CCY>', e.g. '1000000 USD'")
            try:
                amount = Decimal(parts[0].replace("_", ""))
            except ArithmeticError:
                raise ValueError(f"{value!r}: {parts[0]!r} is not a number") from None
            if not amount.is_finite() or amount <= 0:
                raise ValueError(f"{value!r}: a starting balance must be positive")
        return values

    @field_validator("fees")
    @classmethod
    def _fees(cls, values: dict[str, Decimal]) -> dict[str, Decimal]:
        for key, fee in values.items():
            if fee < 0:
                raise ValueError(f"fee for {key} is negative ({fee})")
        return values


class InstrumentConfig(FrozenModel):
    """A futures contract by Nautilus instrument id, e.g. ``ESZ6.CME`` or ``WINZ26.B3``."""

    id: str = Field(pattern=r"^[A-Za-z0-9$!_-]+\.[A-Z0-9_]+$")


class DataConfig(FrozenModel):
    """One market-data source: a CSV/Parquet file of bars or quote ticks, or a Nautilus catalog."""

    kind: Literal["bars", "quotes", "catalog"] = "bars"
    path: Path
    instrument_id: str | None = None
    bar_spec: str = Field(default="1-MINUTE-LAST", pattern=r"^\d+-[A-Z]+-[A-Z]+$")
    price_scale: Decimal = Decimal(1)
    timestamp_is_open: bool = False

    @model_validator(mode="after")
    def _needs_instrument(self) -> DataConfig:
        if self.kind != "catalog" and not self.instrument_id:
            raise ValueError(f"instrument_id is required for kind = {self.kind!r}")
        if self.price_scale <= 0:
            raise ValueError("price_scale must be positive")
        return self


class StrategyEntry(FrozenModel):
    """A strategy class by path (``pkg.module:Class`` or ``file.py:Class``) and its config fields."""

    path: str = Field(pattern=r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$")
    config_class: str | None = Field(default=None, pattern=r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$")
    config: dict[str, Any] = Field(default_factory=dict)


class RunConfig(FrozenModel):
    """Everything one run needs. Relative paths are resolved against the config file's folder."""

    run: RunSection = Field(default_factory=RunSection)
    venues: list[VenueConfig] = Field(min_length=1)
    instruments: list[InstrumentConfig] = Field(min_length=1)
    data: list[DataConfig] = Field(default_factory=list)  # backtest input; paper/live read [feed]
    strategies: list[StrategyEntry] = Field(min_length=1)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    source: Path | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> RunConfig:
        if self.run.mode == "backtest" and not self.data:
            raise ValueError("data: a backtest needs at least one [[data]] entry")
        names = [v.name for v in self.venues]
        if len(set(names)) != len(names):
            raise ValueError(f"venues: duplicate venue name in {names}")
        ids = [i.id for i in self.instruments]
        for n, instrument_id in enumerate(ids):
            venue = instrument_id.rsplit(".", 1)[1]
            if venue not in names:
                raise ValueError(
                    f"instruments[{n}].id: {instrument_id} is on venue {venue}, which has no [[venues]] entry"
                )
        for n, data in enumerate(self.data):
            if data.instrument_id is not None and data.instrument_id not in ids:
                raise ValueError(
                    f"data[{n}].instrument_id: {data.instrument_id} is not listed in [[instruments]] {ids}"
                )
        return self

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        if path.is_absolute() or self.source is None:
            return path
        return (self.source.parent / path).resolve()

    def shareable_dump(self) -> dict[str, Any]:
        """``model_dump(mode="json")`` with the password of every URL in it masked (``***``).

        What a run writes to ``config.json`` and what the audit trail's ``config_hash`` covers. A
        ``--db postgresql://trader:pw@host/db`` (or ``--audit-db``, a ``redis_url``) used to land in
        ``config.json`` as given, and run folders get copied, attached to tickets and kept as CI
        artifacts. FIX passwords are ``SecretStr`` and dump masked already.
        """
        from macrofund.storage.pool import mask_dsn

        def masked(value: Any) -> Any:
            if isinstance(value, str):
                return mask_dsn(value) if "://" in value and "@" in value else value
            if isinstance(value, dict):
                return {k: masked(v) for k, v in value.items()}
            if isinstance(value, list):
                return [masked(v) for v in value]
            return value

        return dict(masked(self.model_dump(mode="json")))


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_message(source: str, exc: ValidationError) -> str:
    """Turn pydantic's report into one line: file, key, problem (the first problem, plus a count)."""
    # A misspelt key also shows up as a missing one; the misspelling is what the user must fix.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    where = f"{_location(tuple(first['loc']))}: " if first["loc"] else ""
    return f"{source}: {where}{msg}{more}"


def key_parts(dotted: str) -> list[str]:
    """The parts of a ``--set`` key: split at its dots, except in a quoted part, as in TOML.

    Instrument ids hold a dot, so a per-instrument limit is ``risk.instruments."ESZ6.CME".max_long``;
    split at every dot it named keys ``"ESZ6`` and ``CME"`` and was refused as an unknown key.
    """
    if '"' not in dotted and "'" not in dotted:
        return dotted.split(".")
    try:
        node: Any = tomllib.loads(f"{dotted} = 0")
    except tomllib.TOMLDecodeError:
        raise ConfigError(
            f'--set {dotted}: not a valid key (quote a part that holds dots: a."b.c".d)'
        ) from None
    parts: list[str] = []
    while isinstance(node, dict):
        ((part, node),) = node.items()
        parts.append(part)
    return parts


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Apply one ``--set a.b.0.c=value`` override to the raw TOML mapping (lists indexed by number)."""
    node: Any = raw
    parts = key_parts(dotted)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {dotted}: {part!r} is not an index into a list of {len(node)}")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"--set {dotted}: cannot descend into {'.'.join(parts[:i])}")


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` where value is TOML (``5``, ``"x"``, ``["1 USD"]``) or else a bare string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value")
    key, value = text.split("=", 1)
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed


def load_run_config(
    path: Path, overrides: dict[str, Any] | None = None, raw_overrides: list[tuple[str, Any]] | None = None
) -> RunConfig:
    """Read, override and validate a run config; every failure is a one-line ``ConfigError``."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    for key, value in raw_overrides or []:
        set_dotted(raw, key, value)
    for key, value in (overrides or {}).items():
        set_dotted(raw, key, value)
    raw["source"] = path.resolve()
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(validation_message(str(path), exc)) from None


def default_run_id(config: RunConfig) -> str:
    """A sortable, unique-enough id: UTC time plus the config's name."""
    stem = config.source.stem if config.source else "run"
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", stem)
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{stem}"
