"""Implementation shortfall of every parent order an execution algorithm worked, next to the model's E.

For each parent the algorithm publishes ``ParentStarted`` (arrival price, expected cost) and
``ParentFinished``; this component adds up the fills of the parent and its children and writes
``execution.parquet`` (one row per parent) plus a compact ``execution`` section of the run summary.

Shortfall (positive = cost, in the instrument's quote currency), over the filled quantity:

    shortfall = sum over fills of  side * (fill_price - arrival_price) * fill_qty * multiplier
    side = +1 for a buy, -1 for a sell
    shortfall_bps = shortfall / (arrival_price * filled_qty * multiplier) * 1e4

Commissions are reported beside it, not inside (the model's epsilon includes fees: compare
``shortfall + commission`` with ``expected_cost`` when fees matter). Everything is exact ``Decimal``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nautilus_trader.model.events import OrderFilled

from macrofund.reports.outputs import write_rows
from macrofund.strategies.execution.events import (
    PARENT_FINISHED_TOPIC,
    PARENT_STARTED_TOPIC,
    ParentFinished,
    ParentStarted,
)
from macrofund.strategies.execution.impact_source import publish_impact_params

if TYPE_CHECKING:
    from macrofund.engine.components import KernelHandle, RunComponent

EXECUTION_COLUMNS = [
    "parent_order_id",
    "exec_algorithm_id",
    "strategy_id",
    "instrument_id",
    "side",
    "quantity",
    "filled_qty",
    "arrival_price",
    "arrival_price_type",
    "avg_fill_price",
    "shortfall",
    "shortfall_bps",
    "expected_cost",
    "expected_cost_bps",
    "currency",
    "commission",
    "horizon_secs",
    "risk_aversion",
    "planned_slices",
    "slices",
    "slices_sent",
    "children_filled",
    "status",
    "reason",
    "start_ts",
    "end_ts",
]

_BPS = Decimal(10_000)
_BPS_PLACES = Decimal("0.01")


@dataclass
class _ParentRecord:
    started: ParentStarted
    finished: ParentFinished | None = None
    filled_qty: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)  # sum of fill_price * fill_qty (price units x contracts)
    commission: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    filled_orders: set[str] = field(default_factory=set)
    last_fill_ts: int | None = None

    def add_fill(self, fill: OrderFilled) -> None:
        qty = fill.last_qty.as_decimal()
        self.filled_qty += qty
        self.notional += fill.last_px.as_decimal() * qty
        self.commission[fill.commission.currency.code] += fill.commission.as_decimal()
        self.filled_orders.add(fill.client_order_id.value)
        self.last_fill_ts = fill.ts_event

    @property
    def shortfall(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        s = self.started
        side = 1 if s.side == "BUY" else -1
        return side * (self.notional - s.arrival_price * self.filled_qty) * s.multiplier

    def bps(self, money: Decimal | None, qty: Decimal) -> Decimal | None:
        s = self.started
        if money is None or not qty or not s.arrival_price:
            return None
        return (money / (s.arrival_price * qty * s.multiplier) * _BPS).quantize(_BPS_PLACES)

    def row(self) -> dict[str, Any]:
        s, f = self.started, self.finished
        shortfall = self.shortfall
        avg = (self.notional / self.filled_qty) if self.filled_qty else None
        commission = self.commission.get(s.currency, Decimal(0)) if len(self.commission) <= 1 else None
        return {
            "parent_order_id": s.parent_order_id,
            "exec_algorithm_id": s.exec_algorithm_id,
            "strategy_id": s.strategy_id,
            "instrument_id": s.instrument_id,
            "side": s.side,
            "quantity": s.quantity,
            "filled_qty": self.filled_qty,
            "arrival_price": s.arrival_price,
            "arrival_price_type": s.arrival_price_type,
            "avg_fill_price": avg,
            "shortfall": shortfall,
            "shortfall_bps": self.bps(shortfall, self.filled_qty),
            "expected_cost": s.expected_cost,
            "expected_cost_bps": self.bps(s.expected_cost, s.quantity),
            "currency": s.currency,
            "commission": commission,
            "horizon_secs": s.horizon_ns / 1e9,
            "risk_aversion": s.risk_aversion,
            "planned_slices": s.planned_slices,
            "slices": s.slices,
            "slices_sent": f.slices_sent if f else None,
            "children_filled": len(self.filled_orders),
            "status": f.status if f else "WORKING",
            "reason": f.reason if f else None,
            "start_ts": s.ts_arrival,
            "end_ts": self.last_fill_ts if self.last_fill_ts is not None else (f.ts if f else None),
        }


class ShortfallReport:
    """``RunComponent`` writing ``execution.parquet`` and the ``execution`` summary section."""

    name = "execution"

    def __init__(self, cache: Any) -> None:
        self._cache = cache
        self._parents: dict[str, _ParentRecord] = {}

    # -- bus handlers (subscribed at install, before anything is published) ----------------------------

    def on_parent_started(self, event: ParentStarted) -> None:
        self._parents[event.parent_order_id] = _ParentRecord(started=event)

    def on_parent_finished(self, event: ParentFinished) -> None:
        record = self._parents.get(event.parent_order_id)
        if record is not None:
            record.finished = event

    def on_fill(self, fill: OrderFilled) -> None:
        if not self._parents:  # runs without algorithm orders pay one check per fill
            return
        order = self._cache.order(fill.client_order_id)
        spawn = order.exec_spawn_id if order is not None else None
        record = self._parents.get(spawn.value) if spawn is not None else None
        if record is not None:
            record.add_fill(fill)

    # -- RunComponent --------------------------------------------------------------------------------

    def on_run_end(self, ts_ns: int) -> None:
        """Nothing to flush: every figure is computed from what the bus delivered."""

    def rows(self) -> list[dict[str, Any]]:
        """One row per parent, in arrival order."""
        return [record.row() for record in self._parents.values()]

    def write_outputs(self, out_dir: Path) -> dict[str, Path]:
        if not self._parents:
            return {}
        return {"execution": write_rows(self.rows(), out_dir / "execution.parquet", EXECUTION_COLUMNS)}

    def summary(self) -> dict[str, Any] | None:
        if not self._parents:
            return None
        rows = self.rows()
        shortfall_bps = [r["shortfall_bps"] for r in rows if r["shortfall_bps"] is not None]
        expected_bps = [r["expected_cost_bps"] for r in rows if r["expected_cost_bps"] is not None]
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows:
            if r["shortfall"] is not None:
                totals[r["currency"]] += r["shortfall"]
        return {
            "parents": len(rows),
            "completed": sum(1 for r in rows if r["status"] == "COMPLETED"),
            "mean_shortfall_bps": _mean(shortfall_bps),
            "mean_expected_bps": _mean(expected_bps),
            "total_shortfall": ", ".join(f"{v:.2f} {k}" for k, v in sorted(totals.items())) or None,
        }

    def close(self) -> None:
        """Nothing held open."""


def _mean(values: list[Decimal]) -> str | None:
    if not values:
        return None
    return str((sum(values, Decimal(0)) / len(values)).quantize(_BPS_PLACES))


def install(handle: KernelHandle) -> RunComponent | None:
    """Attach the shortfall report and give execution algorithms the run's impact parameters.

    The parameters travel through the kernel cache (see ``macrofund.strategies.execution.impact_source``)
    because the algorithms are built without the run config; this installer is the one place that has
    it in every mode. Subscriptions are made here, before any event is published (1.221 wildcard bug).
    """
    kernel = handle.kernel
    publish_impact_params(kernel.cache, handle.config)
    report = ShortfallReport(kernel.cache)
    kernel.msgbus.subscribe(PARENT_STARTED_TOPIC, report.on_parent_started)
    kernel.msgbus.subscribe(PARENT_FINISHED_TOPIC, report.on_parent_finished)
    kernel.msgbus.subscribe("events.fills.*", report.on_fill)
    return report
