"""CME instruments on an FCM/ISV gateway: Nautilus ``ESZ6.CME`` -> the gateway's symbol fields.

Gateways differ: some take the Globex code in Symbol (55=ESZ6), others the product and the
maturity (55=ES, 167=FUT, 200=202612, 207=CME, as e.g. Trading Technologies' FIX API does), some a
SecurityID (48) from their own instrument list. ``style`` picks the rule; ``symbols`` and
``security_ids`` override it per instrument with whatever the gateway's instrument list says.
"""

from __future__ import annotations

from typing import Literal

from nautilus_trader.model.identifiers import InstrumentId
from pydantic import Field, field_validator

from macrofund.config.base import FrozenModel

__all__ = ["CmeSymbology"]

WireField = tuple[int, str]


def _check_cme_ids(value: dict[str, str]) -> dict[str, str]:
    for key, mapped in value.items():
        try:
            iid = InstrumentId.from_str(key)
        except (ValueError, TypeError):
            raise ValueError(f"{key!r} is not an instrument id (expected e.g. ESZ6.CME)") from None
        if iid.venue.value != "CME":
            raise ValueError(f"{key}: only CME instruments can be mapped to the CME gateway")
        if not mapped.strip() or "\x01" in mapped:
            raise ValueError(f"{key}: mapped value {mapped!r} is empty or contains SOH")
    return value


class CmeSymbology(FrozenModel):
    """Config of how the gateway names instruments."""

    style: Literal["code", "root_maturity"] = "code"
    security_exchange: str | None = "CME"
    symbols: dict[str, str] = Field(default_factory=dict)
    security_ids: dict[str, str] = Field(default_factory=dict)
    security_id_source: str = "8"

    @field_validator("symbols", "security_ids")
    @classmethod
    def _cme_instrument_ids(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_cme_ids(value)

    def instrument_fields(self, instrument_id: InstrumentId) -> tuple[WireField, ...]:
        """Symbol block for ``instrument_id``: configured override, else the ``style`` rule."""
        key = str(instrument_id)
        code = instrument_id.symbol.value
        fields: list[WireField] = []
        if key in self.symbols:
            fields.append((55, self.symbols[key]))
        elif self.style == "code":
            fields.append((55, code))
        else:
            from macrofund.venues.contracts import parse_contract_code

            parsed = parse_contract_code(code)
            fields += [(55, parsed.root), (167, "FUT"), (200, f"{parsed.year:04d}{parsed.month:02d}")]
        if key in self.security_ids:
            fields += [(48, self.security_ids[key]), (22, self.security_id_source)]
        if self.security_exchange is not None:
            fields.append((207, self.security_exchange))
        return tuple(fields)

    def instrument_id(
        self, symbol: str | None, security_id: str | None = None, maturity_month_year: str | None = None
    ) -> InstrumentId:
        """The Nautilus id of an instrument named in a report (overrides first, then the style rule)."""
        for mapping, wire in ((self.security_ids, security_id), (self.symbols, symbol)):
            if wire is None:
                continue
            for key, value in mapping.items():
                if value == wire:
                    return InstrumentId.from_str(key)
        if not symbol:
            raise ValueError(f"report names no known instrument (55={symbol!r}, 48={security_id!r})")
        if self.style == "root_maturity" and maturity_month_year is not None:
            from macrofund.venues.contracts import MONTH_CODES

            if len(maturity_month_year) < 6 or not maturity_month_year[:6].isdigit():
                raise ValueError(f"tag 200={maturity_month_year!r} is not YYYYMM")
            year, month = int(maturity_month_year[:4]), int(maturity_month_year[4:6])
            if not 1 <= month <= 12:
                raise ValueError(f"tag 200={maturity_month_year!r} has no month {month}")
            return InstrumentId.from_str(f"{symbol}{MONTH_CODES[month - 1]}{year % 10}.CME")
        return InstrumentId.from_str(f"{symbol}.CME")
