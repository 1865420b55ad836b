"""Tiny harness for running a strategy in a raw Nautilus ``BacktestEngine``.

Kept local to these tests on purpose: the real file loaders live in ``macrofund.adapters.files`` and are
written separately; these tests pin strategy behaviour and must not depend on them.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import LatencyModel
from nautilus_trader.config import BacktestEngineConfig, LoggingConfig
from nautilus_trader.model.currencies import BRL, USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, AssetClass, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import FuturesContract
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.trading.strategy import Strategy

DATA = Path("/work/shared/data")
SIXE_CSV = DATA / "cme_6e_futures_1min" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
SPY_ZIP = DATA / "spy_daily" / "spy.zip"
EURUSD_DAILY_ZIP = DATA / "eurusd_oanda" / "daily" / "eurusd.zip"

_T0 = pd.Timestamp("2000-01-01", tz="UTC").value
_T1 = pd.Timestamp("2030-01-01", tz="UTC").value


def future(
    symbol: str,
    venue: str,
    currency: Currency,
    tick: str,
    multiplier: int | str,
    underlying: str,
) -> FuturesContract:
    """Build a futures contract like the exchange lists it: tick size, multiplier, currency."""
    precision = len(tick.split(".")[1]) if "." in tick else 0
    return FuturesContract(
        instrument_id=InstrumentId(Symbol(symbol), Venue(venue)),
        raw_symbol=Symbol(symbol),
        asset_class=AssetClass.INDEX if underlying in ("ES", "WIN") else AssetClass.FX,
        currency=currency,
        price_precision=precision,
        price_increment=Price.from_str(tick),
        multiplier=Quantity.from_str(str(multiplier)),
        lot_size=Quantity.from_int(1),
        underlying=underlying,
        activation_ns=_T0,
        expiration_ns=_T1,
        ts_event=0,
        ts_init=0,
    )


def es() -> FuturesContract:
    """E-mini S&P 500: 0.25 points tick, 50 USD per point."""
    return future("ESZ3", "CME", USD, "0.25", 50, "ES")


def six_e() -> FuturesContract:
    """Euro FX: 0.00005 USD tick on 125,000 EUR."""
    return future("6EH4", "CME", USD, "0.00005", 125_000, "6E")


def win() -> FuturesContract:
    """Mini Ibovespa on B3: 5 points tick, 0.20 BRL per point."""
    return future("WINZ13", "B3", BRL, "5", "0.2", "WIN")


@dataclass(frozen=True)
class VenueSpec:
    """One simulated venue: a NETTING margin account holding ``balance`` in ``currency``."""

    name: str
    currency: Currency
    balance: int


def engine(
    venues: list[VenueSpec],
    instruments: list[FuturesContract],
    bars: list[Bar],
    latency_ns: int = 0,
    oms_type: OmsType = OmsType.NETTING,
) -> BacktestEngine:
    """Return a ready-to-run engine with the venues, instruments and bars loaded."""
    eng = BacktestEngine(
        BacktestEngineConfig(trader_id="TESTER-001", logging=LoggingConfig(log_level="ERROR")),
    )
    for v in venues:
        eng.add_venue(
            venue=Venue(v.name),
            oms_type=oms_type,
            account_type=AccountType.MARGIN,
            starting_balances=[Money(v.balance, v.currency)],
            base_currency=v.currency,
            latency_model=LatencyModel(base_latency_nanos=latency_ns) if latency_ns else None,
        )
    for instrument in instruments:
        eng.add_instrument(instrument)
    eng.add_data(bars)
    return eng


def bars_from_frame(frame: pd.DataFrame, bar_type: BarType, instrument: FuturesContract) -> list[Bar]:
    """Wrangle an OHLCV frame indexed by bar CLOSE time (UTC) into Nautilus bars."""
    return BarDataWrangler(bar_type, instrument).process(frame[["open", "high", "low", "close", "volume"]])


def load_6e_minutes(rows: int | None = None) -> pd.DataFrame:
    """6EH4 one-minute trade bars; the timestamps are bar close times in UTC."""
    df = pd.read_csv(SIXE_CSV, nrows=rows)
    df.index = pd.to_datetime(df.pop("timestamp_utc"), utc=True)
    return df.astype(float)


def _round_to_tick(values: pd.Series, tick: float) -> pd.Series:
    return (values / tick).round() * tick


def load_spy_as_es() -> pd.DataFrame:
    """Daily SPY turned into an ES-like index level: deci-cents / 1000, on the 0.25 grid.

    Stamped 21:00 UTC (after the New York close) so the bar's time is its close.
    """
    with zipfile.ZipFile(SPY_ZIP) as zf:
        raw = zf.read(zf.namelist()[0]).decode()
    df = pd.read_csv(io.StringIO(raw), header=None, names=["time", "open", "high", "low", "close", "volume"])
    df.index = pd.to_datetime(df.pop("time"), format="%Y%m%d %H:%M").dt.tz_localize("UTC") + pd.Timedelta(
        hours=21,
    )
    for col in ("open", "high", "low", "close"):
        df[col] = _round_to_tick(df[col] / 1000.0, 0.25)
    df["volume"] = 1e6  # Deep book: fills at the close, so the tests pin strategy logic, not slippage.
    return df.astype(float)


def load_eurusd_daily_as_6e() -> pd.DataFrame:
    """Daily EUR/USD mid (OANDA bid/ask) on the 6E 0.00005 grid, stamped at the UTC day's end."""
    with zipfile.ZipFile(EURUSD_DAILY_ZIP) as zf:
        raw = zf.read(zf.namelist()[0]).decode()
    cols = ["time", "bo", "bh", "bl", "bc", "bs", "ao", "ah", "al", "ac", "as"]
    q = pd.read_csv(io.StringIO(raw), header=None, names=cols)
    index = pd.to_datetime(q["time"], format="%Y%m%d %H:%M").dt.tz_localize("UTC") + pd.Timedelta(days=1)
    df = pd.DataFrame(
        {
            "open": _round_to_tick((q["bo"] + q["ao"]) / 2, 0.00005).to_numpy(),
            "high": _round_to_tick((q["bh"] + q["ah"]) / 2, 0.00005).to_numpy(),
            "low": _round_to_tick((q["bl"] + q["al"]) / 2, 0.00005).to_numpy(),
            "close": _round_to_tick((q["bc"] + q["ac"]) / 2, 0.00005).to_numpy(),
            "volume": 1e6,
        },
        index=pd.DatetimeIndex(index),
    )
    return df.astype(float)


