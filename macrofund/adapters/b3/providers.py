"""B3 instruments for the execution client: ``FuturesContract``s from our contract specs."""

from __future__ import annotations

from macrofund.adapters.fix.execution import ContractInstrumentProvider

__all__ = ["B3InstrumentProvider"]


class B3InstrumentProvider(ContractInstrumentProvider):
    """The configured B3 contracts (``instrument_ids``), built by ``macrofund.venues.contracts``."""
