"""Placeholder installer: this component is not built yet, so it installs nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from macrofund.engine.components import KernelHandle, RunComponent


def install(handle: KernelHandle) -> RunComponent | None:
    """Install nothing (not built yet)."""
    return None
