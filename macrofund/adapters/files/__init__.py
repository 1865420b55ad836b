"""Market-data files (CSV, gzip CSV, Parquet, Nautilus catalogs) into validated Nautilus objects.

Every problem with a file is a one-line ``DataError`` naming the file and the line; see
``docs/data-formats.md`` for the accepted columns, time conventions and rounding.
"""

from __future__ import annotations

from macrofund.adapters.files.bars import BarColumns, load_bars, read_bars
from macrofund.adapters.files.catalog import load_catalog
from macrofund.adapters.files.quotes import QuoteColumns, load_quotes, read_quotes

__all__ = [
    "BarColumns",
    "QuoteColumns",
    "load_bars",
    "load_catalog",
    "load_quotes",
    "read_bars",
    "read_quotes",
]
