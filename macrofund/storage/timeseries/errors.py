"""The one error a market-data user meets: bad input to ingest or query, named with what and where."""

from __future__ import annotations

from macrofund.errors import MacrofundError


class TimeseriesError(MacrofundError):
    """Bad ingest or query input (unknown instrument, empty range, wrong resolution): one line."""
