"""Load bars and quote ticks from a Nautilus ``ParquetDataCatalog``.

A catalog is already validated Nautilus data, so this only selects, checks presence and merges.
``ParquetDataCatalog`` happily opens a path that does not exist and returns nothing, which would turn
a typo into an empty backtest; hence the explicit checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nautilus_trader.core.data import Data
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from macrofund.errors import DataError


def load_catalog(
    path: Path,
    instrument_ids: Sequence[InstrumentId],
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> list[Data]:
    """Return every bar and quote tick for ``instrument_ids`` in the catalog at ``path``, by ts_init.

    ``start_ns``/``end_ns`` bound ``ts_init``, both inclusive. Raises ``DataError`` if ``path`` is not
    a directory, or if an instrument has no bars and no quotes in the window (the message lists what
    the catalog does hold). Ties in ts_init keep the catalog's order, bars before quotes.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"data catalog not found: {path}")
    catalog = ParquetDataCatalog(path)
    wanted = [str(i) for i in instrument_ids]

    found: list[Data] = []
    for instrument_id in instrument_ids:
        # Bar identifiers are bar types; the catalog matches them by prefix, so keep exact ids only.
        bars = [
            b
            for b in catalog.bars(instrument_ids=[str(instrument_id)], start=start_ns, end=end_ns)
            if b.bar_type.instrument_id == instrument_id
        ]
        quotes = [
            _rebuild_quote(q, instrument_id)
            for q in catalog.quote_ticks(instrument_ids=[str(instrument_id)], start=start_ns, end=end_ns)
            if q.instrument_id == instrument_id
        ]
        data = [*bars, *quotes]
        data = [
            d
            for d in data
            if (start_ns is None or d.ts_init >= start_ns) and (end_ns is None or d.ts_init <= end_ns)
        ]
        if not data:
            window = "" if start_ns is None and end_ns is None else f" between {start_ns} and {end_ns} ns"
            raise DataError(
                f"{path}: no bars or quote ticks for {instrument_id}{window}; "
                f"catalog holds: {_describe(catalog) or 'no data'} (asked for {', '.join(wanted)})"
            )
        found.extend(data)
    found.sort(key=lambda d: d.ts_init)
    return found


def _rebuild_quote(quote: QuoteTick, instrument_id: InstrumentId) -> QuoteTick:
    """Copy a catalog quote onto the caller's ``InstrumentId``.

    Nautilus 1.221 trap: the catalog's Rust reader interns the instrument id in its own string table,
    and ``QuoteTick.__eq__`` compares ids by interned pointer inside a Rust ``assert_eq!``, so
    comparing a catalog quote with any other quote ABORTS THE PROCESS (panic in
    ``ffi/data/quote.rs``), even when the ids read the same. Rebuilding costs about 1 µs a quote.
    """
    bid, ask = quote.bid_price, quote.ask_price
    bid_size, ask_size = quote.bid_size, quote.ask_size
    return QuoteTick.from_raw(
        instrument_id,
        bid.raw,
        ask.raw,
        bid.precision,
        ask.precision,
        bid_size.raw,
        ask_size.raw,
        bid_size.precision,
        ask_size.precision,
        quote.ts_event,
        quote.ts_init,
    )


def _describe(catalog: ParquetDataCatalog) -> str:
    """List the catalog's data folders (``bar/<bar type>``, ``quote_tick/<instrument>``) for a message."""
    parts: list[str] = []
    for data_type in catalog.list_data_types():
        folder = Path(catalog.path) / "data" / data_type
        names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        parts.append(f"{data_type} [{', '.join(names)}]" if names else data_type)
    return "; ".join(parts)
