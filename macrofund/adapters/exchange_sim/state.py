"""The venue's order book on disk: every order of the day, the id counters, the last reference prices.

An append-only journal (JSON lines): each request appends the orders it changed and the counters,
one ``write`` of a few hundred bytes, so a busy session does not rewrite the whole book per order.
The latest line of an order wins when loading. ``compact`` rewrites the journal as one snapshot
(atomically: temp file + ``os.replace``) at start and at a clean stop, dropping finished orders
beyond ``keep_finished``. A line torn by a kill is the last one and is skipped: the request it
belonged to was never answered (reports are sent after the journal write).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    """Load, journal and compact ``VenueState`` at ``path``."""

    def __init__(self, path: Path, keep_finished: int = 10_000) -> None:
        self.path = path
        self.keep_finished = keep_finished
        self._fd: int | None = None

    def load(self) -> VenueState:
        """The saved state, or an empty one on first start; ``ConfigError`` if the file is corrupt."""
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return VenueState()
        except OSError as exc:
            raise ConfigError(f"{self.path}: venue state is unreadable ({exc.strerror})") from None
        state = VenueState()
        orders: dict[str, VenueOrder] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                self._apply(state, orders, json.loads(line))
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                if number == len(lines) and isinstance(exc, json.JSONDecodeError):
                    break  # torn by a kill mid-write: never acknowledged
                raise ConfigError(
                    f"{self.path}: line {number}: venue state is malformed ({exc}); "
                    "move it away to start empty"
                ) from None
        state.orders = list(orders.values())
        return state

    @staticmethod
    def _apply(state: VenueState, orders: dict[str, VenueOrder], record: dict[str, Any]) -> None:
        if "version" in record and record["version"] != _VERSION:
            raise ValueError(f"version {record['version']!r}, expected {_VERSION}")
        if "counters" in record:
            state.next_order = int(record["counters"]["next_order"])
            state.exec_seq = int(record["counters"]["exec_seq"])
        if "order" in record:
            order = VenueOrder.from_json(record["order"])
            orders[order.order_id] = order  # the latest line wins; the order keeps its creation rank
        if "reference" in record:
            state.reference.update({k: Decimal(v) for k, v in record["reference"].items()})

    def compact(self, state: VenueState) -> None:
        """Rewrite the journal as one snapshot of ``state`` (finished orders beyond the cap dropped)."""
        self.close()
        finished = [o for o in state.orders if not o.is_working]
        drop = {o.order_id for o in finished[: max(0, len(finished) - self.keep_finished)]}
        lines = [json.dumps({"version": _VERSION, "counters": _counters(state)})]
        lines += [json.dumps({"order": o.to_json()}) for o in state.orders if o.order_id not in drop]
        lines.append(json.dumps({"reference": {k: str(v) for k, v in state.reference.items()}}))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.path)

    def append(self, state: VenueState, orders: Iterable[VenueOrder], reference: bool = False) -> None:
        """Journal the changed ``orders`` and the counters (and the reference mids) in one write."""
        # Counters first: a write torn after them leaves a gap in the ids, never a reused one.
        lines = [json.dumps({"counters": _counters(state)}, separators=(",", ":"))]
        lines += [json.dumps({"order": o.to_json()}, separators=(",", ":")) for o in orders]
        if reference:
            lines.append(json.dumps({"reference": {k: str(v) for k, v in state.reference.items()}}))
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, ("\n".join(lines) + "\n").encode())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _counters(state: VenueState) -> dict[str, int]:
    return {"next_order": state.next_order, "exec_seq": state.exec_seq}
