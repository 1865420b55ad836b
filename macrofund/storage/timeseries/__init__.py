"""Market-data time series in PostgreSQL: 1-minute bars and quote ticks, with 5m/1h/1d rollups.

Plain PostgreSQL (daily range partitions + incrementally refreshed rollup tables) everywhere, and
TimescaleDB (hypertables, compression, retention, continuous aggregates) where the extension exists.
Queries go through ``macrofund.storage.query_optimizer``. See ``docs/timeseries.md``.
"""

from __future__ import annotations

from macrofund.storage.timeseries.buckets import (
    B3_CALENDAR,
    CME_CALENDAR,
    UTC_CALENDAR,
    Resolution,
    TradingDayCalendar,
    calendar_for_venue,
)
from macrofund.storage.timeseries.errors import TimeseriesError
from macrofund.storage.timeseries.ingest import (
    BarArrays,
    IngestResult,
    InstrumentInfo,
    QuoteArrays,
    bars_from_columns,
    ingest_bars,
    ingest_quotes,
    quotes_from_columns,
)
from macrofund.storage.timeseries.rollups import refresh_rollups
from macrofund.storage.timeseries.setup import backend, prepare_timeseries, timescale_available

__all__ = [
    "B3_CALENDAR",
    "CME_CALENDAR",
    "UTC_CALENDAR",
    "BarArrays",
    "IngestResult",
    "InstrumentInfo",
    "QuoteArrays",
    "Resolution",
    "TimeseriesError",
    "TradingDayCalendar",
    "backend",
    "bars_from_columns",
    "calendar_for_venue",
    "ingest_bars",
    "ingest_quotes",
    "prepare_timeseries",
    "quotes_from_columns",
    "refresh_rollups",
    "timescale_available",
]
