"""Market-data files (CSV, gzip CSV, Parquet, Nautilus catalogs) into validated Nautilus objects.

Every problem with a file is a one-line ``DataError`` naming the file and the line; see
``docs/data-formats.md`` for the accepted columns, time conventions and rounding.
"""

from __future__ import annotations

from macrofund.adapters.files.bars import load_bars
from macrofund.adapters.files.catalog import load_catalog
from macrofund.adapters.files.quotes import load_quotes

__all__ = ["load_bars", "load_catalog", "load_quotes"]
