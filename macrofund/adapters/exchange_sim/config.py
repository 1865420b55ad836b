"""Config of the local venue (``configs/exchange-sim-<venue>.toml``): sessions, instruments, prices, fills.

Every price in this file is a WIRE price: what the venue quotes and matches (for DI1 a rate in % p.a.,
for everything else the contract's own price). Validated at load; a mistake is one ``ConfigError``
line naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from macrofund.adapters.b3.symbology import B3Symbology
from macrofund.adapters.cme.symbology import CmeSymbology
from macrofund.adapters.fix.config import FixSessionConfig, FixStoreConfig
from macrofund.config.base import FrozenModel
from macrofund.errors import ConfigError
from macrofund.venues.sim.config import FillModelSettings

VenueName = Literal["b3", "cme"]
OrderTypeName = Literal["market", "limit", "stop", "stop_limit"]
TifName = Literal["day", "gtc", "ioc", "fok", "gtd"]

__all__ = [
    "ExchangeSimConfig",
    "SimInstrumentConfig",
    "SimReferenceConfig",
    "SimSessionConfig",
    "build_config",
    "default_config",
    "load_exchange_sim_config",
]


class SimSessionConfig(FrozenModel):
    """One client allowed to log on: its SenderCompID and, optionally, the credentials it must send.

    ``password_env`` names an environment variable holding the password (read once, at load);
    ``password`` is accepted too because this is a local simulator, but keep real secrets out of files.
    """

    comp_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    heartbeat_interval_secs: int = Field(default=30, ge=1, le=3600)

    @model_validator(mode="after")
    def _one_password_source(self) -> SimSessionConfig:
        if self.password is not None and self.password_env is not None:
            raise ValueError("give password or password_env, not both")
        return self

    def resolved_password(self) -> SecretStr | None:
        """The password the client must send (``ConfigError`` when ``password_env`` is unset)."""
        if self.password_env is None:
            return self.password
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"sessions.{self.comp_id}.password_env: environment variable {self.password_env} is not set"
            )
        return SecretStr(value)


class SimInstrumentConfig(FrozenModel):
    """One tradable contract: Nautilus id (``ESZ6.CME``, ``DI1F27.B3``), reference start price, limits."""

    instrument_id: str
    start_price: Decimal = Field(gt=0)  # wire price: DI1 rate in % p.a.
    max_qty: int = Field(default=1_000, gt=0)
    volatility: float = Field(default=0.2, ge=0, le=5)  # annualised, of the reference stream
    spread_ticks: int = Field(default=1, ge=1, le=1_000)


class SimReferenceConfig(FrozenModel):
    """Where the reference prices orders match against come from.

    ``gbm`` (default): the seeded in-process GBM simulator on each instrument's wire tick grid, around
    the clock (no session gaps: a local venue is always open). ``static``: the start price until
    something calls ``ExchangeSimServer.set_reference`` (tests drive the price deterministically).
    """

    source: Literal["gbm", "static"] = "gbm"
    seed: int = Field(default=42, ge=0)
    quotes_per_second: float = Field(default=4.0, gt=0, le=10_000)


class ExchangeSimConfig(FrozenModel):
    """The whole venue: who it is, who may connect, what trades, how orders fill, where state goes."""

    venue: VenueName
    comp_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")  # our SenderCompID
    sessions: list[SimSessionConfig] = Field(min_length=1)
    instruments: list[SimInstrumentConfig] = Field(min_length=1)
    reference: SimReferenceConfig = SimReferenceConfig()
    fill_model: FillModelSettings = FillModelSettings()
    partial_fill_qty: int | None = Field(default=None, gt=0)  # fill at most this many lots per report
    order_types: tuple[OrderTypeName, ...] = ("market", "limit", "stop", "stop_limit")
    time_in_force: tuple[TifName, ...] = ("day", "gtc", "ioc", "fok", "gtd")
    state_dir: Path = Path("state/exchange-sim")
    raw_log: bool = True
    # How clients name instruments: the same sections the execution clients' profiles use.
    b3_symbology: B3Symbology = B3Symbology()
    cme_symbology: CmeSymbology = CmeSymbology()

    @field_validator("instruments")
    @classmethod
    def _known_instruments(cls, value: list[SimInstrumentConfig]) -> list[SimInstrumentConfig]:
        from macrofund.venues.contracts import futures_contract

        seen: set[str] = set()
        for item in value:
            if item.instrument_id in seen:
                raise ValueError(f"{item.instrument_id} is listed twice")
            seen.add(item.instrument_id)
            try:
                futures_contract(item.instrument_id)
            except Exception as exc:  # UnknownInstrumentError / ValueError from the parser
                raise ValueError(f"{item.instrument_id}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ExchangeSimConfig:
        venue = self.venue.upper()
        for item in self.instruments:
            if not item.instrument_id.endswith(f".{venue}"):
                raise ValueError(f"instruments: {item.instrument_id} is not a {venue} instrument")
        ids = [s.comp_id for s in self.sessions]
        if len(set(ids)) != len(ids):
            raise ValueError("sessions: a comp_id is listed twice")
        if self.comp_id in ids:
            raise ValueError(f"sessions: comp_id {self.comp_id} is the venue's own comp_id")
        if not self.order_types or not self.time_in_force:
            raise ValueError("order_types and time_in_force must each list at least one value")
        if self.fill_model.kind == "almgren_chriss":
            for item in self.instruments:
                self.fill_model.params_for(item.instrument_id)  # ConfigError naming what is missing
        return self

    def session_configs(self) -> list[FixSessionConfig]:
        """The acceptor's FIX sessions: file store and raw log under ``state_dir``."""
        return [
            FixSessionConfig(
                sender_comp_id=self.comp_id,
                target_comp_id=s.comp_id,
                username=s.username,
                password=s.resolved_password(),
                heartbeat_interval_secs=s.heartbeat_interval_secs,
                store=FixStoreConfig(kind="file", path=self.state_dir / "fix"),
                log_dir=self.state_dir / "logs" if self.raw_log else None,
            )
            for s in self.sessions
        ]


