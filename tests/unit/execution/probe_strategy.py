"""A scripted strategy for execution tests: sends given parent orders at given bars, records what it sees.

It writes a JSON record (parents sent, denials with reasons, cancels) to ``record_path`` whenever it
changes, so a test can read what the strategy received after a real backtest run.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderCanceled, OrderDenied, OrderRejected
from nautilus_trader.model.identifiers import ExecAlgorithmId, InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy


class ExecutionProbeConfig(StrategyConfig, frozen=True):
    """``orders``: dicts with ``at_bar``, ``side``, ``quantity``, optional ``params`` (exec params,
    omitted = none), ``type`` (MARKET/LIMIT), ``algorithm`` (default "AC"), ``reduce_only``,
    ``cancel_at_bar`` (``cancel_order``). ``stop_at_bar`` stops the strategy there WITHOUT canceling
    anything."""

    instrument_id: InstrumentId
    bar_type: BarType
    orders: list[dict[str, Any]]
    record_path: str
    stop_at_bar: int | None = None


class ExecutionProbe(Strategy):
    """Sends each scripted parent at its bar; cancels it at ``cancel_at_bar`` if given."""

    def __init__(self, config: ExecutionProbeConfig) -> None:
        super().__init__(config)
        self._cfg = config
        self._bars = 0
        self._sent: dict[int, Order] = {}
        self._record: dict[str, Any] = {"parents": {}, "denials": {}, "canceled": []}

    def on_start(self) -> None:
        self.subscribe_bars(self._cfg.bar_type)
        self._write()

    def on_bar(self, bar: Bar) -> None:
        self._bars += 1
        for n, spec in enumerate(self._cfg.orders):
            if spec["at_bar"] == self._bars:
                self._send(n, spec, bar)
            if spec.get("cancel_at_bar") == self._bars and n in self._sent:
                self.cancel_order(self._sent[n])
        if self._cfg.stop_at_bar == self._bars:
            self.stop()

    def _send(self, n: int, spec: dict[str, Any], bar: Bar) -> None:
        side = OrderSide.BUY if spec["side"] == "BUY" else OrderSide.SELL
        instrument = self.cache.instrument(self._cfg.instrument_id)
        quantity = instrument.make_qty(Decimal(str(spec["quantity"])))
        algorithm = ExecAlgorithmId(spec.get("algorithm", "AC"))
        params = spec.get("params")
        order: Order
        if spec.get("type", "MARKET") == "LIMIT":
            order = self.order_factory.limit(
                instrument_id=self._cfg.instrument_id,
                order_side=side,
                quantity=quantity,
                price=Price(bar.close.as_double(), bar.close.precision),
                exec_algorithm_id=algorithm,
                exec_algorithm_params=params,
            )
        else:
            order = self.order_factory.market(
                instrument_id=self._cfg.instrument_id,
                order_side=side,
                quantity=quantity,
                reduce_only=bool(spec.get("reduce_only", False)),
                exec_algorithm_id=algorithm,
                exec_algorithm_params=params,
            )
        self._sent[n] = order
        self._record["parents"][str(n)] = order.client_order_id.value
        self._write()
        self.submit_order(order)

    def on_order_denied(self, event: OrderDenied) -> None:
        self._record["denials"][event.client_order_id.value] = event.reason
        self._write()

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._record.setdefault("rejected", {})[event.client_order_id.value] = event.reason
        self._write()

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._record["canceled"].append(event.client_order_id.value)
        self._write()

    def _write(self) -> None:
        Path(self._cfg.record_path).write_text(json.dumps(self._record, indent=1), encoding="utf-8")
