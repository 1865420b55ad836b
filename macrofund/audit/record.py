"""The audit record, its canonical bytes and the hash chain.

A record is a JSON object with exactly these keys: ``seq`` (1, 2, ... per run), ``run_id``, ``type``,
``ts_event`` and ``ts_recorded`` (UTC ns), ``payload`` (an object), ``prev_hash`` and ``hash``.

Canonical bytes: the record *without* ``hash``, encoded as compact UTF-8 JSON with object keys sorted
at every level (msgspec, ``order="sorted"``). ``hash`` is the lower-case hex SHA-256 of those bytes;
``prev_hash`` is the previous record's ``hash``, or for ``seq = 1`` the genesis value
``sha256("macrofund-audit-genesis-v1:" + run_id)``. Anyone can re-check a record with any JSON
library that sorts keys and writes numbers the shortest round-trip way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec

from macrofund.errors import MacrofundError

GENESIS_PREFIX = "macrofund-audit-genesis-v1:"
RECORD_KEYS = frozenset({"seq", "run_id", "type", "ts_event", "ts_recorded", "payload", "prev_hash", "hash"})

_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder()


class AuditError(MacrofundError):
    """Audit input cannot be read (missing file, unreachable database, unknown run)."""


class AuditConflictError(MacrofundError):
    """PostgreSQL already holds a different record under the same (run_id, seq)."""


def genesis_hash(run_id: str) -> str:
    """The ``prev_hash`` of a run's first record: fixed, and different for every run id."""
    return hashlib.sha256((GENESIS_PREFIX + run_id).encode()).hexdigest()


def canonical_body(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash covers: the record minus ``hash``, keys sorted, compact JSON."""
    fields = {k: v for k, v in record.items() if k != "hash"}
    return _encoder.encode(fields)


def decode(data: bytes | str) -> Any:
    """Parse JSON (raises ``msgspec.DecodeError``)."""
    return _decoder.decode(data)


def digest(body: bytes) -> str:
    """Lower-case hex SHA-256."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """A record as written: its fields, canonical body, hash and the JSONL line (body plus hash)."""

    seq: int
    type: str
    ts_event: int
    ts_recorded: int
    prev_hash: str
    hash: str
    body: bytes

    @property
    def line(self) -> bytes:
        """One JSONL line: the canonical body with ``hash`` appended as the last key."""
        return self.body[:-1] + b',"hash":"' + self.hash.encode() + b'"}\n'


class AuditChain:
    """Numbers and links records for one run. Not thread-safe: one writer (the kernel's thread)."""

    def __init__(self, run_id: str, last_seq: int = 0, last_hash: str | None = None) -> None:
        self.run_id = run_id
        self.seq = last_seq
        self.head = last_hash if last_hash is not None else genesis_hash(run_id)

    def seal(self, record_type: str, ts_event: int, ts_recorded: int, payload: Any) -> SealedRecord:
        """The next record in the chain (advances ``seq`` and ``head``); ``payload`` is a JSON object
        (a dict, or a dataclass msgspec encodes as one)."""
        seq = self.seq + 1
        body = _encoder.encode(
            {
                "payload": payload,
                "prev_hash": self.head,
                "run_id": self.run_id,
                "seq": seq,
                "ts_event": ts_event,
                "ts_recorded": ts_recorded,
                "type": record_type,
            }
        )
        record_digest = hashlib.sha256(body).hexdigest()
        sealed = SealedRecord(seq, record_type, ts_event, ts_recorded, self.head, record_digest, body)
        self.seq = seq
        self.head = record_digest
        return sealed
