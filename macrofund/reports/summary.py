"""The run summary: the figures a user reads first, computed once and both printed and saved.

Figures are per venue account, in that account's currency, so nothing is converted at an invented rate.
Definitions (also in docs/outputs.md):

- ``realised_pnl``: closed trading P&L before fees = balance change + fees.
- ``fees``: sum of fill commissions.
- ``unrealised_pnl``: open positions marked at the last price the kernel saw.
- ``net_pnl``: realised − fees + unrealised = final equity − starting equity.
- ``return``: net_pnl / starting balance.
- ``sharpe``: mean/std of weekday (UTC) daily equity returns × √252; ``null`` with fewer than 2 returns.
- ``max_drawdown``: largest peak-to-trough fall of the sampled equity curve, as a fraction of the peak.
- ``turnover``: traded notional (Σ qty × price × multiplier) and that notional over starting equity.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nautilus_trader.model.instruments import Instrument

Row = dict[str, Any]
CENT = Decimal("0.01")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _venue_of(instrument_id: str) -> str:
    return instrument_id.rsplit(".", 1)[1]


def daily_returns(equity: list[tuple[int, Decimal]]) -> list[float]:
    """Returns between the last samples of consecutive weekdays (UTC)."""
    last_by_day: dict[str, Decimal] = {}
    for ts, value in equity:
        day = datetime.fromtimestamp(ts / 1e9, tz=UTC)
        if day.weekday() >= 5:
            continue
        last_by_day[day.strftime("%Y-%m-%d")] = value
    values = [float(v) for _, v in sorted(last_by_day.items())]
    return [b / a - 1.0 for a, b in itertools.pairwise(values) if a > 0]


def sharpe_ratio(returns: list[float]) -> float | None:
    """Annualised (√252) Sharpe of daily returns; ``None`` when it is not defined."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 0:
        return None
    return mean / math.sqrt(var) * math.sqrt(252)


def max_drawdown(values: Iterable[Decimal]) -> float:
    """Largest fall from a running peak, as a positive fraction of that peak (0 when it only rises)."""
    peak: Decimal | None = None
    worst = 0.0
    for value in values:
        if peak is None or value > peak:
            peak = value
        if peak > 0:
            worst = max(worst, float((peak - value) / peak))
    return worst


def account_summary(
    venue: str,
    currency: str,
    starting_balance: Decimal,
    fills: list[Row],
    orders: list[Row],
    positions: list[Row],
    equity: list[Row],
    instruments: dict[str, Instrument],
) -> dict[str, Any]:
    """Figures for one venue account."""
    fills = [f for f in fills if _venue_of(f["instrument_id"]) == venue]
    orders = [o for o in orders if _venue_of(o["instrument_id"]) == venue]
    curve = [(e["ts"], e["equity"]) for e in equity if e["venue"] == venue and e["currency"] == currency]
    balances = [e["balance"] for e in equity if e["venue"] == venue and e["currency"] == currency]
    final_balance = balances[-1] if balances else starting_balance
    fees = sum((f["commission"] for f in fills if f["commission_currency"] == currency), Decimal(0))
    unrealised = sum(
        (
            p["unrealized_pnl"] or Decimal(0)
            for p in positions
            if p["status"] == "OPEN" and p["currency"] == currency
        ),
        Decimal(0),
    )
    notional = Decimal(0)
    for f in fills:
        multiplier = instruments[f["instrument_id"]].multiplier.as_decimal()
        notional += f["quantity"] * f["price"] * multiplier
    realised_net = final_balance - starting_balance
    net = realised_net + unrealised
    return {
        "venue": venue,
        "currency": currency,
        "starting_balance": _money(starting_balance),
        "final_equity": _money(starting_balance + net),
        "orders": len(orders),
        "rejected": sum(1 for o in orders if o["status"] == "REJECTED"),
        "fills": len(fills),
        "realised_pnl": _money(realised_net + fees),
        "fees": _money(fees),
        "unrealised_pnl": _money(unrealised),
        "net_pnl": _money(net),
        "return": round(float(net / starting_balance), 6),
        "sharpe": None if (s := sharpe_ratio(daily_returns(curve))) is None else round(s, 4),
        "max_drawdown": round(max_drawdown(v for _, v in curve), 6),
        "turnover_notional": _money(notional),
        "turnover": round(float(notional / starting_balance), 4),
    }


TOP_REASONS = 5


def rejection_summary(orders: list[Row]) -> dict[str, Any] | None:
    """Orders the venues rejected, by reason (the most common first); ``None`` when there were none.

    A run whose orders were all rejected (a contract not yet trading in the data's period, say) shows
    the same P&L as one that never traded: this section says why nothing filled."""
    rejected = Counter(o.get("reason") or "(no reason given)" for o in orders if o["status"] == "REJECTED")
    if not rejected:
        return None
    top = rejected.most_common(TOP_REASONS)
    section: dict[str, Any] = {"orders_rejected": rejected.total(), "reasons": dict(top)}
    if len(rejected) > TOP_REASONS:
        section["other_reasons"] = len(rejected) - TOP_REASONS
    return section


def build_summary(
    run_id: str,
    mode: str,
    start_ns: int,
    end_ns: int,
    accounts: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole ``summary.json``."""
    return {
        "run_id": run_id,
        "mode": mode,
        "period": {"start": _iso(start_ns), "end": _iso(end_ns)},
        "accounts": accounts,
        **(extra or {}),
    }
