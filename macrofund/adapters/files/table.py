"""Reading a market-data file into columns, with every problem reported at its line.

Shared by the bar and quote loaders: file-type detection, column lookup, numeric and timestamp
parsing, ordering and time-window checks. Every error is a one-line ``DataError`` that names the file
and the place: ``line N`` for CSV (the header is line 1, so the first data row is line 2; this is the
number an editor shows) and ``row N`` for Parquet (1-based data row; Parquet has no lines).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from macrofund.adapters.files.prices import format_units, to_units
from macrofund.errors import DataError

TIMESTAMP_COLUMNS: tuple[str, ...] = ("timestamp", "timestamp_utc", "ts_event", "time", "date", "datetime")

# Epoch-unit boundaries by magnitude: below 1e11 is seconds (1e11 s is the year 5138), below 1e14
# milliseconds, below 1e17 microseconds, otherwise nanoseconds. Millisecond stamps before 1973-03-03
# (1e11 ms) would be taken for seconds; such data is not plausible for this project.
_EPOCH_UNITS: tuple[tuple[float, int, str], ...] = (
    (1e11, 1_000_000_000, "seconds"),
    (1e14, 1_000_000, "milliseconds"),
    (1e17, 1_000, "microseconds"),
    (float("inf"), 1, "nanoseconds"),
)


def file_kind(path: Path) -> str:
    """Return ``"csv"`` or ``"parquet"`` from the file name (``.csv``, ``.csv.gz``, ``.parquet``)."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise DataError(f"{path}: unsupported file type; expected .csv, .csv.gz or .parquet")


@dataclass(frozen=True)
class SourceTable:
    """The rows of one file, with the place (line or row number) each row came from."""

    path: Path
    frame: pd.DataFrame
    places: npt.NDArray[np.int64]
    place_word: str  # "line" for CSV, "row" for Parquet

    def at(self, i: int) -> str:
        """Prefix for an error about row ``i`` (0-based position in ``frame``)."""
        return f"{self.path} {self.place_word} {int(self.places[i])}"

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, keep: npt.NDArray[np.bool_]) -> SourceTable:
        """Keep the rows where ``keep`` is true; places follow their rows."""
        return SourceTable(self.path, self.frame.loc[keep], self.places[keep], self.place_word)


