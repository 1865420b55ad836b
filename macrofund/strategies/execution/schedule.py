"""From a parent order to a whole-lot slice schedule on the kernel clock (pure: no Nautilus objects).

The Almgren-Chriss trajectory is real-valued and its time unit is the trading day; an exchange takes
whole lots and the kernel counts nanoseconds. This module does both conversions, so the algorithm only
has to submit what it is given, and tests and notebooks can inspect a plan without running an engine.

Slice k (k = 1..N) trades ``n_k`` of the trajectory and is submitted at ``arrival + (k - 1) * horizon / N``:
the model trades n_k over the interval ``((k-1) tau, k tau]``, and a market order sent at the start of the
interval is how an algorithm trades it. Zero-size slices (after rounding) are kept in the plan's
``rounded`` trades but not scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from macrofund.venues.impact import AlmgrenChriss, ExecutionTrajectory, ImpactModelError, round_to_lots
from macrofund.venues.sim.config import ImpactParams

_NS_PER_HOUR = 3_600_000_000_000


@dataclass(frozen=True)
class Slice:
    """One child order to send: trajectory index k (1-based), delay after arrival, unsigned quantity."""

    index: int
    offset_ns: int
    quantity: Decimal


@dataclass(frozen=True)
class SlicePlan:
    """The schedule of one parent order and the model's view of it.

    ``rounded`` are the signed whole-lot trades n_1..n_N (model convention: positive = sell) that sum
    exactly to the parent; ``slices`` are the non-zero ones in time order. ``expected_cost`` and
    ``variance`` are E and V of the rounded schedule (what is actually sent), in price x contracts.
    """

    trajectory: ExecutionTrajectory
    rounded: tuple[Decimal, ...]
    slices: tuple[Slice, ...]
    expected_cost: float
    variance: float


def model_for(params: ImpactParams) -> AlmgrenChriss:
    """The impact model of an instrument's parameters."""
    return params.model()


def horizon_in_days(horizon_ns: int, trading_day_hours: float) -> float:
    """The horizon in the model's time unit: trading days of ``trading_day_hours`` hours."""
    return horizon_ns / (trading_day_hours * _NS_PER_HOUR)


def plan_slices(
    quantity: Decimal,
    is_sell: bool,
    size_increment: Decimal,
    params: ImpactParams,
    horizon_ns: int,
    slices: int,
    risk_aversion: float,
) -> SlicePlan:
    """The whole-lot slice schedule for a parent of ``quantity`` (unsigned) over ``horizon_ns``.

    Raises ``ImpactModelError`` (one line) when the model refuses the request, e.g. a grid so coarse
    that permanent impact outweighs temporary impact, or a quantity off the instrument's size grid.
    """
    if quantity <= 0:
        raise ImpactModelError(f"quantity must be positive, got {quantity}")
    if horizon_ns <= 0:
        raise ImpactModelError(f"horizon must be positive, got {horizon_ns} ns")
    steps = quantity / size_increment
    if steps != steps.to_integral_value():
        raise ImpactModelError(
            f"quantity {quantity} is not a multiple of the size increment {size_increment}"
        )
    model = model_for(params)
    signed = float(quantity) if is_sell else -float(quantity)
    horizon = horizon_in_days(horizon_ns, params.trading_day_hours)
    trajectory = model.optimal_trajectory(signed, horizon, slices, risk_aversion)
    # Rounded in size increments (1 for futures), so the children sum exactly to the parent.
    in_steps = round_to_lots(np.asarray(trajectory.trades) / float(size_increment), 1)
    total = int(in_steps.sum())
    if abs(total) != int(steps):  # round_to_lots guarantees this; a failure here is a bug, not input
        raise AssertionError(f"rounded slices sum to {total} steps, parent has {steps}")
    rounded = tuple(Decimal(int(n)) * size_increment for n in in_steps)
    scheduled = tuple(
        Slice(index=k, offset_ns=(k - 1) * horizon_ns // slices, quantity=abs(n))
        for k, n in enumerate(rounded, start=1)
        if n != 0
    )
    holdings = signed - np.concatenate(([0.0], np.cumsum([float(n) for n in rounded])))
    holdings[-1] = 0.0
    cost = model.cost_of_schedule(holdings, trajectory.tau)
    return SlicePlan(
        trajectory=trajectory,
        rounded=rounded,
        slices=scheduled,
        expected_cost=cost.expected_cost,
        variance=cost.variance,
    )
