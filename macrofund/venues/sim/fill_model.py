"""The Almgren-Chriss fill model of the simulated exchange (backtest now, the paper venue later).

Nautilus calls ``get_orderbook_for_fill_simulation`` when an order takes liquidity and matches the order
against the book we return. We return a book on the far side holding the order's FULL size on at most two
tick-priced levels whose VWAP is the model price (``macrofund.venues.sim.levels``):

    VWAP = arrival + s * (epsilon + eta * (q / tau)^beta) + permanent offset

with ``arrival`` the mid of the exchange's best bid/ask (on bar data bid = ask = the bar price being
matched), ``s`` +1 for a buy and -1 for a sell, ``tau`` the configured market-order horizon in trading
days. After the order, ``gamma * (q / tau)^alpha * tau`` (the library's ``permanent_impact``) is added
to a per-instrument offset that shifts OUR later fills only and halves every ``half_life``. The hook
sees no clock: the order's ``ts_init`` (when the strategy created it; the fill follows at the same sim
time in backtest) is the time source of the decay.

Speed: the hook runs once per aggressive order and the engine pays ~0.8 ms for every fill it makes, so
everything per instrument (tick arithmetic, tau, coefficients) is precomputed once, impact per order
size is cached, prices are computed in float ticks and built as exact ``Price`` objects from integer
raw values, and one reusable ``OrderBook`` per instrument is refilled with one or two levels.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
from nautilus_trader.backtest.config import FillModelConfig
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.enums import BookType, LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order
from pydantic import ValidationError

from macrofund.errors import ConfigError
from macrofund.venues.sim.config import ImpactParams
from macrofund.venues.sim.levels import adverse_levels

# Books cached per instrument (by side, levels and sizes): prices and order sizes recur constantly, so
# most orders reuse a book built earlier; the bound only keeps a trending multi-year run from growing it.
_CACHE_LIMIT = 4096


class AlmgrenChrissFillModelConfig(FillModelConfig, frozen=True):
    """Importable config of ``AlmgrenChrissFillModel`` (for ``ImportableFillModelConfig``).

    ``instruments`` maps an instrument id (``ESH4.CME``) to its ``ImpactParams`` fields; the durations
    are nanoseconds. Build it with ``macrofund.venues.sim.fill_model_config`` from the run config.
    """

    instruments: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    market_order_horizon_ns: int = 60_000_000_000
    permanent_impact_half_life_ns: int = 1_800_000_000_000
    max_levels: int = 1


class InstrumentImpact:
    """One instrument's precomputed model and its permanent-impact state (offset in ticks, last update)."""

    __slots__ = (
        "_books",
        "_half_life_ns",
        "_impact_by_lots",
        "_increment",
        "_instrument_id",
        "_max_levels",
        "_model",
        "_offset_ticks",
        "_offset_ts",
        "_precision",
        "_size_precision",
        "_size_raw",
        "_tau_days",
        "_tick",
        "_tick_raw",
    )

    def __init__(
        self,
        instrument: Instrument,
        params: ImpactParams,
        horizon_ns: int,
        half_life_ns: int,
        max_levels: int,
    ) -> None:
        self._instrument_id = instrument.id
        self._model = params.model()
        self._tau_days = params.in_trading_days(horizon_ns)
        self._half_life_ns = float(half_life_ns)
        self._max_levels = max_levels
        self._tick_raw: int = instrument.price_increment.raw
        self._tick = float(instrument.price_increment.as_decimal())
        self._precision: int = instrument.price_precision
        self._size_raw: int = instrument.size_increment.raw
        self._increment = float(instrument.size_increment.as_decimal())
        self._size_precision: int = instrument.size_precision
        self._impact_by_lots: dict[int, tuple[float, float]] = {}
        self._books: dict[tuple, OrderBook] = {}
        self._offset_ticks = 0.0
        self._offset_ts = 0

    @property
    def tau_days(self) -> float:
        """The market-order horizon in trading days (the model's time unit)."""
        return self._tau_days

    def permanent_offset(self, ts_ns: int) -> float:
        """The permanent-impact offset (price units, signed) our fills would see at ``ts_ns``."""
        return self._decayed(ts_ns) * self._tick

    def _decayed(self, ts_ns: int) -> float:
        offset = self._offset_ticks
        if offset == 0.0 or ts_ns <= self._offset_ts:
            return offset
        return offset * math.exp2((self._offset_ts - ts_ns) / self._half_life_ns)

    def _impact_ticks(self, lots: int) -> tuple[float, float]:
        """(temporary cost per unit, permanent shift) in ticks for an order of ``lots`` increments."""
        cached = self._impact_by_lots.get(lots)
        if cached is None:
            q = lots * self._increment
            cached = (
                self._model.temporary_impact_per_unit(q, self._tau_days) / self._tick,
                self._model.permanent_impact(q, self._tau_days) / self._tick,
            )
            self._impact_by_lots[lots] = cached
        return cached

    def book_for(self, order: Order, best_bid: Price, best_ask: Price, limit: Price | None) -> OrderBook:
        """The far-side book for ``order`` (full size); records the permanent impact of what will fill."""
        leaves_raw: int = order.leaves_qty.raw
        lots = leaves_raw // self._size_raw or 1  # a size below one increment is priced as one
        buy = order.side == OrderSide.BUY
        temporary, permanent = self._impact_ticks(lots)
        ts = order.ts_init
        offset = self._decayed(ts)
        mid_ticks = (best_bid.raw + best_ask.raw) / (2 * self._tick_raw)
        levels = adverse_levels(
            mid_ticks + offset + (temporary if buy else -temporary), lots, buy, self._max_levels
        )
        extra_raw = leaves_raw - lots * self._size_raw
        filled_lots = lots
        if limit is not None:
            # A marketable limit fills at arrival only if the model's WHOLE order is within its limit:
            # Nautilus 1.221 fills whatever a simulated book leaves of a limit order one tick past the
            # last level, through the limit. Otherwise the book is empty and the order rests at its
            # limit (Nautilus logs "no fills from book"), to fill passively by the standard logic.
            worst = levels[-1][0] * self._tick_raw
            if worst > limit.raw if buy else worst < limit.raw:
                levels, extra_raw, filled_lots = [], 0, 0
        # The last (worst) level absorbs any size below one increment, so sizes sum exactly to leaves.
        key = (buy, extra_raw, *levels)
        book = self._books.get(key)
        if book is None:
            book = self._new_book(key)
        if filled_lots:
            shift = permanent if filled_lots == lots else self._impact_ticks(filled_lots)[1]
            self._offset_ticks = offset + (shift if buy else -shift)
            self._offset_ts = max(ts, self._offset_ts)
        return book

    def _new_book(self, key: tuple) -> OrderBook:
        """A book holding the levels in ``key``; books never change once built, so they are reused."""
        if len(self._books) >= _CACHE_LIMIT:
            self._books.clear()
        buy, extra_raw, *levels = key
        book = OrderBook(self._instrument_id, BookType.L2_MBP)
        side = OrderSide.SELL if buy else OrderSide.BUY
        last = len(levels) - 1
        for n, (ticks, level_lots) in enumerate(levels):
            raw = level_lots * self._size_raw + (extra_raw if n == last else 0)
            price = Price.from_raw(ticks * self._tick_raw, self._precision)
            book.add(BookOrder(side, price, Quantity.from_raw(raw, self._size_precision), n + 1), 0, 0)
        self._books[key] = book
        return book


