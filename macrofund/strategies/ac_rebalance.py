"""Move to target positions on a bar schedule, executing each move with the Almgren-Chriss algorithm.

The example of routing parent orders to an execution algorithm: every ``rebalance_every`` bars the
strategy takes the next signed target from ``targets`` (cycling) and, if its net position differs,
sends ONE market parent for the difference with ``exec_algorithm_id=ExecAlgorithmId("AC")``. The
algorithm slices it on the kernel clock; the strategy only watches the outcome (fills move its position,
a denial arrives in ``on_order_denied`` with the reason). See ``docs/execution.md``.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from macrofund.errors import ConfigError
from macrofund.positions import netting_unless_set, own_net_position
from macrofund.strategies.execution import AC_EXEC_ALGORITHM_ID

_ZERO = Decimal(0)


class ACRebalanceConfig(StrategyConfig, frozen=True, forbid_unknown_fields=True):
    """Configuration of :class:`ACRebalance`.

    ``targets`` are signed net positions in contracts, visited in turn; ``horizon``, ``slices`` and
    ``risk_aversion`` go to the algorithm with every parent, and ``impact_overrides`` (``sigma``,
    ``eta``, ``gamma``, ``epsilon``, ``beta``, ``alpha``, ``trading_day_hours``) override the venue's
    model parameters for this strategy's orders. Values are passed through unchanged, so the
    algorithm's own checks decide (a bad value shows up as a denied parent, not a crash).
    """

    instrument_id: InstrumentId
    bar_type: BarType
    targets: list[Decimal]
    rebalance_every: int = 60
    horizon: str = "30m"
    slices: int = 10
    risk_aversion: float = 0.0
    impact_overrides: dict[str, float] | None = None

    def __post_init__(self) -> None:
        """Refuse a schedule that can never trade."""
        name = type(self).__name__
        if not self.targets:
            raise ConfigError(f"{name}: targets must list at least one signed position")
        if self.rebalance_every < 1:
            raise ConfigError(f"{name}: rebalance_every must be >= 1 bar, was {self.rebalance_every}")
        if self.bar_type.instrument_id != self.instrument_id:
            raise ConfigError(
                f"{name}: bar_type {self.bar_type} is not for instrument_id {self.instrument_id}"
            )


class ACRebalance(Strategy):
    """Steps through ``targets`` every ``rebalance_every`` bars, one AC parent order per step."""

    def __init__(self, config: ACRebalanceConfig) -> None:
        super().__init__(netting_unless_set(config))
        self._cfg = config
        self._instrument: Instrument | None = None
        self._bars = 0
        self._step = 0
        self._parent: Order | None = None
        self.denials: list[str] = []

    def on_start(self) -> None:
        """Look up the instrument and subscribe to the schedule's bars."""
        self._instrument = self.cache.instrument(self._cfg.instrument_id)
        if self._instrument is None:
            self.log.error(f"Instrument {self._cfg.instrument_id} not in the cache; stopping")
            self.stop()
            return
        self.subscribe_bars(self._cfg.bar_type)

    def on_bar(self, bar: Bar) -> None:
        """Every ``rebalance_every`` bars, send a parent for the move to the next target."""
        self._bars += 1
        if self._bars % self._cfg.rebalance_every or self._instrument is None or self._working():
            return
        targets = self._cfg.targets
        target = targets[self._step % len(targets)]
        self._step += 1
        delta = target - own_net_position(self, self._cfg.instrument_id)
        if delta == _ZERO:
            return
        params: dict[str, object] = {
            "horizon": self._cfg.horizon,
            "slices": self._cfg.slices,
            "risk_aversion": self._cfg.risk_aversion,
            **(self._cfg.impact_overrides or {}),
        }
        parent = self.order_factory.market(
            instrument_id=self._cfg.instrument_id,
            order_side=OrderSide.BUY if delta > _ZERO else OrderSide.SELL,
            quantity=self._instrument.make_qty(abs(delta)),
            exec_algorithm_id=AC_EXEC_ALGORITHM_ID,
            exec_algorithm_params=params,
        )
        self._parent = parent
        self.submit_order(parent)

    def _working(self) -> bool:
        """A parent still held by the algorithm, or any of our children not yet done, is exposure."""
        if self._parent is not None and not self._parent.is_closed:
            return True
        iid = self._cfg.instrument_id
        orders = self.cache.orders_inflight(instrument_id=iid) + self.cache.orders_open(instrument_id=iid)
        return any(order.strategy_id == self.id for order in orders)

    def on_order_denied(self, event: OrderDenied) -> None:
        """Keep the reason (the algorithm's ``AC: ...`` or the risk engine's) and log it."""
        self.denials.append(event.reason)
        self.log.warning(f"{event.client_order_id} denied: {event.reason}")

    def on_stop(self) -> None:
        """Cancel our orders: the algorithm drops the unsent slices of a canceled parent.

        The parent is canceled by name: in Nautilus 1.221 ``cancel_all_orders`` returns early when no
        order is open at the venue, and a parent held by the algorithm between slices never is.
        """
        if self._parent is not None and self._parent.is_active_local:
            self.cancel_order(self._parent)
        self.cancel_all_orders(self._cfg.instrument_id)

    def on_reset(self) -> None:
        """Start the schedule again."""
        self._bars = 0
        self._step = 0
        self._parent = None
        self.denials.clear()
