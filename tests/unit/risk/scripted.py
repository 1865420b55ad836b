"""A strategy that does exactly what its script says at given bars, and remembers every denial.

Risk tests drive the gate through a real BacktestEngine with it: the strategy sees denials the way
any strategy does (``on_order_denied``), so the tests assert what a strategy author relies on.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide, TriggerType
from nautilus_trader.model.events import OrderDenied, OrderModifyRejected
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from macrofund.risk.api import request_kill, request_reenable


class ScriptedStrategyConfig(StrategyConfig, frozen=True):
    instrument_id: str
    bar_type: str
    script: list[dict[str, Any]] = []  # noqa: RUF012 (msgspec copies defaults)
    sleep_ms: int = 0  # make the run slow enough for an operator to act on it
    resubmit_every_bar: bool = (
        False  # after the script: keep sending BUY 1 market (a strategy that ignores HALT)
    )


class ScriptedStrategy(Strategy):
    """Runs ``script`` entries at their bar numbers (1 = the first bar)."""

    def __init__(self, config: ScriptedStrategyConfig) -> None:
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.bar_type = BarType.from_str(config.bar_type)
        self.script = list(config.script)
        self.resubmit = config.resubmit_every_bar
        self.sleep_ms = config.sleep_ms
        self.bars = 0
        self.orders: dict[str, Order] = {}
        self.denials: list[tuple[int, str, str]] = []  # (bar, label, reason)
        self.modify_rejections: list[tuple[int, str, str]] = []
        self._labels: dict[str, str] = {}

    def on_start(self) -> None:
        self.subscribe_bars(self.bar_type)

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.sleep_ms:
            time.sleep(self.sleep_ms / 1000)
        for step in self.script:
            if step["bar"] == self.bars:
                self._do(step)
        if self.resubmit and self.bars > max((s["bar"] for s in self.script), default=0):
            self._do({"do": "submit", "side": "BUY", "qty": "1", "label": f"again-{self.bars}"})

    def _do(self, step: dict[str, Any]) -> None:
        action = step["do"]
        if action == "submit":
            self._submit(step)
        elif action == "modify":
            order = self.orders[step["label"]]
            self.modify_order(
                order,
                quantity=Quantity.from_str(step["qty"]) if "qty" in step else None,
                price=self._price(step["price"]) if "price" in step else None,
            )
        elif action == "cancel":
            self.cancel_order(self.orders[step["label"]])
        elif action == "list":  # independent orders sent together: {"orders": [submit steps]}
            orders = [self._order(o) for o in step["orders"]]
            self.submit_order_list(self.order_factory.create_list(orders))
        elif action == "bracket":  # entry market order, stop-loss and take-profit (linked OUO)
            self._bracket(step)
        elif action == "kill":
            request_kill(
                self.msgbus, step.get("scope", "all"), step.get("reason", "test"), step.get("flatten")
            )
        elif action == "reenable":
            request_reenable(self.msgbus, step.get("scope", "all"), "test")

    def _submit(self, step: dict[str, Any]) -> None:
        self.submit_order(self._order(step))

    def _bracket(self, step: dict[str, Any]) -> None:
        instrument = self.cache.instrument(self.instrument_id)
        order_list = self.order_factory.bracket(
            self.instrument_id,
            OrderSide.BUY if step["side"] == "BUY" else OrderSide.SELL,
            Quantity.from_str(step["qty"]),
            sl_trigger_price=instrument.make_price(Decimal(step["sl"])),
            tp_price=instrument.make_price(Decimal(step["tp"])),
        )
        label = step["label"]
        for order, part in zip(order_list.orders, ("entry", "sl", "tp"), strict=True):
            self.orders[f"{label}.{part}"] = order
            self._labels[order.client_order_id.value] = f"{label}.{part}"
        self.submit_order_list(order_list)

    def _order(self, step: dict[str, Any]) -> Order:
        side = OrderSide.BUY if step["side"] == "BUY" else OrderSide.SELL
        qty = Quantity.from_str(step["qty"])
        tags = step.get("tags")
        kind = step.get("type", "MARKET")
        instrument = self.cache.instrument(self.instrument_id)
        if kind == "MARKET":
            order: Order = self.order_factory.market(self.instrument_id, side, qty, tags=tags)
        elif kind == "LIMIT":
            # "emulated": held by Nautilus's OrderEmulator until the market reaches it (a separate route)
            trigger = TriggerType.BID_ASK if step.get("emulated") else TriggerType.NO_TRIGGER
            order = self.order_factory.limit(
                self.instrument_id,
                side,
                qty,
                instrument.make_price(Decimal(step["price"])),
                emulation_trigger=trigger,
                tags=tags,
            )
        else:
            order = self.order_factory.stop_market(
                self.instrument_id, side, qty, instrument.make_price(Decimal(step["price"])), tags=tags
            )
        label = step.get("label", f"o{len(self.orders)}")
        self.orders[label] = order
        self._labels[order.client_order_id.value] = label
        return order

    def _price(self, text: str) -> Price:
        return self.cache.instrument(self.instrument_id).make_price(Decimal(text))

    def on_order_denied(self, event: OrderDenied) -> None:
        self.denials.append((self.bars, self._labels.get(event.client_order_id.value, "?"), event.reason))

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        label = self._labels.get(event.client_order_id.value, "?")
        self.modify_rejections.append((self.bars, label, event.reason))

    def status(self, label: str) -> str:
        return str(self.orders[label].status_string())

    def net(self) -> Decimal:
        return Decimal(self.portfolio.net_position(self.instrument_id))
