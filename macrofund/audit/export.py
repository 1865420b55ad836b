"""Export an audit trail as CSV in a shape close to CME Rule 536-B front-end audit-trail fields.

One row per order message or decision: order commands that left for the venue (new, modify, cancel),
every order event (the venue's and the engine's answers), risk decisions, kill-switch steps and
trading-state changes. Position, account and run records are not order messages and are left out.
Order attributes known only from the order's first record (side, type, TIF, price) are carried onto
its later rows, as an exchange's audit trail shows them on every message.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

COLUMNS = [
    "seq",
    "transaction_ts_utc",
    "recorded_ts_utc",
    "run_id",
    "trader_id",
    "operator_id",
    "manual_order_indicator",
    "account",
    "instrument",
    "side",
    "quantity",
    "price",
    "trigger_price",
    "order_type",
    "time_in_force",
    "client_order_id",
    "venue_order_id",
    "message_type",
    "fix_msg_type",
    "status",
    "fill_quantity",
    "fill_price",
    "trade_id",
    "liquidity",
    "reason",
    "strategy_id",
    "record_hash",
]

# record type → (FIX MsgType 35 it corresponds to, status written)
_COMMANDS = {
    "SubmitOrder": ("D", "SENT"),
    "ModifyOrder": ("G", "MODIFY_SENT"),
    "CancelOrder": ("F", "CANCEL_SENT"),
    "CancelAllOrders": ("q", "MASS_CANCEL_SENT"),
    "QueryOrder": ("H", "STATUS_REQUEST_SENT"),
}
_EVENTS = {
    "OrderInitialized": ("", "INITIALIZED"),
    "OrderDenied": ("", "DENIED"),
    "OrderEmulated": ("", "EMULATED"),
    "OrderReleased": ("", "RELEASED"),
    "OrderSubmitted": ("", "SUBMITTED"),
    "OrderAccepted": ("8", "ACCEPTED"),
    "OrderRejected": ("8", "REJECTED"),
    "OrderPendingUpdate": ("", "PENDING_UPDATE"),
    "OrderPendingCancel": ("", "PENDING_CANCEL"),
    "OrderModifyRejected": ("9", "MODIFY_REJECTED"),
    "OrderCancelRejected": ("9", "CANCEL_REJECTED"),
    "OrderUpdated": ("8", "UPDATED"),
    "OrderTriggered": ("8", "TRIGGERED"),
    "OrderCanceled": ("8", "CANCELED"),
    "OrderExpired": ("8", "EXPIRED"),
    "OrderFilled": ("8", "FILLED"),
}
_TERMINAL = {"DENIED", "REJECTED", "CANCELED", "EXPIRED", "FILLED"}
_OTHER = {"RiskDecision", "KillSwitchStep", "TradingStateChanged"}


def iso_ns(ts: int | None) -> str:
    """UTC ns → ``2024-01-02T13:30:00.123456789Z``."""
    if ts is None:
        return ""
    seconds, nanos = divmod(int(ts), 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def _venue(instrument_id: str | None) -> str:
    return instrument_id.rsplit(".", 1)[-1] if instrument_id else ""


class _Exporter:
    def __init__(self) -> None:
        self.run: dict[str, Any] = {}
        self.accounts: dict[str, str] = {}  # venue → account id
        self.orders: dict[str, dict[str, Any]] = {}  # client order id → static fields and fill state

    def rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        kind, payload = record["type"], record["payload"]
        if kind == "RunStart":
            self.run = payload
            return []
        if kind == "AccountState":
            account = payload.get("account_id") or ""
            self.accounts[account.split("-", 1)[0]] = account
            return []
        if kind == "SubmitOrderList":
            return [
                self._order_row(record, "SubmitOrder", {**payload, "order": order}, order)
                for order in payload.get("orders") or []
            ]
        if kind == "BatchCancelOrders":
            return [
                self._order_row(record, "CancelOrder", cancel, cancel)
                for cancel in payload.get("cancels", [])
            ]
        if kind == "SubmitOrder":
            return [self._order_row(record, kind, payload, payload.get("order") or {})]
        if kind in _COMMANDS or kind in _EVENTS:
            return [self._order_row(record, kind, payload, payload)]
        if kind in _OTHER:
            return [self._other_row(record, kind, payload)]
        return []

    def _base(self, record: dict[str, Any], kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "seq": record["seq"],
            "transaction_ts_utc": iso_ns(record["ts_event"]),
            "recorded_ts_utc": iso_ns(record["ts_recorded"]),
            "run_id": record["run_id"],
            "trader_id": payload.get("trader_id") or self.run.get("trader_id", ""),
            "operator_id": self.run.get("operator_id", ""),
            "manual_order_indicator": "N",
            "message_type": kind,
            "strategy_id": payload.get("strategy_id") or "",
            "record_hash": record["hash"],
        }

    def _order_row(
        self, record: dict[str, Any], kind: str, payload: dict[str, Any], fields: dict[str, Any]
    ) -> dict[str, Any]:
        client_order_id = fields.get("client_order_id") or payload.get("client_order_id") or ""
        order = self.orders.setdefault(client_order_id, {"filled": Decimal(0)}) if client_order_id else {}
        options = fields.get("options") or {}
        for key, value in (
            ("instrument", fields.get("instrument_id")),
            ("side", fields.get("order_side")),
            ("quantity", fields.get("quantity")),
            ("price", fields.get("price") or options.get("price")),
            ("trigger_price", fields.get("trigger_price") or options.get("trigger_price")),
            ("order_type", fields.get("order_type")),
            ("time_in_force", fields.get("time_in_force")),
            ("venue_order_id", fields.get("venue_order_id")),
            ("account", fields.get("account_id")),
        ):
            if value is not None:
                order[key] = value
        fix_type, status = _COMMANDS.get(kind) or _EVENTS[kind]
        row = self._base(record, kind, payload)
        row.update({k: v for k, v in order.items() if k != "filled"})
        row["client_order_id"] = client_order_id
        row["fix_msg_type"] = fix_type
        if not row.get("account"):
            row["account"] = self.accounts.get(_venue(row.get("instrument")), "")
        if kind == "OrderFilled":
            order["filled"] += Decimal(str(payload.get("last_qty", "0")))
            if "quantity" in order and order["filled"] < Decimal(str(order["quantity"])):
                status = "PARTIALLY_FILLED"
            row.update(
                fill_quantity=payload.get("last_qty", ""),
                fill_price=payload.get("last_px", ""),
                trade_id=payload.get("trade_id", ""),
                liquidity=payload.get("liquidity_side", ""),
            )
        row["status"] = status
        row["reason"] = payload.get("reason") or ""
        if status in _TERMINAL and client_order_id:
            self.orders.pop(client_order_id, None)
        return row

    def _other_row(self, record: dict[str, Any], kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        row = self._base(record, kind, payload)
        if kind == "RiskDecision":
            row.update(
                instrument=payload.get("instrument_id") or "",
                side=payload.get("side") or "",
                quantity=payload.get("quantity") or "",
                price=payload.get("price") or "",
                order_type=payload.get("order_type") or "",
                client_order_id=payload.get("client_order_id") or "",
                status="ALLOWED" if payload.get("allowed") else "DENIED",
                reason=" ".join(p for p in (payload.get("reason_code"), payload.get("reason")) if p),
            )
            row["account"] = self.accounts.get(_venue(row["instrument"]), "")
        elif kind == "KillSwitchStep":
            row.update(
                manual_order_indicator="Y" if payload.get("trigger") == "operator" else "N",
                status=f"KILL_SWITCH_{str(payload.get('step', '')).upper()}",
                reason=f"scope={payload.get('scope', '')} trigger={payload.get('trigger', '')} "
                f"{payload.get('detail', '')}".strip(),
            )
        else:
            row.update(status=f"TRADING_STATE_{payload.get('state', '')}")
        return row


def export_csv(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write the CSV to ``out``; returns the number of rows (header excluded)."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    exporter = _Exporter()
    written = 0
    for record in records:
        for row in exporter.rows(record):
            writer.writerow(row)
            written += 1
    return written
