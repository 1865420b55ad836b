"""What the cache stores, as JSON: instrument definitions, reference prices, positions and accounts.

Decimals travel as strings (exact); timestamps as UTC nanoseconds. Instruments use Nautilus's own
``to_dict``/``from_dict``, so a cached instrument is the same object the venue defined.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.model import instruments as nautilus_instruments
from nautilus_trader.model.instruments import Instrument


def encode_instrument(instrument: Instrument) -> str:
    """JSON of a Nautilus instrument (any type)."""
    return json.dumps(type(instrument).to_dict(instrument))


def decode_instrument(text: str) -> Instrument:
    """The instrument back from ``encode_instrument``."""
    data = json.loads(text)
    cls = getattr(nautilus_instruments, data["type"])
    return cls.from_dict(data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ReferencePrice:
    """The latest price seen for an instrument (bar close, or quote mid) and when."""

    instrument_id: str
    price: Decimal
    ts_ns: int
    source: str

    def encode(self) -> str:
        return json.dumps({**asdict(self), "price": str(self.price)})

    @classmethod
    def decode(cls, text: str) -> ReferencePrice:
        data = json.loads(text)
        return cls(data["instrument_id"], Decimal(data["price"]), int(data["ts_ns"]), data["source"])


@dataclass(frozen=True)
class AccountSnapshot:
    """An account's latest balances and open positions, for the control plane.

    ``positions`` rows: position_id, instrument_id, strategy_id, side, quantity, avg_px_open,
    realized_pnl, unrealized_pnl (Money strings such as ``"125.00 USD"``), ts_ns.
    """

    account_id: str
    balances: list[dict[str, str]]
    positions: list[dict[str, Any]]
    ts_ns: int

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, text: str) -> AccountSnapshot:
        data = json.loads(text)
        return cls(data["account_id"], data["balances"], data["positions"], int(data["ts_ns"]))
