"""Load OHLCV bar files (CSV, gzip CSV, Parquet) into Nautilus ``Bar`` objects.

The file's timestamp is taken as the bar's CLOSE time, the Nautilus convention for EXTERNAL bars
(``ts_event == ts_init == close``): a strategy must not see a bar before it has closed. Files stamped
at the bar's open pass ``timestamp_is_open=True`` and are shifted by the bar interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.instruments import Instrument

from macrofund.adapters.files.objects import raw_values, size_raw_per_unit
from macrofund.adapters.files.table import (
    TIMESTAMP_COLUMNS,
    SourceTable,
    check_non_decreasing,
    check_not_negative,
    fmt,
    numeric_column,
    read_table,
    timestamp_column,
    unit_column,
    window_mask,
)
from macrofund.errors import DataError

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")


@dataclass(frozen=True)
class BarColumns:
    """A validated bar file as compact integer columns (tick units); ``build`` makes the ``Bar`` objects.

    Holding ~40 bytes a bar instead of a Nautilus object lets a long backtest stream its bars into the
    engine chunk by chunk, after the whole file has been checked: a bad row fails before the run starts.
    """

    bar_type: BarType
    precision: int
    size_precision: int
    price_raw: int
    size_raw: int
    ts: npt.NDArray[np.int64]
    opens: npt.NDArray[np.int64]
    highs: npt.NDArray[np.int64]
    lows: npt.NDArray[np.int64]
    closes: npt.NDArray[np.int64]
    volumes: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ts)

    def build(self, start: int = 0, stop: int | None = None) -> list[Bar]:
        """The ``Bar`` objects of rows ``start:stop``, oldest first."""
        window = slice(start, stop)
        opens, highs, lows, closes = (
            raw_values(units[window], self.price_raw)
            for units in (self.opens, self.highs, self.lows, self.closes)
        )
        volumes = raw_values(self.volumes[window], self.size_raw)
        bar_type, precision, size_precision = self.bar_type, self.precision, self.size_precision
        from_raw = Bar.from_raw
        return [
            from_raw(bar_type, o, h, lo, c, precision, v, size_precision, t, t)
            for o, h, lo, c, v, t in zip(
                opens, highs, lows, closes, volumes, self.ts[window].tolist(), strict=True
            )
        ]


def load_bars(
    path: Path,
    instrument: Instrument,
    bar_type: BarType,
    *,
    price_scale: Decimal = Decimal(1),
    start_ns: int | None = None,
    end_ns: int | None = None,
    timestamp_is_open: bool = False,
) -> list[Bar]:
    """Load, validate and return the bars in ``path`` for ``bar_type``, oldest first.

    Columns (case-insensitive): a timestamp (``timestamp``, ``timestamp_utc``, ``ts_event``, ``time``,
    ``date`` or ``datetime``; the first present wins), ``open``, ``high``, ``low``, ``close`` and an
    optional ``volume`` (0 when absent). Prices are multiplied by ``price_scale`` and rounded half-even
    to ``instrument.price_increment``; volume is rounded to ``instrument.size_precision``.
    ``start_ns``/``end_ns`` keep bars whose (close) time is within both bounds, inclusive; they are
    applied after the whole file is validated. Raises ``DataError`` naming the file and line.
    See ``docs/data-formats.md``.
    """
    return read_bars(
        path,
        instrument,
        bar_type,
        price_scale=price_scale,
        start_ns=start_ns,
        end_ns=end_ns,
        timestamp_is_open=timestamp_is_open,
    ).build()


def read_bars(
    path: Path,
    instrument: Instrument,
    bar_type: BarType,
    *,
    price_scale: Decimal = Decimal(1),
    start_ns: int | None = None,
    end_ns: int | None = None,
    timestamp_is_open: bool = False,
) -> BarColumns:
    """Read and validate a bar file (same rules as ``load_bars``) without building the objects yet."""
    _check_arguments(instrument, bar_type, price_scale)
    table = read_table(path)
    _require_columns(table)

    ts_column, ts = timestamp_column(table)
    increment = instrument.price_increment.as_decimal()
    precision = instrument.price_precision
    units = {c: unit_column(table, c, price_scale, increment) for c in PRICE_COLUMNS}
    _check_ohlc(table, units, increment, precision)

    size_precision = instrument.size_precision
    if "volume" in table.frame.columns:
        volume_values = numeric_column(table, "volume")
        check_not_negative(table, "volume", volume_values)
        volume = unit_column(table, "volume", Decimal(1), Decimal(1).scaleb(-size_precision), volume_values)
    else:
        volume = np.zeros(len(table), dtype=np.int64)

    if timestamp_is_open:
        ts = ts + _interval_ns(table, bar_type)
    check_non_decreasing(table, ts_column, ts)

    keep = window_mask(ts, start_ns, end_ns)
    if keep is not None:
        ts = ts[keep]
        volume = volume[keep]
        units = {c: u[keep] for c, u in units.items()}

    return BarColumns(
        bar_type=bar_type,
        precision=precision,
        size_precision=size_precision,
        price_raw=instrument.price_increment.raw,
        size_raw=size_raw_per_unit(size_precision),
        ts=ts,
        opens=units["open"],
        highs=units["high"],
        lows=units["low"],
        closes=units["close"],
        volumes=volume,
    )


def _check_arguments(instrument: Instrument, bar_type: BarType, price_scale: Decimal) -> None:
    if bar_type.instrument_id != instrument.id:
        raise ValueError(f"bar_type {bar_type} is not for instrument {instrument.id}")
    if not isinstance(price_scale, Decimal) or not price_scale > 0:
        raise ValueError(f"price_scale must be a positive Decimal, was {price_scale!r}")


def _require_columns(table: SourceTable) -> None:
    # Report every missing column at once, so one fix makes the file loadable.
    columns = set(table.frame.columns)
    missing = [c for c in PRICE_COLUMNS if c not in columns]
    if not columns.intersection(TIMESTAMP_COLUMNS):
        missing.insert(0, "timestamp (or " + ", ".join(TIMESTAMP_COLUMNS[1:]) + ")")
    if missing:
        found = ", ".join(str(c) for c in table.frame.columns)
        raise DataError(f"{table.path}: missing column {'; '.join(missing)}; found columns: {found}")


def _check_ohlc(
    table: SourceTable, units: dict[str, npt.NDArray[np.int64]], increment: Decimal, precision: int
) -> None:
    o, h, lo, c = (units[k] for k in PRICE_COLUMNS)
    bad = np.flatnonzero((h < lo) | (o < lo) | (o > h) | (c < lo) | (c > h))
    if not bad.size:
        return
    i = int(bad[0])

    def show(name: str) -> str:
        return f"{name} {fmt(units[name], i, increment, precision)}"

    if h[i] < lo[i]:
        problem = f"{show('high')} is below {show('low')}"
    else:
        name = "open" if not lo[i] <= o[i] <= h[i] else "close"
        problem = f"{show(name)} is outside [{show('low')}, {show('high')}]"
    raise DataError(f"{table.at(i)}: {problem}")


def _interval_ns(table: SourceTable, bar_type: BarType) -> int:
    try:
        return int(bar_type.spec.timedelta.value)
    except ValueError:
        raise DataError(
            f"{table.path}: timestamp_is_open needs a time bar with a fixed interval, not {bar_type.spec}"
        ) from None
