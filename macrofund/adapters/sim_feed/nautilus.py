"""Turn the simulator's integer-tick events into Nautilus ``QuoteTick``/``TradeTick`` exactly.

A price of ``k`` ticks is ``k * tick_raw`` in Nautilus fixed point (``tick_raw`` = tick size x 10^16, an
integer for every tick size with at most 16 decimals), so no binary float ever touches a price.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.identifiers import InstrumentId, TradeId
from nautilus_trader.model.objects import FIXED_PRECISION, Price, Quantity

from macrofund.adapters.sim_feed.gbm import SimEvent, SimInstrument, SimQuote
from macrofund.venues.contracts import decimal_places

_SCALE = 10**FIXED_PRECISION


class SimEventConverter:
    """Converts ``SimQuote``/``SimTrade`` of the given instruments; ``ts_init`` is supplied per call."""

    def __init__(self, instruments: Sequence[SimInstrument]) -> None:
        self._ids = [InstrumentId.from_str(inst.instrument_id) for inst in instruments]
        self._precision = [decimal_places(inst.tick_size) for inst in instruments]
        self._tick_raw = []
        for inst in instruments:
            raw = inst.tick_size * _SCALE
            if raw != raw.to_integral_value():
                raise ValueError(f"{inst.instrument_id}: tick {inst.tick_size} has more than 16 decimals")
            self._tick_raw.append(int(raw))
        self._trade_seq = 0

    def convert(self, event: SimEvent, ts_init: int) -> QuoteTick | TradeTick:
        """The Nautilus object of one event."""
        i = event.instrument
        tick_raw = self._tick_raw[i]
        prec = self._precision[i]
        if isinstance(event, SimQuote):
            return QuoteTick.from_raw(
                self._ids[i],
                event.bid_ticks * tick_raw,
                event.ask_ticks * tick_raw,
                prec,
                prec,
                event.bid_size * _SCALE,
                event.ask_size * _SCALE,
                0,
                0,
                event.ts_ns,
                ts_init,
            )
        self._trade_seq += 1
        return TradeTick(
            self._ids[i],
            Price.from_raw(event.price_ticks * tick_raw, prec),
            Quantity.from_raw(event.size * _SCALE, 0),
            AggressorSide.BUYER if event.buyer_aggressor else AggressorSide.SELLER,
            TradeId(f"SIM-{self._trade_seq}"),
            event.ts_ns,
            ts_init,
        )


def price_of(ticks: int, tick_size: Decimal) -> Decimal:
    """The exact decimal price of ``ticks`` ticks (for display and tests)."""
    return ticks * tick_size
