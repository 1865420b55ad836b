"""The one error the impact library raises for bad user input."""

from __future__ import annotations

from macrofund.errors import MacrofundError


class ImpactModelError(MacrofundError, ValueError):
    """A model parameter or a schedule request is invalid (negative cost, non-finite size, N = 0 ...).

    It is also a ``ValueError`` so notebook users who catch the builtin still catch it, while the CLI,
    which catches ``MacrofundError``, turns it into one line instead of a traceback.
    """
