"""The paper/live console view: positions, working orders, P&L, feed rate and lag, once a second.

Presentation only: ``macrofund.engine.paper`` hands a ``PaperStatus`` snapshot to ``update`` every
second; this module turns it into rich tables. Off a terminal (CI, redirected output) it prints one
plain status line per snapshot instead, so logs stay readable.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from macrofund.engine.paper import PaperStatus


def _money(value: object) -> str:
    return "n/a" if value is None else f"{float(str(value)):,.2f}"


def render(status: PaperStatus) -> Group:
    """The three tables of the view, from one snapshot."""
    head = Table.grid(padding=(0, 2))
    head.add_row(
        f"[bold]{status.run_id}[/]",
        f"{status.elapsed_seconds:,.0f} s",
        f"feed {status.feed_rate:,.0f}/s",
        f"lag {status.feed_lag_ms:,.2f} ms (max {status.feed_max_lag_ms:,.1f})",
        f"data {status.data_delivered:,}",
        f"orders {status.orders:,}",
        f"fills {status.fills:,}",
        *(f"FIX {venue} {state}" for venue, state in status.sessions),
    )
    accounts = Table(title="P&L", title_justify="left")
    for column in ("venue", "ccy", "balance", "unrealised", "equity"):
        accounts.add_column(column, justify="left" if column in ("venue", "ccy") else "right")
    for a in status.accounts:
        accounts.add_row(a.venue, a.currency, _money(a.balance), _money(a.unrealized_pnl), _money(a.equity))
    positions = Table(title="Positions", title_justify="left")
    for column in ("strategy", "instrument", "qty", "avg open", "unrealised", "realised"):
        positions.add_column(column, justify="left" if column in ("strategy", "instrument") else "right")
    for p in status.positions:
        positions.add_row(
            p.strategy_id,
            p.instrument_id,
            str(p.quantity),
            f"{p.avg_px_open:g}",
            _money(p.unrealized_pnl),
            _money(p.realized_pnl),
        )
    orders = Table(title="Working orders", title_justify="left")
    for column in ("id", "instrument", "side", "type", "qty", "filled", "price", "status"):
        orders.add_column(column)
    for o in status.working_orders[:20]:
        orders.add_row(
            o.client_order_id,
            o.instrument_id,
            o.side,
            o.type,
            str(o.quantity),
            str(o.filled_qty),
            "" if o.price is None else str(o.price),
            o.status,
        )
    if len(status.working_orders) > 20:
        orders.caption = f"... and {len(status.working_orders) - 20} more"
    return Group(head, accounts, positions, orders)


def status_line(status: PaperStatus) -> str:
    """One plain line for logs: elapsed, feed, orders, fills, equity per account."""
    equity = " ".join(f"{a.venue}:{a.currency}={float(a.equity):,.2f}" for a in status.accounts)
    sessions = "".join(f"FIX {venue} {state} " for venue, state in status.sessions)
    return (
        f"[{status.elapsed_seconds:6.0f}s] feed {status.feed_rate:,.0f}/s lag {status.feed_lag_ms:.2f}ms "
        f"data {status.data_delivered} orders {status.orders} fills {status.fills} "
        f"positions {len(status.positions)} working {len(status.working_orders)} {sessions}{equity}"
    )


class LiveView:
    """Context manager: a rich ``Live`` display on a terminal, plain status lines elsewhere."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self._console = console
        self._enabled = enabled
        self._live: Live | None = None

    def __enter__(self) -> LiveView:
        if self._enabled and self._console.is_terminal:
            self._live = Live(console=self._console, refresh_per_second=2, transient=True)
            self._live.__enter__()
        return self

    def update(self, status: PaperStatus) -> None:
        """Show a new snapshot (called once a second from the node's event loop)."""
        if self._live is not None:
            self._live.update(render(status))
        elif self._enabled:
            self._console.print(status_line(status), highlight=False, markup=False)

    def notice(self, message: str) -> None:
        """A one-off line (database in use, resume, stop reason) above the live tables."""
        self._console.print(message, highlight=False, markup=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
