"""Execution algorithms every kernel registers, so strategies can route parent orders to them.

Registered ids (route a parent with ``exec_algorithm_id=ExecAlgorithmId("<id>")``):

- ``"AC"``: :class:`AlmgrenChrissExecAlgorithm`, optimal execution along the Almgren-Chriss trajectory
  (see ``docs/execution.md``).
"""

from __future__ import annotations

from nautilus_trader.execution.algorithm import ExecAlgorithm

from macrofund.strategies.execution.almgren_chriss import (
    AC_EXEC_ALGORITHM_ID,
    AlmgrenChrissExecAlgorithm,
    AlmgrenChrissExecAlgorithmConfig,
)

__all__ = [
    "AC_EXEC_ALGORITHM_ID",
    "AlmgrenChrissExecAlgorithm",
    "AlmgrenChrissExecAlgorithmConfig",
    "default_exec_algorithms",
]


def default_exec_algorithms() -> list[ExecAlgorithm]:
    """The execution algorithms registered in every mode (fresh instances: one kernel each)."""
    return [AlmgrenChrissExecAlgorithm()]
