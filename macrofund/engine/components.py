"""Mode-independent run components (risk, audit, persistence, execution reports) and how they attach.

Every component is installed the same way in every mode, through a ``KernelHandle``: the Nautilus
kernel (message bus, cache, portfolio, risk and execution engines, clock) plus a way to add actors.
Only ``macrofund.engine`` builds handles; components never learn which mode they run in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nautilus_trader.common.actor import Actor
from nautilus_trader.system.kernel import NautilusKernel

from macrofund.config.run_config import RunConfig


@dataclass(frozen=True)
class KernelHandle:
    """What a component may touch. ``add_actor`` registers an Actor with the trader in any mode."""

    kernel: NautilusKernel
    config: RunConfig
    run_id: str
    output_dir: Path
    add_actor: Callable[[Actor], None]


class RunComponent(Protocol):
    """A component's lifecycle around one run. All methods must be safe to call once each, in order."""

    name: str

    def on_run_end(self, ts_ns: int) -> None:
        """The run stopped at sim/wall time ``ts_ns``: flush, finish pending work."""

    def write_outputs(self, out_dir: Path) -> dict[str, Path]:
        """Write this component's run outputs; returns them by name."""

    def summary(self) -> dict[str, Any] | None:
        """A section for ``summary.json`` (printed by the CLI as it is), or ``None``."""

    def close(self) -> None:
        """Release resources (files, connections, threads). Called even when the run failed."""


Installer = Callable[[KernelHandle], "RunComponent | None"]


def installers() -> list[Installer]:
    """Installers in the order components attach: audit first so it records everything after it; the
    GC freeze's actor first among actors, so it runs before any other actor or strategy starts."""
    from macrofund.audit.component import install as install_audit
    from macrofund.cache.component import install as install_cache
    from macrofund.engine.gc_policy import install as install_gc_freeze
    from macrofund.reports.shortfall import install as install_shortfall
    from macrofund.risk.component import install as install_risk
    from macrofund.storage.persistence import install as install_persistence

    return [
        install_gc_freeze,
        install_audit,
        install_risk,
        install_persistence,
        install_cache,
        install_shortfall,
    ]


def install_components(handle: KernelHandle) -> list[RunComponent]:
    """Install every enabled component on the kernel (before venues, data and strategies are added)."""
    installed: list[RunComponent] = []
    try:
        for install in installers():
            component = install(handle)
            if component is not None:
                installed.append(component)
    except BaseException:
        for component in installed:
            component.close()
        raise
    return installed
