"""Power-law impact (Almgren et al. 2005): single-order costs and the numerical optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from macrofund.venues.impact import AlmgrenChriss, ImpactModelError, scaled_2005_parameters

ATHL = AlmgrenChriss(
    **scaled_2005_parameters(daily_volume=100_000, daily_sigma_price=2.0, spread=0.01, fee_per_unit=0.001)
)


def _objective(model: AlmgrenChriss, holdings: np.ndarray, tau: float, lam: float) -> float:
    stats = model.cost_of_schedule(holdings, tau)
    return stats.expected_cost + lam * stats.variance


def test_scaled_2005_parameters_convert_normalised_estimates_to_per_unit_coefficients() -> None:
    params = scaled_2005_parameters(
        daily_volume=100_000, daily_sigma_price=2.0, spread=0.01, fee_per_unit=0.001
    )
    assert params["eta"] == pytest.approx(0.142 * 2.0 / 100_000**0.6)
    assert params["gamma"] == pytest.approx(0.314 * 2.0 / 100_000)
    assert params["epsilon"] == pytest.approx(0.006)
    assert params["sigma"] == 2.0
    assert (params["beta"], params["alpha"]) == (0.6, 1.0)
    # Trading 10% of daily volume over one day costs 0.142 * (0.1)^0.6 daily sigmas per unit (plus spread).
    per_unit = ATHL.temporary_impact_per_unit(10_000, 1.0) - 0.006
    assert per_unit == pytest.approx(2.0 * 0.142 * 0.1**0.6)
    # A whole day's volume leaves a permanent shift of 0.314 daily sigmas.
    assert ATHL.permanent_impact(100_000, 1.0) == pytest.approx(0.314 * 2.0)


def test_single_order_cost_is_fixed_plus_power_law_temporary_cost() -> None:
    model = AlmgrenChriss(sigma=1.0, eta=0.5, gamma=0.3, epsilon=0.05, beta=0.6, alpha=1.0)
    assert model.single_order_cost(200.0, 4.0) == pytest.approx(0.05 * 200 + 0.5 * 200 * 50**0.6)
    assert model.single_order_cost(-200.0, 4.0) == model.single_order_cost(200.0, 4.0)
    assert model.temporary_impact_per_unit(-200.0, 4.0) == pytest.approx(0.05 + 0.5 * 50**0.6)
    assert model.permanent_impact(-200.0, 4.0) == pytest.approx(-0.3 * 50 * 4.0)
    assert model.permanent_impact(0.0, 4.0) == 0.0


def test_larger_orders_fill_worse_per_unit() -> None:
    assert ATHL.temporary_impact_per_unit(20_000, 1.0) > ATHL.temporary_impact_per_unit(2_000, 1.0)
    assert ATHL.temporary_impact_per_unit(2_000, 0.1) > ATHL.temporary_impact_per_unit(2_000, 1.0)


def test_single_slice_nonlinear_trajectory_costs_the_same_as_a_single_order() -> None:
    plan = ATHL.optimal_trajectory(5_000.0, 0.25, 1, 1e-3)
    assert plan.expected_cost == pytest.approx(ATHL.single_order_cost(5_000.0, 0.25), rel=1e-14)
    assert plan.kappa is None


def test_twap_cost_closed_form_matches_the_paper_sums_for_power_law_impact() -> None:
    model = AlmgrenChriss(sigma=1.5, eta=0.02, gamma=0.003, epsilon=0.01, beta=0.6, alpha=0.8)
    holdings = 900.0 * np.arange(7, -1, -1) / 7
    by_sum = model.cost_of_schedule(holdings, 2.0 / 7)
    closed = model.twap_cost(900.0, 2.0, 7)
    assert closed.expected_cost == pytest.approx(by_sum.expected_cost, rel=1e-12)
    assert closed.variance == pytest.approx(by_sum.variance, rel=1e-12)


def test_zero_risk_aversion_with_linear_permanent_impact_is_twap_exactly() -> None:
    plan = ATHL.optimal_trajectory(5_000.0, 1.0, 13, 0.0)
    np.testing.assert_array_equal(plan.holdings, 5_000.0 * np.arange(13, -1, -1) / 13)
    assert plan.expected_cost == pytest.approx(ATHL.twap_cost(5_000.0, 1.0, 13).expected_cost, rel=1e-14)


@pytest.mark.parametrize(
    ("beta", "alpha", "lam"),
    [(0.6, 1.0, 1e-5), (0.6, 1.0, 1e-3), (0.6, 1.0, 1e-7), (1.5, 1.0, 1e-4), (2.5, 1.0, 1e-3)],
)
def test_numerical_optimum_beats_twap_and_every_small_perturbation(
    beta: float, alpha: float, lam: float
) -> None:
    params = scaled_2005_parameters(
        daily_volume=100_000, daily_sigma_price=2.0, spread=0.01, fee_per_unit=0.0
    )
    params.update(beta=beta, alpha=alpha)
    model = AlmgrenChriss(**params)
    quantity, horizon, slices = 20_000.0, 1.0, 8
    tau = horizon / slices
    plan = model.optimal_trajectory(quantity, horizon, slices, lam)
    best = plan.expected_cost + lam * plan.variance
    assert best == pytest.approx(_objective(model, plan.holdings, tau, lam), rel=1e-12)
    assert best <= _objective(model, quantity * np.arange(slices, -1, -1) / slices, tau, lam) * (1 + 1e-12)
    assert np.all(plan.trades >= 0)
    rng = np.random.default_rng(7)
    for _ in range(200):
        bump = np.zeros(slices + 1)
        bump[1:-1] = rng.normal(scale=1e-4 * quantity, size=slices - 1)
        candidate = plan.holdings + bump
        if np.all(candidate[:-1] - candidate[1:] >= 0):
            assert _objective(model, candidate, tau, lam) >= best * (1 - 1e-11)


def test_nonlinear_buy_and_sell_are_mirror_images() -> None:
    sell = ATHL.optimal_trajectory(20_000.0, 1.0, 10, 1e-4)
    buy = ATHL.optimal_trajectory(-20_000.0, 1.0, 10, 1e-4)
    np.testing.assert_allclose(buy.holdings, -sell.holdings, rtol=0, atol=1e-9)
    assert buy.expected_cost == pytest.approx(sell.expected_cost, rel=1e-14)
    assert buy.variance == pytest.approx(sell.variance, rel=1e-14)


def test_nonlinear_frontier_cost_rises_as_variance_falls() -> None:
    frontier = ATHL.efficient_frontier(20_000.0, 1.0, 10, np.logspace(-7, -3, 8))
    assert np.all(np.diff(frontier.variances) < 0)
    assert np.all(np.diff(frontier.expected_costs) > 0)


def test_nonlinear_solver_handles_a_long_grid() -> None:
    plan = ATHL.optimal_trajectory(50_000.0, 1.0, 390, 1e-5)
    assert np.all(np.isfinite(plan.holdings))
    assert math.fsum(plan.trades) == pytest.approx(50_000.0, abs=4 * np.finfo(float).eps * 50_000.0)
    twap = ATHL.twap_cost(50_000.0, 1.0, 390)
    assert plan.expected_cost + 1e-5 * plan.variance < twap.expected_cost + 1e-5 * twap.variance


def test_optimal_trajectory_refuses_nonlinear_permanent_impact() -> None:
    model = AlmgrenChriss(sigma=1.0, eta=0.01, gamma=0.001, epsilon=0.0, beta=0.6, alpha=1.3)
    with pytest.raises(ImpactModelError, match="alpha = 1"):
        model.optimal_trajectory(100.0, 1.0, 4, 1e-4)
    assert model.single_order_cost(100.0, 1.0) > 0
