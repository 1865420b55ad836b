"""One order as the local venue keeps it, in wire terms (DI1: rate and rate side), exact Decimals.

Kept apart from the matching logic so the state file (``state.py``) and the report builders
(``messages.py``) share one definition without importing the engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal, localcontext
from typing import Any

__all__ = ["TERMINAL_STATES", "WORKING_STATES", "VenueOrder"]

#: OrdStatus (39) of an order that can still trade, and of one that never will again.
WORKING_STATES = frozenset({"0", "1"})
TERMINAL_STATES = frozenset({"2", "4", "8", "C"})

_AVG_PLACES = Decimal(1).scaleb(-12)
_DECIMALS = ("qty", "price", "stop_px", "cum_qty", "notional")


@dataclass
class VenueOrder:
    """A working or finished order of one client session (``client`` = its SenderCompID)."""

    order_id: str
    client: str
    cl_ord_id: str
    instrument_id: str
    symbol: str
    side: str  # 54: "1" buy, "2" sell (wire side)
    ord_type: str  # 40: 1 market, 2 limit, 3 stop, 4 stop limit
    tif: str  # 59: 0 day, 1 gtc, 3 ioc, 4 fok, 6 gtd
    qty: Decimal
    price: Decimal | None
    stop_px: Decimal | None
    account: str | None = None
    status: str = "0"  # 39
    cum_qty: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)  # sum of last_px * last_qty, for an exact AvgPx
    triggered: bool = False  # a stop whose trigger was hit (then it trades as market / limit)
    orig_cl_ord_id: str | None = None  # the ClOrdID this one replaced or canceled (41 on reports)
    cl_ord_ids: list[str] = field(default_factory=list)  # every ClOrdID this order had, oldest first
    ts_created_ns: int = 0
    expire_ns: int | None = None  # DAY: the session close; GTD: ExpireTime / end of ExpireDate

    @property
    def is_working(self) -> bool:
        return self.status in WORKING_STATES

    @property
    def is_buy(self) -> bool:
        return self.side == "1"

    @property
    def leaves_qty(self) -> Decimal:
        """LeavesQty (151): what can still trade; zero once the order is done."""
        return self.qty - self.cum_qty if self.is_working else Decimal(0)

    @property
    def avg_px(self) -> Decimal:
        """AvgPx (6): exact ``notional / cum_qty`` to 12 places (0 before the first fill)."""
        if self.cum_qty == 0:
            return Decimal(0)
        with localcontext() as ctx:
            ctx.prec = 60
            return (self.notional / self.cum_qty).quantize(_AVG_PLACES).normalize()

    def book_fill(self, qty: Decimal, price: Decimal) -> None:
        """Add a fill; the status becomes partially filled or filled."""
        self.cum_qty += qty
        self.notional += qty * price
        self.status = "2" if self.cum_qty >= self.qty else "1"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (Decimals as strings, so nothing is rounded through a float)."""
        data = asdict(self)
        for key in _DECIMALS:
            if data[key] is not None:
                data[key] = str(data[key])
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> VenueOrder:
        values = dict(data)
        for key in _DECIMALS:
            if values.get(key) is not None:
                values[key] = Decimal(values[key])
        return VenueOrder(**values)
