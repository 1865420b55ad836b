"""The slice plan: whole lots that sum exactly to the parent, on the kernel clock (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macrofund.strategies.execution.schedule import horizon_in_days, plan_slices
from macrofund.venues.impact import ImpactModelError
from macrofund.venues.sim.config import ImpactParams

LINEAR = ImpactParams(sigma=0.0055, eta=2e-6, gamma=1e-8, epsilon=4e-5)
POWER_LAW = ImpactParams(sigma=0.0055, eta=5.15e-7, gamma=8.6e-9, epsilon=4.18e-5, beta=0.6)
HOUR_NS = 3_600_000_000_000


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.integers(min_value=1, max_value=5_000),
    slices=st.integers(min_value=1, max_value=60),
    risk_aversion=st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e4)),
    is_sell=st.booleans(),
    params=st.sampled_from([LINEAR, POWER_LAW]),
)
def test_children_sum_to_the_parent_and_keep_its_side(
    quantity: int, slices: int, risk_aversion: float, is_sell: bool, params: ImpactParams
) -> None:
    plan = plan_slices(Decimal(quantity), is_sell, Decimal(1), params, HOUR_NS, slices, risk_aversion)
    assert sum(s.quantity for s in plan.slices) == quantity
    assert all(s.quantity > 0 and s.quantity == s.quantity.to_integral_value() for s in plan.slices)
    sign = 1 if is_sell else -1
    assert sum(plan.rounded) == sign * quantity
    assert all(n * sign >= 0 for n in plan.rounded)  # never a slice on the other side
    assert len(plan.rounded) == slices
    # Each slice is within one lot of the real-valued trajectory.
    for n, target in zip(plan.rounded, plan.trajectory.trades, strict=True):
        assert abs(float(n) - target) < 1 + 1e-9
    offsets = [s.offset_ns for s in plan.slices]
    assert offsets == sorted(set(offsets)) and offsets[0] >= 0 and offsets[-1] < HOUR_NS


@given(quantity=st.integers(min_value=1, max_value=1_000), slices=st.integers(min_value=1, max_value=40))
def test_zero_risk_aversion_is_twap(quantity: int, slices: int) -> None:
    plan = plan_slices(Decimal(quantity), False, Decimal(1), LINEAR, HOUR_NS, slices, 0.0)
    each = [abs(n) for n in plan.rounded]
    assert max(each) - min(each) <= 1 and sum(each) == quantity
    scheduled = [s for s in plan.slices]
    assert [s.offset_ns for s in scheduled] == [(s.index - 1) * HOUR_NS // slices for s in scheduled]


def test_fractional_size_increment_rounds_in_increments() -> None:
    plan = plan_slices(Decimal("2.5"), True, Decimal("0.1"), LINEAR, HOUR_NS, 4, 0.0)
    assert [s.quantity for s in plan.slices] == [
        Decimal("0.7"),
        Decimal("0.6"),
        Decimal("0.6"),
        Decimal("0.6"),
    ]


def test_quantity_off_the_size_grid_is_refused() -> None:
    with pytest.raises(ImpactModelError, match="size increment"):
        plan_slices(Decimal("2.5"), True, Decimal(1), LINEAR, HOUR_NS, 4, 0.0)


def test_horizon_is_measured_in_trading_days() -> None:
    assert horizon_in_days(23 * HOUR_NS, 23.0) == 1.0
    assert horizon_in_days(HOUR_NS, 6.5) == pytest.approx(1 / 6.5)
