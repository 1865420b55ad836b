"""How an order that takes liquidity is priced: at the touch, or by the backtest's Almgren-Chriss model.

``TouchPricing`` (fill model ``default``): a buy pays the reference ask, a sell gets the bid, all of it.
``AlmgrenChrissPricing`` is the backtest fill model's math in wire ticks: VWAP = mid + s * (epsilon +
eta * (q / tau)^beta) + our decaying permanent offset, spread over at most ``max_levels`` adjacent
ticks by ``adverse_levels`` (never better for the order than the model), and the order leaves
``gamma * (q / tau)^alpha * tau`` of permanent offset that halves every ``half_life``. A marketable
limit whose worst level is through its limit does not trade aggressively: it rests at its limit,
exactly as in the backtest.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Protocol

from macrofund.venues.sim.config import FillModelSettings, ImpactParams
from macrofund.venues.sim.levels import adverse_levels

__all__ = ["AlmgrenChrissPricing", "Level", "Pricing", "TouchPricing"]

Level = tuple[Decimal, int]  # (price, lots)


class Pricing(Protocol):
    """Prices one aggressive order of ``lots`` against the reference bid/ask (``None``: not marketable)."""

    def levels(
        self,
        bid: Decimal,
        ask: Decimal,
        tick: Decimal,
        lots: int,
        buy: bool,
        limit: Decimal | None,
        ts_ns: int,
    ) -> list[Level] | None: ...


def _within(price: Decimal, limit: Decimal | None, buy: bool) -> bool:
    return limit is None or (price <= limit if buy else price >= limit)


class TouchPricing:
    """All at the touch: buy at the ask, sell at the bid."""

    def levels(
        self,
        bid: Decimal,
        ask: Decimal,
        tick: Decimal,
        lots: int,
        buy: bool,
        limit: Decimal | None,
        ts_ns: int,
    ) -> list[Level] | None:
        price = ask if buy else bid
        return [(price, lots)] if _within(price, limit, buy) else None


class AlmgrenChrissPricing:
    """One instrument's Almgren-Chriss pricing and permanent-impact state (see the module docstring)."""

    def __init__(self, params: ImpactParams, settings: FillModelSettings) -> None:
        self._model = params.model()
        self._tau = params.in_trading_days(settings.market_order_horizon.total_seconds() * 1e9)
        self._half_life_ns = settings.permanent_impact_half_life.total_seconds() * 1e9
        self._max_levels = settings.max_levels
        self._offset = 0.0  # price units, signed
        self._offset_ts = 0

    def offset(self, ts_ns: int) -> float:
        """The permanent offset (price units) our next fill sees at ``ts_ns``."""
        if self._offset == 0.0 or ts_ns <= self._offset_ts:
            return self._offset
        return self._offset * math.exp2((self._offset_ts - ts_ns) / self._half_life_ns)

    def levels(
        self,
        bid: Decimal,
        ask: Decimal,
        tick: Decimal,
        lots: int,
        buy: bool,
        limit: Decimal | None,
        ts_ns: int,
    ) -> list[Level] | None:
        tick_f = float(tick)
        temporary = self._model.temporary_impact_per_unit(lots, self._tau)
        offset = self.offset(ts_ns)
        mid = float((bid + ask) / 2)
        target_ticks = (mid + offset + (temporary if buy else -temporary)) / tick_f
        raw = adverse_levels(target_ticks, lots, buy, self._max_levels)
        levels = [(tick * ticks, size) for ticks, size in raw]
        if not _within(levels[-1][0], limit, buy):
            return None
        shift = self._model.permanent_impact(lots, self._tau)
        self._offset = offset + (shift if buy else -shift)
        self._offset_ts = max(ts_ns, self._offset_ts)
        return levels
