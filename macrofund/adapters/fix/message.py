"""The in-memory FIX message: an ordered list of (tag, value) fields.

Order is kept because repeating groups (e.g. Parties, 453) are positional. The session layer stamps
the fields it owns (8, 9, 34, 49, 52, 56, 10) when it sends; application code may still set other
header fields a venue needs per order (e.g. CME's SenderSubID 50 and SenderLocationID 142), which the
codec moves into the header. Values are ``str``; conversion to exact types (``Decimal`` prices,
ints) happens at the edge that reads them, never as binary floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from macrofund.errors import MacrofundError

# Header/trailer tags the session layer manages.
SESSION_TAGS = frozenset({8, 9, 10, 34, 35, 43, 49, 50, 52, 56, 57, 97, 122, 142, 143})


class FixFieldError(MacrofundError, ValueError):
    """A required field is missing or malformed; the message says which tag and why."""


@dataclass
class FixMessage:
    """A FIX message: ``msg_type`` (tag 35) and its other fields in wire order."""

    msg_type: str
    fields: list[tuple[int, str]] = field(default_factory=list)
    # First value per tag, built on the first ``get`` of a message that has not changed since: an
    # ExecutionReport is read ~30 times, and a scan per read cost more than decoding it.
    _first: dict[int, str] | None = field(default=None, init=False, repr=False, compare=False)
    _first_of: int = field(default=-1, init=False, repr=False, compare=False)

    def append(self, tag: int, value: object) -> FixMessage:
        """Add a field at the end (repeating-group members are appended in order)."""
        if value is None:
            return self
        self.fields.append((tag, value if isinstance(value, str) else _text(value)))
        return self

    def extend(self, pairs: Iterable[tuple[int, object]]) -> FixMessage:
        for tag, value in pairs:
            self.append(tag, value)
        return self

    def set(self, tag: int, value: object) -> FixMessage:
        """Replace the first occurrence of ``tag`` (or append it)."""
        self._first = None
        text = value if isinstance(value, str) else _text(value)
        for i, (t, _) in enumerate(self.fields):
            if t == tag:
                self.fields[i] = (tag, text)
                return self
        self.fields.append((tag, text))
        return self

    def get(self, tag: int, default: str | None = None) -> str | None:
        """The first value of ``tag``."""
        first = self._first
        fields = self.fields
        if first is None or self._first_of != len(fields):  # appended to (or never indexed)
            first = self._first = dict(reversed(fields))  # reversed: the first occurrence wins
            self._first_of = len(fields)
        return first.get(tag, default)

    def require(self, tag: int) -> str:
        """The first value of ``tag``; ``FixFieldError`` naming the tag when absent or empty."""
        value = self.get(tag)
        if value is None or value == "":
            raise FixFieldError(f"35={self.msg_type}: required tag {tag} is missing")
        return value

    def get_all(self, tag: int) -> list[str]:
        """Every value of ``tag`` in order (repeating groups)."""
        return [v for t, v in self.fields if t == tag]

    def decimal(self, tag: int) -> Decimal | None:
        """``tag`` as an exact ``Decimal`` (``None`` when absent); ``FixFieldError`` when malformed."""
        value = self.get(tag)
        if value is None or value == "":
            return None
        try:
            result = Decimal(value)
        except ArithmeticError:
            raise FixFieldError(f"35={self.msg_type}: tag {tag}={value!r} is not a number") from None
        if not result.is_finite():
            raise FixFieldError(f"35={self.msg_type}: tag {tag}={value!r} is not a finite number")
        return result

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, int) and self.get(tag) is not None

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return iter(self.fields)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("FIX values are never binary floats: pass a Decimal or str")
    return str(value)
