"""The run recorder: captures what a run did, and keeps long runs fast by purging what it has captured.

NautilusTrader 1.221's per-event cost grows with the closed orders and positions kept in its cache. The
recorder copies every fill, closed order, closed position and account state into its own rows first and
only then purges them from the cache, on a sim-time timer. Nothing reaches the run outputs through the
cache alone, so purging loses nothing.

It subscribes at ``register_base`` rather than ``on_start``: in 1.221 a wildcard subscription made after
a topic was first published is never delivered (see NAUTILUS-1.221-NOTES.md §d).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import TimeEvent
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import AccountState, OrderFilled, PositionClosed
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.orders import Order
from nautilus_trader.model.position import Position

Row = dict[str, Any]
ProgressCallback = Callable[[int], None]


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _refusal_reason(order: Order) -> str | None:
    """Why the venue rejected, or pre-trade risk denied, the order (``None`` for any other status)."""
    if order.status not in (OrderStatus.REJECTED, OrderStatus.DENIED):
        return None
    reason = getattr(order.last_event, "reason", None)
    return None if reason is None else str(reason)


class RunRecorderConfig(ActorConfig, frozen=True):
    """Sampling and purge intervals (sim time)."""

    equity_interval_secs: float = 3600.0
    purge_interval_secs: float = 3600.0


class RunRecorder(Actor):
    """Records fills, orders, positions, account states and an equity curve; purges the kernel cache."""

    def __init__(
        self,
        config: RunRecorderConfig,
        venues: list[Venue],
        on_progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(config)
        self._venues = venues
        self._equity_interval = timedelta(seconds=config.equity_interval_secs)
        self._purge_interval = timedelta(seconds=config.purge_interval_secs)
        self._on_progress = on_progress
        self.fills: list[Row] = []
        self.orders: list[Row] = []
        self.positions: list[Row] = []
        self.accounts: list[Row] = []
        self.equity: list[Row] = []
        self.purges = 0
        self._recorded_orders: set[str] = set()

    def register_base(self, portfolio: Any, msgbus: Any, cache: Any, clock: Any) -> None:
        super().register_base(portfolio, msgbus, cache, clock)
        msgbus.subscribe("events.fills.*", self._on_fill)
        msgbus.subscribe("events.position.*", self._on_position)
        msgbus.subscribe("events.account.*", self._on_account)

    def on_start(self) -> None:
        self.clock.set_timer("macrofund-equity", self._equity_interval, callback=self._on_equity_timer)
        self.clock.set_timer("macrofund-purge", self._purge_interval, callback=self._on_purge_timer)

    # -- bus handlers -------------------------------------------------------------------------------

    def _on_fill(self, event: OrderFilled) -> None:
        qty = event.last_qty.as_decimal()
        self.fills.append(
            {
                "ts_event": event.ts_event,
                "trade_id": event.trade_id.value,
                "client_order_id": event.client_order_id.value,
                "venue_order_id": event.venue_order_id.value,
                "position_id": event.position_id.value if event.position_id is not None else None,
                "strategy_id": event.strategy_id.value,
                "instrument_id": event.instrument_id.value,
                "account_id": event.account_id.value,
                "side": "BUY" if event.order_side == OrderSide.BUY else "SELL",
                "quantity": qty,
                "price": event.last_px.as_decimal(),
                "currency": event.currency.code,
                "commission": event.commission.as_decimal(),
                "commission_currency": event.commission.currency.code,
                "liquidity": "MAKER" if event.liquidity_side == 1 else "TAKER",
            }
        )

    def _on_position(self, event: object) -> None:
        if isinstance(event, PositionClosed):
            self.positions.append(self._closed_position_row(event))

    def _on_account(self, event: AccountState) -> None:
        for balance in event.balances:
            self.accounts.append(
                {
                    "ts_event": event.ts_event,
                    "account_id": event.account_id.value,
                    "currency": balance.currency.code,
                    "total": balance.total.as_decimal(),
                    "locked": balance.locked.as_decimal(),
                    "free": balance.free.as_decimal(),
                }
            )

    # -- timers -------------------------------------------------------------------------------------

    def _on_equity_timer(self, event: TimeEvent) -> None:
        self.sample_equity(event.ts_event)
        if self._on_progress is not None:
            self._on_progress(event.ts_event)

    def _on_purge_timer(self, event: TimeEvent) -> None:
        self.purge(event.ts_event)

    # -- work ---------------------------------------------------------------------------------------

    def sample_equity(self, ts: int) -> None:
        """One equity point per venue account: balance plus unrealised P&L of its open positions."""
        for venue in self._venues:
            account = self.cache.account_for_venue(venue)  # Portfolio.account logs an error when none
            if account is None:
                continue
            unrealized = self.portfolio.unrealized_pnls(venue)
            for currency in account.currencies():
                balance = account.balance_total(currency)
                if balance is None:
                    continue
                upnl = unrealized.get(currency)
                upnl_dec = upnl.as_decimal() if upnl is not None else Decimal(0)
                self.equity.append(
                    {
                        "ts": ts,
                        "venue": venue.value,
                        "currency": currency.code,
                        "balance": balance.as_decimal(),
                        "unrealized_pnl": upnl_dec,
                        "equity": balance.as_decimal() + upnl_dec,
                    }
                )

    def purge(self, ts: int) -> None:
        """Copy closed orders into the rows, then drop closed orders, positions and old account events."""
        cache: Any = self.cache
        for order in cache.orders_closed():
            self._record_order(order)
        cache.purge_closed_orders(ts, 0)
        cache.purge_closed_positions(ts, 0)
        cache.purge_account_events(ts, 0)
        self.purges += 1

    def finalize(self, ts: int) -> None:
        """Capture everything still in the cache at the end of the run (orders, open positions)."""
        for order in self.cache.orders():
            self._record_order(order)
        for position in self.cache.positions_open():
            self.positions.append(self._open_position_row(position))
        self.sample_equity(ts)

    def _record_order(self, order: Order) -> None:
        key = order.client_order_id.value
        if key in self._recorded_orders:
            return
        self._recorded_orders.add(key)
        price = getattr(order, "price", None)
        trigger = getattr(order, "trigger_price", None)
        self.orders.append(
            {
                "ts_init": order.ts_init,
                "ts_last": order.ts_last,
                "client_order_id": key,
                "venue_order_id": order.venue_order_id.value if order.venue_order_id else None,
                "strategy_id": order.strategy_id.value,
                "instrument_id": order.instrument_id.value,
                "side": order.side_string(),
                "type": order.type_string(),
                "time_in_force": order.tif_string(),
                "quantity": order.quantity.as_decimal(),
                "filled_qty": order.filled_qty.as_decimal(),
                "price": price.as_decimal() if price is not None else None,
                "trigger_price": trigger.as_decimal() if trigger is not None else None,
                "avg_px": _dec(order.avg_px) if order.filled_qty.as_decimal() > 0 else None,
                "status": order.status_string(),
                "reason": _refusal_reason(order),
                "exec_algorithm_id": order.exec_algorithm_id.value if order.exec_algorithm_id else None,
                "exec_spawn_id": order.exec_spawn_id.value if order.exec_spawn_id else None,
                "tags": ",".join(order.tags) if order.tags else None,
            }
        )

    @staticmethod
    def _closed_position_row(event: PositionClosed) -> Row:
        return {
            "position_id": event.position_id.value,
            "strategy_id": event.strategy_id.value,
            "instrument_id": event.instrument_id.value,
            "entry": "LONG" if event.entry == OrderSide.BUY else "SHORT",
            "status": "CLOSED",
            "peak_qty": event.peak_qty.as_decimal(),
            "quantity": Decimal(0),
            "avg_px_open": _dec(event.avg_px_open),
            "avg_px_close": _dec(event.avg_px_close),
            "realized_pnl": event.realized_pnl.as_decimal(),
            "unrealized_pnl": Decimal(0),
            "currency": event.currency.code,
            "ts_opened": event.ts_opened,
            "ts_closed": event.ts_closed,
        }

    def _open_position_row(self, position: Position) -> Row:
        unrealized = self.portfolio.unrealized_pnl(position.instrument_id)
        return {
            "position_id": position.id.value,
            "strategy_id": position.strategy_id.value,
            "instrument_id": position.instrument_id.value,
            "entry": "LONG" if position.entry == OrderSide.BUY else "SHORT",
            "status": "OPEN",
            "peak_qty": position.peak_qty.as_decimal(),
            "quantity": position.signed_decimal_qty(),
            "avg_px_open": _dec(position.avg_px_open),
            "avg_px_close": _dec(position.avg_px_close) if position.avg_px_close else None,
            "realized_pnl": position.realized_pnl.as_decimal() if position.realized_pnl else Decimal(0),
            "unrealized_pnl": unrealized.as_decimal() if unrealized is not None else None,
            "currency": position.quote_currency.code,
            "ts_opened": position.ts_opened,
            "ts_closed": None,
        }
