"""Load top-of-book quote files (CSV, gzip CSV, Parquet) into Nautilus ``QuoteTick`` objects.

``ts_event == ts_init ==`` the file's timestamp. Crossed quotes (bid above ask) are an error by default
because they usually mean swapped columns; real feeds do have a few around halts and pre-opens (the ES
quote bars in /work/shared/data have 5), so ``crossed="skip"`` drops them instead. A locked quote
(bid == ask) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from macrofund.adapters.files.objects import raw_values, size_raw_per_unit
from macrofund.adapters.files.prices import to_units
from macrofund.adapters.files.table import (
    TIMESTAMP_COLUMNS,
    SourceTable,
    check_non_decreasing,
    check_not_negative,
    find_column,
    fmt,
    numeric_column,
    read_table,
    timestamp_column,
    unit_column,
    window_mask,
)
from macrofund.errors import DataError

BID_COLUMNS: tuple[str, ...] = ("bid", "bid_price")
ASK_COLUMNS: tuple[str, ...] = ("ask", "ask_price")


@dataclass(frozen=True)
class QuoteColumns:
    """A validated quote file as integer columns (tick units); ``build`` makes the ``QuoteTick``s.

    See ``BarColumns``: the compact form lets a long backtest stream quotes chunk by chunk.
    """

    instrument_id: InstrumentId
    precision: int
    size_precision: int
    price_raw: int
    size_raw: int
    ts: npt.NDArray[np.int64]
    bids: npt.NDArray[np.int64]
    asks: npt.NDArray[np.int64]
    bid_sizes: npt.NDArray[np.int64]
    ask_sizes: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ts)

    def build(self, start: int = 0, stop: int | None = None) -> list[QuoteTick]:
        """The ``QuoteTick`` objects of rows ``start:stop``, oldest first."""
        window = slice(start, stop)
        bid_raws, ask_raws = (
            raw_values(self.bids[window], self.price_raw),
            raw_values(self.asks[window], self.price_raw),
        )
        bid_size_raws = raw_values(self.bid_sizes[window], self.size_raw)
        ask_size_raws = raw_values(self.ask_sizes[window], self.size_raw)
        instrument_id, precision, size_precision = self.instrument_id, self.precision, self.size_precision
        from_raw = QuoteTick.from_raw
        rows = zip(bid_raws, ask_raws, bid_size_raws, ask_size_raws, self.ts[window].tolist(), strict=True)
        return [
            from_raw(instrument_id, b, a, precision, precision, bs, as_, size_precision, size_precision, t, t)
            for b, a, bs, as_, t in rows
        ]


def load_quotes(
    path: Path,
    instrument: Instrument,
    *,
    price_scale: Decimal = Decimal(1),
    default_size: Decimal = Decimal(1_000_000),
    crossed: Literal["error", "skip"] = "error",
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> list[QuoteTick]:
    """Load, validate and return the quotes in ``path`` for ``instrument``, oldest first.

    Columns (case-insensitive): a timestamp (as for bars), ``bid`` or ``bid_price``, ``ask`` or
    ``ask_price``, and optional ``bid_size``/``ask_size`` (``default_size`` when a column is absent).
    Prices are multiplied by ``price_scale`` and rounded half-even to ``instrument.price_increment``;
    sizes are rounded to ``instrument.size_precision``. ``crossed`` sets the policy for bid > ask
    (checked after rounding). ``start_ns``/``end_ns`` are inclusive and applied after validation.
    Raises ``DataError`` naming the file and line. See ``docs/data-formats.md``.
    """
    return read_quotes(
        path,
        instrument,
        price_scale=price_scale,
        default_size=default_size,
        crossed=crossed,
        start_ns=start_ns,
        end_ns=end_ns,
    ).build()


def read_quotes(
    path: Path,
    instrument: Instrument,
    *,
    price_scale: Decimal = Decimal(1),
    default_size: Decimal = Decimal(1_000_000),
    crossed: Literal["error", "skip"] = "error",
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> QuoteColumns:
    """Read and validate a quote file (same rules as ``load_quotes``) without building the objects yet."""
    if crossed not in ("error", "skip"):
        raise ValueError(f"crossed must be 'error' or 'skip', was {crossed!r}")
    if not isinstance(price_scale, Decimal) or not price_scale > 0:
        raise ValueError(f"price_scale must be a positive Decimal, was {price_scale!r}")
    if not isinstance(default_size, Decimal) or default_size < 0:
        raise ValueError(f"default_size must be a non-negative Decimal, was {default_size!r}")

    table = read_table(path)
    bid_column, ask_column = _require_columns(table)
    ts_column, ts = timestamp_column(table)

    increment = instrument.price_increment.as_decimal()
    precision = instrument.price_precision
    bids = unit_column(table, bid_column, price_scale, increment)
    asks = unit_column(table, ask_column, price_scale, increment)

    size_precision = instrument.size_precision
    size_unit = Decimal(1).scaleb(-size_precision)
    sizes = []
    for column in ("bid_size", "ask_size"):
        if column in table.frame.columns:
            values = numeric_column(table, column)
            check_not_negative(table, column, values)
            sizes.append(unit_column(table, column, Decimal(1), size_unit, values))
        else:
            default = to_units(
                np.array([float(default_size)]), np.array([default_size], dtype=object), Decimal(1), size_unit
            )
            sizes.append(np.full(len(table), default[0], dtype=np.int64))
    bid_sizes, ask_sizes = sizes

    check_non_decreasing(table, ts_column, ts)

    is_crossed = bids > asks
    keep = window_mask(ts, start_ns, end_ns)
    if is_crossed.any():
        if crossed == "error":
            i = int(np.flatnonzero(is_crossed)[0])
            raise DataError(
                f"{table.at(i)}: crossed quote: {bid_column} {fmt(bids, i, increment, precision)} is above "
                f"{ask_column} {fmt(asks, i, increment, precision)} (pass crossed='skip' to drop such rows)"
            )
        keep = ~is_crossed if keep is None else keep & ~is_crossed
    if keep is not None:
        ts, bids, asks = ts[keep], bids[keep], asks[keep]
        bid_sizes, ask_sizes = bid_sizes[keep], ask_sizes[keep]

    return QuoteColumns(
        instrument_id=instrument.id,
        precision=precision,
        size_precision=size_precision,
        price_raw=instrument.price_increment.raw,
        size_raw=size_raw_per_unit(size_precision),
        ts=ts,
        bids=bids,
        asks=asks,
        bid_sizes=bid_sizes,
        ask_sizes=ask_sizes,
    )


def _require_columns(table: SourceTable) -> tuple[str, str]:
    # Report every missing column at once, so one fix makes the file loadable.
    bid = find_column(table, BID_COLUMNS)
    ask = find_column(table, ASK_COLUMNS)
    missing = []
    if find_column(table, TIMESTAMP_COLUMNS) is None:
        missing.append("timestamp (or " + ", ".join(TIMESTAMP_COLUMNS[1:]) + ")")
    if bid is None:
        missing.append("bid (or bid_price)")
    if ask is None:
        missing.append("ask (or ask_price)")
    if missing or bid is None or ask is None:
        found = ", ".join(str(c) for c in table.frame.columns)
        raise DataError(f"{table.path}: missing column {'; '.join(missing)}; found columns: {found}")
    return bid, ask