def synthetic_daily(
    closes: np.ndarray,
    tick: float,
    start: str = "2020-01-01",
) -> pd.DataFrame:
    """Daily bars whose open/high/low/close all equal the given closes (rounded to the tick)."""
    index = pd.date_range(start, periods=len(closes), freq="D", tz="UTC") + pd.Timedelta(hours=21)
    c = _round_to_tick(pd.Series(closes, index=index), tick)
    return pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": 1e6}, index=index)


@dataclass(frozen=True)
class OrderRecord:
    """What a user sees of an order after a run: when, what, how much and how it ended."""

    ts_init: int
    instrument_id: str
    side: str
    quantity: Decimal
    status: str
    ts_last: int


def order_records(eng: BacktestEngine, strategy: Strategy) -> list[OrderRecord]:
    """All orders of ``strategy`` in submission order, as plain comparable records."""
    orders: list[Order] = eng.cache.orders(strategy_id=strategy.id)
    orders.sort(key=lambda o: (o.ts_init, o.instrument_id.value))
    return [
        OrderRecord(
            ts_init=o.ts_init,
            instrument_id=o.instrument_id.value,
            side="BUY" if o.side == OrderSide.BUY else "SELL",
            quantity=o.quantity.as_decimal(),
            status=o.status_string(),
            ts_last=o.ts_last,
        )
        for o in orders
    ]


def signed(record: OrderRecord) -> Decimal:
    """The order's quantity with the sign of its side."""
    return record.quantity if record.side == "BUY" else -record.quantity
