"""Which limits apply to an instrument: defaults, then root, then patterns, then the instrument id.

B3 lists a DI1 contract per maturity and caps differ by maturity, so a limit can be keyed by the root
(``DI1``), by a glob over instrument ids (``DI1F2*.B3``: every January 202x maturity) or by one id
(``DI1F27.B3``). Layers merge key by key, most specific last, so a pattern can tighten one cap and
inherit the rest from the root. Patterns apply in the order the config lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from macrofund.risk.config import CollarReference, InstrumentLimits, RiskConfig, instrument_key_kind

# ROOT + month letter + 1-2 digit year; the root may end in a digit (DI1F27 -> DI1).
_CONTRACT = re.compile(r"^(?P<root>.+?)[FGHJKMNQUVXZ]\d{1,2}$")


def contract_root(instrument_id: str) -> str:
    """The root of ``ESZ6.CME`` (``ES``), ``DI1F27.B3`` (``DI1``); a bare root (``ES.CME``) is itself."""
    symbol = instrument_id.rsplit(".", 1)[0]
    match = _CONTRACT.match(symbol)
    return match["root"] if match else symbol


@dataclass(frozen=True)
class EffectiveLimits:
    """The merged limits for one instrument, as the controls read them (``None`` = no limit)."""

    instrument_id: str
    max_order_qty: Decimal | None
    max_order_notional: Decimal | None
    collar_ticks: int | None
    collar_bps: Decimal | None
    collar_reference: CollarReference
    max_long: Decimal | None
    max_short: Decimal | None
    max_net: Decimal | None
    max_gross: Decimal | None
    sources: tuple[str, ...]  # the config keys that contributed, least specific first

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: decimals as strings, so the written limits are exact."""
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if isinstance(value, Decimal):
                out[name] = str(value)
            elif isinstance(value, tuple):
                out[name] = list(value)
            else:
                out[name] = value
        return out


class LimitResolver:
    """Resolves and caches ``EffectiveLimits`` per instrument id."""

    def __init__(self, config: RiskConfig) -> None:
        self._config = config
        self._cache: dict[str, EffectiveLimits] = {}

    def for_instrument(self, instrument_id: str) -> EffectiveLimits:
        """The limits for ``instrument_id`` (resolved once, then cached)."""
        limits = self._cache.get(instrument_id)
        if limits is None:
            limits = self._resolve(instrument_id)
            self._cache[instrument_id] = limits
        return limits

    def _resolve(self, instrument_id: str) -> EffectiveLimits:
        merged: dict[str, Any] = self._config.defaults.model_dump()
        sources = ["defaults"]
        root = contract_root(instrument_id)
        layers: list[tuple[str, InstrumentLimits]] = []
        if root in self._config.instruments and instrument_key_kind(root) == "root":
            layers.append((root, self._config.instruments[root]))
        for key, limits in self._config.instruments.items():
            if instrument_key_kind(key) != "pattern":
                continue
            target = instrument_id if "." in key else instrument_id.rsplit(".", 1)[0]
            if fnmatchcase(target, key):
                layers.append((key, limits))
        exact = self._config.instruments.get(instrument_id)
        if exact is not None:
            layers.append((instrument_id, exact))
        for key, limits in layers:
            for name in limits.model_fields_set:
                merged[name] = getattr(limits, name)
            sources.append(key)
        return EffectiveLimits(instrument_id=instrument_id, sources=tuple(sources), **merged)
