"""Write a run's rows to Parquet with exact decimal columns.

Prices, quantities and money are stored as Parquet ``decimal128`` so a user reading them back gets the
same digits the engine used, never a binary-float approximation.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Row = dict[str, Any]


def _decimal_type(values: list[Decimal]) -> pa.DataType:
    scale = 0
    digits = 1
    for value in values:
        if not value.is_finite():
            continue
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        scale = max(scale, -exponent)
        digits = max(digits, value.adjusted() + 1)
    return pa.decimal128(min(38, digits + scale + 1), scale)


def rows_to_table(rows: list[Row], columns: list[str] | None = None) -> pa.Table:
    """Build a table; columns holding ``Decimal`` become ``decimal128`` with a scale that fits them all."""
    names = columns or (list(rows[0]) if rows else [])
    arrays = []
    fields = []
    for name in names:
        values = [row.get(name) for row in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, Decimal) for v in present):
            dtype = _decimal_type(present)
            arrays.append(pa.array(values, type=dtype))
        elif present:
            arrays.append(pa.array(values))
        else:
            arrays.append(pa.array(values, type=pa.null()))
        fields.append(pa.field(name, arrays[-1].type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_rows(rows: list[Row], path: Path, columns: list[str]) -> Path:
    """Write rows to Parquet (an empty file with the columns when there are no rows)."""
    pq.write_table(rows_to_table(rows, columns), path)
    return path


def write_json(data: Any, path: Path) -> Path:
    """Pretty JSON with ``Decimal``/``Path`` written as strings."""

    def default(obj: object) -> str:
        if isinstance(obj, Decimal | Path):
            return str(obj)
        return str(obj)

    path.write_text(json.dumps(data, indent=2, default=default) + "\n", encoding="utf-8")
    return path
