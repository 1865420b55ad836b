"""CME instruments for the execution client: ``FuturesContract``s from our contract specs."""

from __future__ import annotations

from macrofund.adapters.fix.execution import ContractInstrumentProvider

__all__ = ["CmeInstrumentProvider"]


class CmeInstrumentProvider(ContractInstrumentProvider):
    """The configured CME contracts (``instrument_ids``), built by ``macrofund.venues.contracts``."""