def read_table(path: Path) -> SourceTable:
    """Read ``path`` with lower-cased, stripped column names; raise ``DataError`` if unreadable."""
    path = Path(path)
    kind = file_kind(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        frame = _read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except pa.ArrowInvalid as exc:
        detail = " ".join(str(exc).split())
        if "Empty CSV file" in detail:
            raise DataError(f"{path}: file is empty") from None
        raise DataError(f"{path}: cannot read {kind} file: {detail}") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise DataError(f"{path}: cannot read {kind} file: {detail}") from None
    names = [str(c).strip().lower() for c in frame.columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(f"{path}: duplicate columns {', '.join(duplicates)}")
    frame.columns = pd.Index(names)
    frame = frame.reset_index(drop=True)
    first = 2 if kind == "csv" else 1
    places = np.arange(first, first + len(frame), dtype=np.int64)
    if kind == "csv" and len(frame):
        blank = frame.isna().all(axis=1).to_numpy()
        if blank.any():
            frame = frame.loc[~blank].reset_index(drop=True)
            places = places[~blank]
    table = SourceTable(path, frame, places, "line" if kind == "csv" else "row")
    if len(table) == 0:
        raise DataError(f"{path}: file has a header but no data rows")
    return table


def _read_csv(path: Path) -> pd.DataFrame:
    # pyarrow's reader is ~4x faster than pandas' C parser and its float parsing is correctly
    # rounded. Blank lines are kept as all-null rows (dropped by the caller) so that row i is line
    # i + 2. Timestamp-candidate columns are read as text, so every stamp goes through one parser
    # (pandas ISO 8601, or integer epochs) instead of pyarrow's type inference.
    header = _csv_header(path)
    text_columns = {name: pa.string() for name in header if name.strip().lower() in TIMESTAMP_COLUMNS}
    table = pa_csv.read_csv(
        path,
        parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(column_types=text_columns, strings_can_be_null=True),
    )
    frame = table.to_pandas()
    return frame


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as stream:  # type: ignore[operator]
        first = stream.readline()
    if not first.strip():
        raise DataError(f"{path}: file is empty")
    return next(csv.reader([first]))


def find_column(table: SourceTable, candidates: Sequence[str]) -> str | None:
    """Return the first of ``candidates`` present in the table, or ``None``."""
    for name in candidates:
        if name in table.frame.columns:
            return name
    return None


def require_column(table: SourceTable, candidates: Sequence[str], what: str) -> str:
    """Return the first of ``candidates`` present; raise naming the columns that were found."""
    name = find_column(table, candidates)
    if name is None:
        wanted = " or ".join(repr(c) for c in candidates)
        found = ", ".join(str(c) for c in table.frame.columns)
        raise DataError(f"{table.path}: missing {what} column ({wanted}); found columns: {found}")
    return name


def numeric_column(table: SourceTable, column: str) -> npt.NDArray[np.float64]:
    """Return ``column`` as finite float64; raise at the first empty, non-numeric or infinite cell."""
    series = table.frame[column]
    if series.dtype == bool:
        raise DataError(f"{table.at(0)}: {column} is boolean, not a number")
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        cell = series.iloc[i]
        if pd.isna(cell) or (isinstance(cell, str) and not cell.strip()):
            raise DataError(f"{table.at(i)}: {column} is empty")
        raise DataError(f"{table.at(i)}: {column} is not a finite number: {str(cell).strip()!r}")
    return values


def unit_column(
    table: SourceTable,
    column: str,
    scale: Decimal,
    increment: Decimal,
    values: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.int64]:
    """Parse ``column`` and return it as whole increments after multiplying by ``scale``."""
    if values is None:
        values = numeric_column(table, column)
    series = table.frame[column]
    originals = series.to_numpy(dtype=object) if series.dtype == object else None
    try:
        return to_units(values, originals, scale, increment)
    except OverflowError:
        i = int(np.argmax(np.abs(values)))
        raise DataError(f"{table.at(i)}: {column} {values[i]!r} is too large") from None


def timestamp_column(table: SourceTable) -> tuple[str, npt.NDArray[np.int64]]:
    """Find and parse the timestamp column into UTC epoch nanoseconds.

    Text and datetimes: ISO 8601, a zone offset is honoured and a naive stamp is UTC. Integers: epoch
    seconds, milliseconds, microseconds or nanoseconds, chosen per row by magnitude (see
    ``_EPOCH_UNITS``); a column that mixes units is an error, as it is almost certainly a bug.
    """
    column = require_column(table, TIMESTAMP_COLUMNS, "timestamp")
    series = table.frame[column]
    if pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"{table.at(0)}: {column} is boolean, not a timestamp")
    if pd.api.types.is_numeric_dtype(series.dtype):
        ns = _epoch_to_ns(table, column, series)
    elif _looks_like_epoch_text(series):
        numbers = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy())
        if bad.size:
            i = int(bad[0])
            cell = str(series.iloc[i]).strip()
            raise DataError(f"{table.at(i)}: {column} {cell!r} is not an integer epoch")
        ns = _epoch_to_ns(table, column, numbers)
    else:
        ns = _datetimes_to_ns(table, column, series)
    negative = np.flatnonzero(ns < 0)
    if negative.size:
        i = int(negative[0])
        raise DataError(f"{table.at(i)}: {column} {series.iloc[i]!s} is before 1970-01-01 (not supported)")
    return column, ns


def _looks_like_epoch_text(series: pd.Series) -> bool:
    # CSV stamps are read as text; a first value of bare digits means the column holds epochs.
    first = series.first_valid_index()
    return first is not None and str(series[first]).strip().lstrip("-").isdigit()


