"""The sealer's side of ``macrofund.audit.compact``: captured items back into ``to_dict()`` payloads.

No NautilusTrader import here (the sealer process starts in a fraction of the time): enum names and
the fixed-point precision come from the kernel's process (``compact.rebuild_tables``). Decimals are
formatted exactly as Nautilus's ``Price``/``Quantity``/``Money.__str__`` do: ``Decimal(raw)`` divided
by ``10 ** FIXED_PRECISION`` in the default decimal context, formatted to the value's precision.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# (record_type, ts_event, kind, data)
Item = tuple[str, int, str, Any]

DICT = "d"  # data is the payload itself (to_dict() taken on the engine's thread, or a plain dict)
FILL = "f"
ACCOUNT = "a"
POSITION = "p"
SUBMIT = "s"


class Rebuilder:
    """The payload ``to_dict()`` would have given for each captured item, fed in capture order."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self._scale = Decimal(10) ** int(tables["fixed_precision"])
        self._side = _int_keys(tables["order_side"])
        self._order_type = _int_keys(tables["order_type"])
        self._liquidity = _int_keys(tables["liquidity_side"])
        self._position_side = _int_keys(tables["position_side"])
        self._account_type = _int_keys(tables["account_type"])
        self._last_init: Any = None

    def payload(self, record_type: str, kind: str, data: Any) -> Any:
        if kind == DICT:
            if record_type == "OrderInitialized":
                self._last_init = data
            return data
        if kind == FILL:
            return self._fill(data)
        if kind == ACCOUNT:
            return self._account(data)
        if kind == POSITION:
            return self._position(record_type, data)
        if kind == SUBMIT:
            return self._submit(data)
        raise ValueError(f"unknown audit item kind {kind!r}")

    def _decimal(self, raw: int, precision: int) -> str:
        return f"{Decimal(raw) / self._scale:.{precision}f}"

    def _money(self, raw: int, precision: int, code: str) -> str:
        return f"{Decimal(raw) / self._scale:.{precision}f} {code}"

    def _submit(self, d: Any) -> dict[str, Any]:
        return {
            "type": "SubmitOrder",
            "client_id": d[0],
            "trader_id": d[1],
            "strategy_id": d[2],
            "order": d[3] if d[3] is not None else self._last_init,
            "position_id": d[4],
            "command_id": d[5],
            "ts_init": d[6],
        }

    def _fill(self, d: Any) -> dict[str, Any]:
        return {
            "type": "OrderFilled",
            "trader_id": d[0],
            "strategy_id": d[1],
            "instrument_id": d[2],
            "client_order_id": d[3],
            "venue_order_id": d[4],
            "account_id": d[5],
            "trade_id": d[6],
            "position_id": d[7],
            "order_side": self._side[d[8]],
            "order_type": self._order_type[d[9]],
            "last_qty": self._decimal(d[10], d[11]),
            "last_px": self._decimal(d[12], d[13]),
            "currency": d[14],
            "commission": self._money(d[15], d[16], d[17]),
            "liquidity_side": self._liquidity[d[18]],
            "event_id": d[19],
            "ts_event": d[20],
            "ts_init": d[21],
            "info": d[22],
            "reconciliation": d[23],
        }

    def _account(self, d: Any) -> dict[str, Any]:
        dec = self._decimal
        return {
            "type": "AccountState",
            "account_id": d[0],
            "account_type": self._account_type[d[1]],
            "base_currency": d[2],
            "balances": [
                {
                    "type": "AccountBalance",
                    "total": dec(total, precision),
                    "locked": dec(locked, precision),
                    "free": dec(free, precision),
                    "currency": code,
                }
                for total, locked, free, precision, code in d[3]
            ],
            "margins": d[4],
            "reported": d[5],
            "info": d[6],
            "event_id": d[7],
            "ts_event": d[8],
            "ts_init": d[9],
        }

    def _position(self, record_type: str, d: Any) -> dict[str, Any]:
        dec = self._decimal
        # Binary floats as their shortest round-trip decimal string: no record holds a float.
        payload: dict[str, Any] = {
            "type": record_type,
            "trader_id": d[0],
            "strategy_id": d[1],
            "instrument_id": d[2],
            "position_id": d[3],
            "account_id": d[4],
            "opening_order_id": d[5],
            "entry": self._side[d[7]],
            "side": self._position_side[d[8]],
            "signed_qty": repr(float(d[9])),
            "quantity": dec(d[10], d[11]),
            "peak_qty": dec(*d[12]),
            "last_qty": dec(*d[13]),
            "last_px": dec(d[14], d[15]),
            "currency": d[16],
            "avg_px_open": repr(float(d[17])),
            "realized_pnl": self._money(d[20], d[21], d[22]),
            "event_id": d[25],
            "ts_init": d[29],
        }
        if record_type == "PositionOpened":
            payload["duration_ns"] = d[24]
            payload["ts_event"] = d[28]
            return payload
        payload["avg_px_close"] = repr(float(d[18]))
        payload["realized_return"] = repr(float(d[19]))
        payload["ts_opened"] = d[26]
        if record_type == "PositionChanged":
            payload["unrealized_pnl"] = self._money(*d[23])
            payload["ts_event"] = d[28]
        else:  # PositionClosed
            payload["closing_order_id"] = d[6]
            payload["ts_closed"] = d[27]
            payload["duration_ns"] = d[24]
        return payload


def _int_keys(table: dict[str, str]) -> dict[int, str]:
    return {int(key): name for key, name in table.items()}
