"""B3 instrument identification on the wire: Nautilus ``DI1F27.B3`` <-> Symbol / SecurityID / 207.

B3 identifies an instrument by its ticker (Symbol 55, e.g. ``DI1F27``, ``WINZ26``) and, where the
session is configured for it, by the numeric SecurityID (48) from B3's instrument list with
SecurityIDSource (22) = 8 (exchange symbol), always with SecurityExchange (207) = BVMF. SecurityIDs
change with every listing, so they come from config (or an instrument-list download), never from code.
"""

from __future__ import annotations

from nautilus_trader.model.identifiers import InstrumentId
from pydantic import Field, field_validator

from macrofund.config.base import FrozenModel

WireField = tuple[int, str]

__all__ = ["B3Symbology"]


class B3Symbology(FrozenModel):
    """Config: ``security_ids`` maps ``"DI1F27.B3"`` to B3's SecurityID; tickers need no config."""

    security_exchange: str = "BVMF"
    security_ids: dict[str, str] = Field(default_factory=dict)

    @field_validator("security_ids")
    @classmethod
    def _b3_instrument_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for key, security_id in value.items():
            try:
                iid = InstrumentId.from_str(key)
            except (ValueError, TypeError):
                raise ValueError(f"{key!r} is not an instrument id (expected e.g. DI1F27.B3)") from None
            if iid.venue.value != "B3":
                raise ValueError(f"{key}: only B3 instruments can have a B3 SecurityID")
            if not security_id.strip():
                raise ValueError(f"{key}: SecurityID must not be empty")
        return value

    def instrument_fields(self, instrument_id: InstrumentId) -> tuple[WireField, ...]:
        """Symbol (55), SecurityID (48) + SecurityIDSource (22=8) when configured, SecurityExchange."""
        fields: list[WireField] = [(55, instrument_id.symbol.value)]
        security_id = self.security_ids.get(str(instrument_id))
        if security_id is not None:
            fields += [(48, security_id), (22, "8")]
        fields.append((207, self.security_exchange))
        return tuple(fields)

    def instrument_id(self, symbol: str | None, security_id: str | None = None) -> InstrumentId:
        """The Nautilus id of an instrument named in a report by Symbol (55) or SecurityID (48)."""
        if security_id is not None:
            for key, value in self.security_ids.items():
                if value == security_id:
                    return InstrumentId.from_str(key)
        if not symbol:
            raise ValueError(f"report names no known instrument (55={symbol!r}, 48={security_id!r})")
        return InstrumentId.from_str(f"{symbol}.B3")
