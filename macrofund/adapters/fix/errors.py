"""Errors of the FIX session layer, rooted in ``MacrofundError`` so the CLI prints them as one line."""

from __future__ import annotations

from macrofund.errors import MacrofundError


class FixError(MacrofundError):
    """Base of every FIX session-layer error."""


class FixCodecError(FixError):
    """Bytes that are not a valid FIX 4.4 message: the text says what is wrong and at which byte."""


class FixConfigError(FixError):
    """A FIX session config is malformed or inconsistent (names the session and the key)."""


class FixStoreError(FixError):
    """The sequence-number store could not be read or written (names the store and the session)."""


class FixSessionError(FixError):
    """A session-level failure the caller must see (e.g. sending on a stopped session)."""
