"""Execution algorithms every kernel registers, so strategies can route parent orders to them."""

from __future__ import annotations

from nautilus_trader.execution.algorithm import ExecAlgorithm


def default_exec_algorithms() -> list[ExecAlgorithm]:
    """The execution algorithms registered in every mode."""
    return []
