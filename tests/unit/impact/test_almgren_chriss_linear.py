"""The paper's linear model: worked example, lambda -> 0 limit, TWAP closed form, symmetry, frontier."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from macrofund.venues.impact import AlmgrenChriss, ImpactModelError
from macrofund.venues.impact.almgren_chriss import _newton_fractions

# Almgren & Chriss (2000) §3 example: S0 = 50, 30% annual vol over 250 days rounded by the paper to
# sigma = 0.95 $/share/sqrt(day) (0.3 * 50 / sqrt(250) = 0.9487), spread 1/8 -> epsilon = 1/16,
# eta = 2.5e-6, gamma = 2.5e-7, lambda = 1e-6, X = 1e6 shares, T = 5 days, N = 5.
PAPER = AlmgrenChriss(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
X, T, N, LAM = 1_000_000.0, 5.0, 5, 1e-6

# Expected values derived independently with mpmath at 50 digits from the paper's closed forms
# (kappa = arccosh(1 + kappa_tilde^2 tau^2 / 2) / tau, x_j = sinh(kappa(T - t_j)) / sinh(kappa T) X,
# E and V by the paper's tanh/sinh/cosh formulas, cross-checked by direct summation), system python3:
#   kappa_tilde = 0.61644140029689764503
PAPER_KAPPA = 0.60707616324706278778
PAPER_HOLDINGS = [
    1000000.0,
    541955.55437392229338,
    289854.21940993505824,
    147897.48782172314523,
    62141.801605766027407,
    0.0,
]
PAPER_E = 911226.98630379355148
PAPER_V = 364128572058.14100175  # sqrt(V) = 603430.668808


def test_paper_example_kappa_trajectory_e_and_v_match_high_precision_values() -> None:
    plan = PAPER.optimal_trajectory(X, T, N, LAM)
    assert plan.tau == 1.0
    assert plan.kappa == pytest.approx(PAPER_KAPPA, rel=1e-12)
    np.testing.assert_allclose(plan.holdings, PAPER_HOLDINGS, rtol=1e-12, atol=0)
    assert plan.expected_cost == pytest.approx(PAPER_E, rel=1e-12)
    assert plan.variance == pytest.approx(PAPER_V, rel=1e-12)
    # Six significant digits as a human reads them off the paper's example.
    assert f"{plan.kappa:.6g}" == "0.607076"
    assert f"{plan.expected_cost:.6g}" == "911227"
    assert f"{plan.variance:.6g}" == "3.64129e+11"


def test_paper_example_trades_are_differences_of_holdings_and_front_loaded() -> None:
    plan = PAPER.optimal_trajectory(X, T, N, LAM)
    np.testing.assert_array_equal(plan.trades, plan.holdings[:-1] - plan.holdings[1:])
    assert np.all(np.diff(plan.trades) < 0)
    assert math.fsum(plan.trades) == pytest.approx(X, rel=0, abs=2 * np.finfo(float).eps * X)


def test_result_arrays_are_read_only() -> None:
    plan = PAPER.optimal_trajectory(X, T, N, LAM)
    with pytest.raises(ValueError):
        plan.holdings[1] = 0.0


def test_twap_cost_matches_paper_lambda_zero_closed_form() -> None:
    tau = T / N
    twap = PAPER.twap_cost(X, T, N)
    expected = 0.5 * PAPER.gamma * X**2 + PAPER.epsilon * X + (PAPER.eta - 0.5 * PAPER.gamma * tau) * X**2 / T
    variance = PAPER.sigma**2 * X**2 * T * (1 - 1 / N) * (1 - 1 / (2 * N)) / 3
    assert twap.expected_cost == pytest.approx(expected, rel=1e-14)
    assert twap.variance == pytest.approx(variance, rel=1e-14)
    assert twap.expected_cost == pytest.approx(662500.0, rel=1e-14)
    assert twap.variance == pytest.approx(1.083e12, rel=1e-14)


def test_zero_risk_aversion_gives_the_straight_line_exactly() -> None:
    plan = PAPER.optimal_trajectory(X, T, N, 0.0)
    np.testing.assert_array_equal(plan.holdings, [1e6, 8e5, 6e5, 4e5, 2e5, 0.0])
    twap = PAPER.twap_cost(X, T, N)
    assert plan.expected_cost == pytest.approx(twap.expected_cost, rel=1e-15)
    assert plan.variance == pytest.approx(twap.variance, rel=1e-15)
    assert plan.kappa == 0.0


@pytest.mark.parametrize("lam", [1e-12, 1e-20, 1e-300, 0.0])
def test_vanishing_risk_aversion_converges_to_twap_without_nan(lam: float) -> None:
    plan = PAPER.optimal_trajectory(X, T, N, lam)
    line = X * np.arange(N, -1, -1) / N
    assert np.all(np.isfinite(plan.holdings))
    assert plan.kappa is not None and math.isfinite(plan.kappa)
    # The deviation from the straight line is O((kappa T)^2) relative.
    bound = max((plan.kappa * T) ** 2, 1e-15) * X
    np.testing.assert_allclose(plan.holdings, line, rtol=0, atol=bound)
    twap = PAPER.twap_cost(X, T, N)
    assert plan.expected_cost == pytest.approx(twap.expected_cost, rel=max((plan.kappa * T) ** 2, 1e-15))
    assert plan.expected_cost >= twap.expected_cost * (1 - 1e-15)


def test_trajectory_is_continuous_as_risk_aversion_decreases_to_zero() -> None:
    lams = [1e-6, 1e-8, 1e-10, 1e-12, 1e-14, 1e-16, 1e-20, 0.0]
    costs = [PAPER.optimal_trajectory(X, T, N, lam).expected_cost for lam in lams]
    deviations = [
        float(np.max(np.abs(PAPER.optimal_trajectory(X, T, N, lam).holdings - X * np.arange(N, -1, -1) / N)))
        for lam in lams
    ]
    assert all(a >= b for a, b in itertools.pairwise(costs))
    assert all(a >= b for a, b in itertools.pairwise(deviations))
    assert deviations[-1] == 0.0


def test_large_urgency_does_not_overflow_and_trades_almost_everything_first() -> None:
    plan = PAPER.optimal_trajectory(X, 5000.0, 500, 1.0)
    assert np.all(np.isfinite(plan.holdings))
    assert plan.kappa is not None and plan.kappa * 5000.0 > 1000  # sinh(kappa T) would overflow
    assert plan.trades[0] > 0.5 * X


def test_buy_and_sell_programs_are_mirror_images_with_equal_cost() -> None:
    sell = PAPER.optimal_trajectory(X, T, N, LAM)
    buy = PAPER.optimal_trajectory(-X, T, N, LAM)
    np.testing.assert_array_equal(buy.holdings, -sell.holdings)
    np.testing.assert_array_equal(buy.trades, -sell.trades)
    assert buy.expected_cost == sell.expected_cost > 0
    assert buy.variance == sell.variance


def test_zero_quantity_gives_zero_trajectory_and_zero_cost() -> None:
    plan = PAPER.optimal_trajectory(0.0, T, N, LAM)
    np.testing.assert_array_equal(plan.holdings, np.zeros(N + 1))
    np.testing.assert_array_equal(plan.trades, np.zeros(N))
    assert plan.expected_cost == 0.0
    assert plan.variance == 0.0


def test_efficient_frontier_cost_rises_as_variance_falls() -> None:
    lams = np.logspace(-9, -4, 12)
    frontier = PAPER.efficient_frontier(X, T, N, lams)
    assert np.all(np.diff(frontier.variances) < 0)
    assert np.all(np.diff(frontier.expected_costs) > 0)
    twap = PAPER.twap_cost(X, T, N)
    assert np.all(frontier.expected_costs >= twap.expected_cost)


def test_single_slice_trajectory_costs_the_same_as_a_single_order() -> None:
    for lam in (0.0, 1e-6, 1.0):
        plan = PAPER.optimal_trajectory(X, 2.0, 1, lam)
        assert plan.expected_cost == pytest.approx(PAPER.single_order_cost(X, 2.0), rel=1e-14)
        assert plan.variance == 0.0


def test_numerical_solver_reproduces_the_closed_form_on_the_linear_model() -> None:
    fractions = _newton_fractions(PAPER, X, T / N, N, LAM)
    np.testing.assert_allclose(fractions * X, PAPER_HOLDINGS, rtol=1e-9, atol=1e-6)


def test_permanent_impact_outweighing_temporary_is_refused_with_advice() -> None:
    model = AlmgrenChriss(sigma=1.0, eta=1e-7, gamma=1e-6, epsilon=0.0)
    with pytest.raises(ImpactModelError, match="use more slices"):
        model.optimal_trajectory(1000.0, 10.0, 2, 1e-6)


def test_no_temporary_impact_means_immediate_liquidation_when_risk_averse() -> None:
    model = AlmgrenChriss(sigma=1.0, eta=0.0, gamma=0.0, epsilon=0.01)
    plan = model.optimal_trajectory(100.0, 1.0, 4, 1e-3)
    np.testing.assert_array_equal(plan.holdings, [100.0, 0, 0, 0, 0])
    assert plan.expected_cost == pytest.approx(1.0)
