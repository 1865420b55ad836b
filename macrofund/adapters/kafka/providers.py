"""Instruments of the Kafka client: built from macrofund's contract specs, like the simulator's."""

from __future__ import annotations

from macrofund.adapters.sim_feed.providers import ContractInstrumentProvider

__all__ = ["ContractInstrumentProvider"]
