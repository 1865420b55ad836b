"""Topic names: ``<prefix>.<VENUE>.<kind>.<SYMBOL>``, e.g. ``md.CME.quotes.ESZ6``, ``md.B3.trades.WINZ26``.

One topic per instrument and kind keeps a consumer's subscription exactly its instruments (no filtering
of other people's data) and lets retention and partitions be set per market. Kinds: quotes, trades, bars.
"""

from __future__ import annotations

from typing import Literal

from nautilus_trader.model.identifiers import InstrumentId

Kind = Literal["quotes", "trades", "bars"]
KINDS: tuple[Kind, ...] = ("quotes", "trades", "bars")


def topic_for(instrument_id: InstrumentId | str, kind: Kind, prefix: str = "md") -> str:
    """The topic carrying ``kind`` of ``instrument_id`` (``ESZ6.CME`` -> ``md.CME.quotes.ESZ6``)."""
    iid = instrument_id if isinstance(instrument_id, InstrumentId) else InstrumentId.from_str(instrument_id)
    if kind not in KINDS:
        raise ValueError(f"unknown market-data kind {kind!r} (expected one of {', '.join(KINDS)})")
    return f"{prefix}.{iid.venue.value}.{kind}.{iid.symbol.value}"