_DEFAULTS: dict[str, dict[str, Any]] = {
    "b3": {
        "venue": "b3",
        "comp_id": "B3",
        "sessions": [{"comp_id": "MF01", "username": "mf", "password": "local-only"}],
        "instruments": [
            {"instrument_id": "DI1F27.B3", "start_price": "14.250", "max_qty": 5000, "volatility": 0.1},
            {"instrument_id": "DI1F28.B3", "start_price": "13.500", "max_qty": 5000, "volatility": 0.1},
            {"instrument_id": "WINZ26.B3", "start_price": "160000", "max_qty": 500},
            {"instrument_id": "WDOF27.B3", "start_price": "5400.0", "max_qty": 500},
        ],
    },
    "cme": {
        "venue": "cme",
        "comp_id": "CME",
        "sessions": [{"comp_id": "MF01", "username": "mf", "password": "local-only"}],
        "instruments": [
            {"instrument_id": "ESZ6.CME", "start_price": "6000.00", "max_qty": 500},
            {"instrument_id": "ESH7.CME", "start_price": "6050.00", "max_qty": 500},
            {"instrument_id": "6EZ6.CME", "start_price": "1.16000", "max_qty": 500, "volatility": 0.08},
            {"instrument_id": "ZNH7.CME", "start_price": "112.000000", "max_qty": 500, "volatility": 0.06},
        ],
    },
}


def default_config(venue: VenueName, **overrides: Any) -> ExchangeSimConfig:
    """The built-in config of ``venue`` (what ``exchange-sim`` runs without ``--config``)."""
    raw = dict(_DEFAULTS[venue])
    raw.update(overrides)
    return _validate("built-in defaults", raw)


def load_exchange_sim_config(path: Path, **overrides: Any) -> ExchangeSimConfig:
    """Read and validate ``path`` (TOML); ``overrides`` replace top-level keys (CLI options)."""
    raw = _read_toml(path)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return _validate(str(path), raw)


def build_config(
    venue: VenueName,
    path: Path | None = None,
    state_dir: Path | None = None,
    seed: int | None = None,
    fill_model: str | None = None,
) -> ExchangeSimConfig:
    """What ``macrofund exchange-sim`` runs: ``path`` (or the built-in defaults) plus the CLI options."""
    if path is None:
        source, raw = "built-in defaults", dict(_DEFAULTS[venue])
    else:
        source, raw = str(path), _read_toml(path)
        if raw.get("venue", venue) != venue:
            raise ConfigError(f"{path}: venue: {raw.get('venue')!r} but --venue {venue}")
    if state_dir is not None:
        raw["state_dir"] = state_dir
    if seed is not None:
        raw["reference"] = {**raw.get("reference", {}), "seed": seed}
    if fill_model is not None:
        raw["fill_model"] = {**raw.get("fill_model", {}), "kind": fill_model}
    return _validate(source, raw)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _validate(source: str, raw: dict[str, Any]) -> ExchangeSimConfig:
    from macrofund.config.run_config import validation_message

    try:
        return ExchangeSimConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(validation_message(source, exc)) from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
