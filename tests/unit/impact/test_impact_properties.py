"""Property-based checks of the impact model and whole-lot rounding (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from macrofund.venues.impact import AlmgrenChriss, round_to_lots

coefficient = st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False)
exponent = st.floats(min_value=0.05, max_value=3.0)
size = st.floats(min_value=0.0, max_value=1e7, allow_nan=False)
duration = st.floats(min_value=1e-4, max_value=1e3)


@given(
    coefficient,
    coefficient,
    coefficient,
    coefficient,
    exponent,
    exponent,
    size,
    size,
    duration,
    st.booleans(),
)
def test_single_order_cost_never_falls_as_the_order_grows(
    sigma, eta, gamma, epsilon, beta, alpha, q1, q2, tau, sell
) -> None:
    model = AlmgrenChriss(sigma, eta, gamma, epsilon, beta=beta, alpha=alpha)
    small, large = sorted((q1, q2))
    sign = 1.0 if sell else -1.0
    assert model.single_order_cost(sign * small, tau) <= model.single_order_cost(sign * large, tau)
    assert model.temporary_impact_per_unit(small, tau) <= model.temporary_impact_per_unit(large, tau)


linear_model = st.builds(
    AlmgrenChriss,
    sigma=st.floats(min_value=1e-3, max_value=10.0),
    eta=st.floats(min_value=1e-8, max_value=1e-2),
    gamma=st.just(0.0) | st.floats(min_value=1e-12, max_value=1e-9),
    epsilon=st.floats(min_value=0.0, max_value=1.0),
)
quantity = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False).filter(lambda x: abs(x) > 1e-3)
risk_aversion = st.just(0.0) | st.floats(min_value=1e-30, max_value=1e-2)


@settings(max_examples=200)
@given(linear_model, quantity, st.floats(min_value=0.1, max_value=20.0), st.integers(1, 200), risk_aversion)
def test_trades_sum_to_the_parent_and_cost_is_buy_sell_symmetric(model, x, horizon, slices, lam) -> None:
    plan = model.optimal_trajectory(x, horizon, slices, lam)
    assert plan.holdings[0] == x and plan.holdings[-1] == 0.0
    assert abs(math.fsum(plan.trades.tolist()) - x) <= 4 * np.finfo(float).eps * abs(x)
    assert np.all(np.isfinite(plan.holdings)) and math.isfinite(plan.expected_cost)
    assert np.all(np.sign(plan.trades) * np.sign(x) >= 0)
    mirror = model.optimal_trajectory(-x, horizon, slices, lam)
    assert mirror.expected_cost == plan.expected_cost
    assert mirror.variance == plan.variance
    twap = model.twap_cost(x, horizon, slices)
    # The optimum never does worse than TWAP on its own objective.
    objective = plan.expected_cost + lam * plan.variance
    assert objective <= (twap.expected_cost + lam * twap.variance) * (1 + 1e-9) + 1e-9


@given(
    st.lists(st.floats(min_value=0.0, max_value=1e5, allow_nan=False), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=100),
    st.booleans(),
)
def test_round_to_lots_sums_exactly_and_keeps_signs(weights, lot, buy) -> None:
    total = math.fsum(weights)
    if total < 1e-3:
        parent_lots, trades = 0, np.zeros(len(weights))
    else:
        parent_lots = int(total // 7) + 1
        trades = np.array(weights) * (parent_lots * lot / total)
    if buy:
        trades = -trades
    rounded = round_to_lots(trades, lot)
    sign = -1 if buy else 1
    assert int(rounded.sum()) == sign * parent_lots * lot
    assert np.all(rounded % lot == 0)
    assert np.all(rounded * sign >= 0)
    assert np.all(np.abs(rounded - trades) < lot * (1 + 1e-9))


@given(
    linear_model,
    st.integers(1, 10_000),
    st.floats(min_value=0.5, max_value=10.0),
    st.integers(1, 100),
    risk_aversion,
)
def test_optimal_schedule_rounds_to_whole_contracts_summing_to_the_parent(
    model, x, horizon, slices, lam
) -> None:
    plan = model.optimal_trajectory(float(x), horizon, slices, lam)
    rounded = round_to_lots(plan.trades, 1)
    assert int(rounded.sum()) == x
    assert np.all(rounded >= 0)