def _epoch_to_ns(table: SourceTable, column: str, series: pd.Series) -> npt.NDArray[np.int64]:
    values = series.to_numpy()
    if values.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.floor(values)))
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{table.at(i)}: {column} {series.iloc[i]!s} is not an integer epoch or an ISO timestamp"
            )
        if values.size and float(np.max(np.abs(values))) >= 2.0**63:
            raise DataError(f"{table.path}: {column} holds epochs too large for nanoseconds")
    ints = values.astype(np.int64)
    magnitude = np.abs(ints)
    unit_index = np.zeros(len(ints), dtype=np.int64)
    for bound, _, _ in _EPOCH_UNITS[:-1]:
        unit_index += magnitude >= bound
    first = int(unit_index[0])
    mixed = np.flatnonzero(unit_index != first)
    if mixed.size:
        i = int(mixed[0])
        raise DataError(
            f"{table.at(i)}: {column} {ints[i]} looks like epoch {_EPOCH_UNITS[int(unit_index[i])][2]} "
            f"but {table.at(0).split(' ', 1)[1]} looks like epoch {_EPOCH_UNITS[first][2]}"
        )
    multiplier = _EPOCH_UNITS[first][1]
    if multiplier > 1 and magnitude.size and int(magnitude.max()) > (2**63 - 1) // multiplier:
        raise DataError(f"{table.path}: {column} holds epochs too large for nanoseconds")
    return ints * multiplier


def _datetimes_to_ns(table: SourceTable, column: str, series: pd.Series) -> npt.NDArray[np.int64]:
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series.dtype):
        stamps = pd.to_datetime(series, utc=True)
    else:
        stamps = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
        if stamps.isna().any():
            # Rare: stamps padded with spaces. Strip only then, as it costs more than the parse.
            stripped = series.astype("string").str.strip()
            stamps = pd.to_datetime(stripped, utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        cell = series.iloc[i]
        if pd.isna(cell) or not str(cell).strip():
            raise DataError(f"{table.at(i)}: {column} is empty")
        text = str(cell).strip()
        raise DataError(f"{table.at(i)}: cannot parse {column} {text!r} as an ISO 8601 timestamp")
    return np.asarray(stamps.dt.as_unit("ns").astype("int64").to_numpy(), dtype=np.int64)


def check_non_decreasing(table: SourceTable, column: str, ns: npt.NDArray[np.int64]) -> None:
    """Raise at the first row whose timestamp is earlier than the row before it."""
    back = np.flatnonzero(ns[1:] < ns[:-1])
    if back.size:
        i = int(back[0]) + 1
        prev = pd.Timestamp(int(ns[i - 1]), tz="UTC").isoformat()
        this = pd.Timestamp(int(ns[i]), tz="UTC").isoformat()
        raise DataError(
            f"{table.at(i)}: {column} {this} is earlier than the previous row's {prev} "
            "(timestamps must be non-decreasing)"
        )


def check_not_negative(table: SourceTable, column: str, values: npt.NDArray[np.float64]) -> None:
    """Raise at the first negative value of a size column (checked before rounding, so -0.3 fails)."""
    negative = np.flatnonzero(values < 0)
    if negative.size:
        i = int(negative[0])
        raise DataError(f"{table.at(i)}: {column} {table.frame[column].iloc[i]!s} is negative")


def window_mask(
    ns: npt.NDArray[np.int64], start_ns: int | None, end_ns: int | None
) -> npt.NDArray[np.bool_] | None:
    """Rows with ``start_ns <= ts <= end_ns`` (both inclusive), or ``None`` when there is no filter."""
    if start_ns is None and end_ns is None:
        return None
    keep = np.ones(len(ns), dtype=bool)
    if start_ns is not None:
        keep &= ns >= start_ns
    if end_ns is not None:
        keep &= ns <= end_ns
    return keep


def fmt(units: npt.NDArray[np.int64], i: int, increment: Decimal, precision: int) -> str:
    """The value at row ``i`` as the user would write it."""
    return format_units(int(units[i]), increment, precision)
