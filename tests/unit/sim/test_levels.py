"""The level book: whole ticks, never better than the model, VWAP within one tick, sizes sum exactly."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from macrofund.venues.sim.levels import adverse_levels

targets = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
sizes = st.integers(min_value=1, max_value=100_000)


def _vwap(levels: list[tuple[int, int]]) -> Fraction:
    return Fraction(sum(p * n for p, n in levels), sum(n for _, n in levels))


@given(target=targets, lots=sizes, buy=st.booleans(), max_levels=st.sampled_from([1, 2]))
def test_level_vwap_is_within_one_tick_of_the_model_and_never_better(
    target: float, lots: int, buy: bool, max_levels: int
) -> None:
    levels = adverse_levels(target, lots, buy, max_levels)
    adverse = (_vwap(levels) - Fraction(target)) * (1 if buy else -1)
    # Never better than the model (beyond the 1e-9-tick float snap), never a whole tick worse.
    assert adverse >= Fraction(-2, 10**9)
    assert adverse < 1


@given(target=targets, lots=sizes, buy=st.booleans())
def test_two_levels_put_the_vwap_within_a_tick_over_q(target: float, lots: int, buy: bool) -> None:
    levels = adverse_levels(target, lots, buy, 2)
    adverse = (_vwap(levels) - Fraction(target)) * (1 if buy else -1)
    assert Fraction(-2, 10**9) <= adverse < Fraction(1, lots) + Fraction(2, 10**9)


@given(target=targets, lots=sizes, buy=st.booleans(), max_levels=st.sampled_from([1, 2]))
def test_level_sizes_sum_exactly_to_the_order_on_distinct_ordered_prices(
    target: float, lots: int, buy: bool, max_levels: int
) -> None:
    levels = adverse_levels(target, lots, buy, max_levels)
    assert sum(n for _, n in levels) == lots
    assert all(n > 0 for _, n in levels)
    assert 1 <= len(levels) <= max_levels
    prices = [p for p, _ in levels]
    assert len(set(prices)) == len(prices)  # an L2 book would REPLACE a repeated level
    assert prices == (sorted(prices) if buy else sorted(prices, reverse=True))  # best first
    if len(prices) == 2:
        assert abs(prices[1] - prices[0]) == 1


def test_a_model_price_on_a_tick_is_one_level_at_that_tick() -> None:
    assert adverse_levels(16000.0, 50, True, 2) == [(16000, 50)]
    assert adverse_levels(16000.0 + 1e-12, 50, True, 2) == [(16000, 50)]  # float noise is not a tick
    assert adverse_levels(-5.0, 3, False, 1) == [(-5, 3)]


def test_a_sell_rounds_down_and_a_buy_up() -> None:
    assert adverse_levels(10.25, 4, True, 1) == [(11, 4)]
    assert adverse_levels(10.75, 4, False, 1) == [(10, 4)]
    assert adverse_levels(10.25, 4, True, 2) == [(10, 3), (11, 1)]  # VWAP 10.25 exactly
    assert adverse_levels(10.75, 4, False, 2) == [(11, 3), (10, 1)]


def test_nonsense_sizes_and_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="lots"):
        adverse_levels(1.0, 0, True, 1)
    with pytest.raises(ValueError, match="finite"):
        adverse_levels(float("nan"), 1, True, 1)