class AlmgrenChrissFillModel(FillModel):
    """Fill market (and marketable limit) orders at the Almgren-Chriss price, walking at most two levels.

    Build it through ``macrofund.venues.sim.build_fill_model`` (backtest) or ``FillModelFactory`` with
    ``macrofund.venues.sim.fill_model_config`` (the paper venue): both validate every instrument's
    parameters up front, so a missing one is a ``ConfigError`` before the run, not a failure mid-run.
    Resting limit orders that the market later trades through fill by Nautilus's standard logic at
    their limit (passive liquidity pays no temporary impact). Deterministic: no randomness is used,
    ``prob_slippage`` must be 0 and the probabilities of limit/stop fills must be 1.
    """

    def __init__(self, config: AlmgrenChrissFillModelConfig | None = None) -> None:
        config = config or AlmgrenChrissFillModelConfig()
        if config.prob_slippage != 0.0:
            raise ConfigError(
                "fill_model: prob_slippage must be 0 with the Almgren-Chriss model (it adds a tick on top)"
            )
        if config.prob_fill_on_limit != 1.0 or config.prob_fill_on_stop != 1.0:
            raise ConfigError(
                "fill_model: prob_fill_on_limit and prob_fill_on_stop must be 1 (deterministic)"
            )
        if config.market_order_horizon_ns <= 0 or config.permanent_impact_half_life_ns <= 0:
            raise ConfigError(
                "fill_model: market_order_horizon and permanent_impact_half_life must be positive"
            )
        if config.max_levels not in (1, 2):
            raise ConfigError(f"fill_model.max_levels must be 1 or 2, got {config.max_levels}")
        super().__init__(config=config)
        self._config = config
        self._params = {key: _params(key, value) for key, value in config.instruments.items()}
        self._states: dict[InstrumentId, InstrumentImpact] = {}

    @property
    def instrument_ids(self) -> list[str]:
        """The instruments this model has parameters for."""
        return sorted(self._params)

    def impact_for(self, instrument: Instrument) -> InstrumentImpact:
        """The instrument's model state (built on first use); ``ConfigError`` if it has no parameters."""
        state = self._states.get(instrument.id)
        if state is None:
            params = self._params.get(instrument.id.value)
            if params is None:
                raise ConfigError(
                    f"fill_model.impact: no Almgren-Chriss parameters for {instrument.id} "
                    f"(configured: {', '.join(self.instrument_ids) or 'none'})"
                )
            state = InstrumentImpact(
                instrument,
                params,
                self._config.market_order_horizon_ns,
                self._config.permanent_impact_half_life_ns,
                self._config.max_levels,
            )
            self._states[instrument.id] = state
        return state

    def get_orderbook_for_fill_simulation(
        self, instrument: Instrument, order: Order, best_bid: Price, best_ask: Price
    ) -> OrderBook | None:
        """Impact book for a MARKET order or a LIMIT order marketable on arrival; ``None`` otherwise."""
        order_type = order.order_type
        if order_type == OrderType.MARKET:
            limit = None
        elif order_type == OrderType.LIMIT and order.liquidity_side == LiquiditySide.TAKER:
            limit = order.price  # the engine matches the book up to the limit; never through it
        else:
            return None
        state = self._states.get(instrument.id)
        if state is None:
            state = self.impact_for(instrument)
        return state.book_for(order, best_bid, best_ask, limit)


def _params(instrument_id: str, values: dict[str, Any]) -> ImpactParams:
    try:
        return ImpactParams.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "?"
        raise ConfigError(
            f"fill_model.impact.{instrument_id}.{key}: {str(first['msg']).removeprefix('Value error, ')}"
        ) from None
