"""Bad inputs fail with ImpactModelError and a one-line message, never NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest

from macrofund.errors import MacrofundError
from macrofund.venues.impact import AlmgrenChriss, ImpactModelError, round_to_lots, scaled_2005_parameters

GOOD = {"sigma": 0.95, "eta": 2.5e-6, "gamma": 2.5e-7, "epsilon": 0.0625}
MODEL = AlmgrenChriss(**GOOD)


def test_impact_error_is_both_a_macrofund_error_and_a_value_error() -> None:
    assert issubclass(ImpactModelError, MacrofundError)
    assert issubclass(ImpactModelError, ValueError)


@pytest.mark.parametrize("name", ["sigma", "eta", "gamma", "epsilon"])
@pytest.mark.parametrize("value", [-1e-9, math.nan, math.inf, -math.inf])
def test_negative_or_non_finite_coefficients_are_refused(name: str, value: float) -> None:
    with pytest.raises(ImpactModelError, match=name):
        AlmgrenChriss(**{**GOOD, name: value})


@pytest.mark.parametrize("name", ["beta", "alpha"])
@pytest.mark.parametrize("value", [0.0, -0.5, math.nan, math.inf])
def test_non_positive_or_non_finite_exponents_are_refused(name: str, value: float) -> None:
    with pytest.raises(ImpactModelError, match=name):
        AlmgrenChriss(**GOOD, **{name: value})


def test_non_numeric_coefficient_is_refused() -> None:
    with pytest.raises(ImpactModelError, match="sigma"):
        AlmgrenChriss("0.95", 1e-6, 1e-7, 0.01)  # type: ignore[arg-type]


@pytest.mark.parametrize("slices", [0, -3, 5.0, True, "5"])
def test_bad_slice_count_is_refused(slices: object) -> None:
    with pytest.raises(ImpactModelError, match="N must"):
        MODEL.optimal_trajectory(1e6, 5.0, slices, 1e-6)  # type: ignore[arg-type]


@pytest.mark.parametrize("horizon", [0.0, -1.0, math.nan, math.inf])
def test_non_positive_horizon_is_refused(horizon: float) -> None:
    with pytest.raises(ImpactModelError, match="T must"):
        MODEL.optimal_trajectory(1e6, horizon, 5, 1e-6)


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_non_finite_quantity_is_refused(x: float) -> None:
    with pytest.raises(ImpactModelError, match="X must"):
        MODEL.optimal_trajectory(x, 5.0, 5, 1e-6)


@pytest.mark.parametrize("lam", [-1e-6, math.nan, math.inf])
def test_negative_or_non_finite_risk_aversion_is_refused(lam: float) -> None:
    with pytest.raises(ImpactModelError, match="risk_aversion"):
        MODEL.optimal_trajectory(1e6, 5.0, 5, lam)


def test_frontier_refuses_negative_risk_aversion_and_2d_input() -> None:
    with pytest.raises(ImpactModelError, match="risk_aversion"):
        MODEL.efficient_frontier(1e6, 5.0, 5, [1e-6, -1e-6])
    with pytest.raises(ImpactModelError, match="1-D"):
        MODEL.efficient_frontier(1e6, 5.0, 5, np.ones((2, 2)))


@pytest.mark.parametrize("tau", [0.0, -1.0, math.nan])
def test_single_order_helpers_refuse_non_positive_interval(tau: float) -> None:
    for method in (MODEL.single_order_cost, MODEL.temporary_impact_per_unit, MODEL.permanent_impact):
        with pytest.raises(ImpactModelError, match="tau"):
            method(100.0, tau)


def test_round_to_lots_refuses_bad_lot_and_fractional_parent() -> None:
    with pytest.raises(ImpactModelError, match="lot"):
        round_to_lots([1.0, 2.0], 0)
    with pytest.raises(ImpactModelError, match="lot"):
        round_to_lots([1.0, 2.0], 1.5)  # type: ignore[arg-type]
    with pytest.raises(ImpactModelError, match="whole number of lots"):
        round_to_lots([1.2, 2.0], 1)
    with pytest.raises(ImpactModelError, match="finite"):
        round_to_lots([math.nan, 1.0], 1)


def test_round_to_lots_gives_missing_lots_to_largest_remainders() -> None:
    np.testing.assert_array_equal(round_to_lots([3.4, 3.3, 3.3], 1), [4, 3, 3])
    np.testing.assert_array_equal(round_to_lots([-3.4, -3.3, -3.3], 1), [-4, -3, -3])
    np.testing.assert_array_equal(round_to_lots([250.0, 150.0, 100.0], 50), [250, 150, 100])


def test_scaled_2005_parameters_refuse_non_positive_volume() -> None:
    with pytest.raises(ImpactModelError, match="daily_volume"):
        scaled_2005_parameters(0.0, 1.0, 0.01, 0.0)
    with pytest.raises(ImpactModelError, match="must not be negative"):
        scaled_2005_parameters(1e5, -1.0, 0.01, 0.0)
