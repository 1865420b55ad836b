"""The venue's order book on disk: every order of the day, the id counters, the last reference prices.

One JSON file, rewritten whole and atomically (temp file + ``os.replace``) after every change, so a
kill at any moment leaves either the old or the new book, never half of one. A local venue holds a
few thousand orders at most; finished orders beyond ``keep_finished`` are dropped oldest first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from macrofund.adapters.exchange_sim.orders import VenueOrder
from macrofund.errors import ConfigError

__all__ = ["VenueState", "VenueStateFile"]

_VERSION = 1


@dataclass
class VenueState:
    """What survives a restart of the venue."""

    next_order: int = 1
    exec_seq: int = 0
    orders: list[VenueOrder] = field(default_factory=list)
    reference: dict[str, Decimal] = field(default_factory=dict)  # instrument id -> last mid (wire)


class VenueStateFile:
    """Load and save ``VenueState`` at ``path``."""

    def __init__(self, path: Path, keep_finished: int = 10_000) -> None:
        self.path = path
        self.keep_finished = keep_finished

    def load(self) -> VenueState:
        """The saved state, or an empty one on first start; ``ConfigError`` if the file is corrupt."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return VenueState()
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{self.path}: venue state is unreadable ({exc}); move it away to start empty"
            ) from None
        try:
            if data.get("version") != _VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {_VERSION}")
            return VenueState(
                next_order=int(data["next_order"]),
                exec_seq=int(data["exec_seq"]),
                orders=[VenueOrder.from_json(item) for item in data["orders"]],
                reference={k: Decimal(v) for k, v in data.get("reference", {}).items()},
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ConfigError(
                f"{self.path}: venue state is malformed ({exc}); move it away to start empty"
            ) from None

    def save(self, state: VenueState) -> None:
        """Write ``state`` atomically (finished orders beyond ``keep_finished`` are left out)."""
        finished = [o for o in state.orders if not o.is_working]
        drop = {id(o) for o in finished[: max(0, len(finished) - self.keep_finished)]}
        orders = [o.to_json() for o in state.orders if id(o) not in drop]
        payload = {
            "version": _VERSION,
            "next_order": state.next_order,
            "exec_seq": state.exec_seq,
            "orders": orders,
            "reference": {k: str(v) for k, v in state.reference.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, separators=(",", ":")))
        os.replace(tmp, self.path)
