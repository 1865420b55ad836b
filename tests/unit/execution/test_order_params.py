"""Parsing a parent's exec_algorithm_params: what a strategy may pass and the one-line reasons it gets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from macrofund.strategies.execution.params import ParamsError, parse_order_params, resolve_impact
from macrofund.venues.sim.config import ImpactParams

BASE = {"horizon": "30m", "slices": 10, "risk_aversion": 1e-6}


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        (600, timedelta(minutes=10)),
        ("600", timedelta(minutes=10)),
        (2.5, timedelta(seconds=2.5)),
        ("2h", timedelta(hours=2)),
    ],
)
def test_horizon_accepts_seconds_and_duration_strings(horizon: object, expected: timedelta) -> None:
    assert parse_order_params({**BASE, "horizon": horizon}).horizon == expected


def test_horizon_in_nanoseconds_is_exact() -> None:
    assert parse_order_params({**BASE, "horizon": "1d"}).horizon_ns == 86_400 * 10**9
    assert parse_order_params({**BASE, "horizon": 0.001}).horizon_ns == 1_000_000


def test_numeric_strings_are_accepted_for_every_number() -> None:
    parsed = parse_order_params({"horizon": "60", "slices": "4", "risk_aversion": "0.5", "eta": "1e-6"})
    assert (parsed.slices, parsed.risk_aversion, parsed.overrides()) == (4, 0.5, {"eta": 1e-6})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "exec_algorithm_params missing"),
        ({}, "exec_algorithm_params missing"),
        ({**BASE, "horizon": 0}, "horizon: must be positive"),
        ({**BASE, "horizon": "-5m"}, "horizon"),
        ({**BASE, "horizon": float("inf")}, "horizon"),
        ({**BASE, "slices": 0}, "slices"),
        ({**BASE, "slices": 2.5}, "slices: expected a whole number"),
        ({**BASE, "slices": True}, "slices: expected a whole number"),
        ({**BASE, "slices": 10**6}, "slices"),
        ({**BASE, "risk_aversion": -1}, "risk_aversion"),
        ({**BASE, "risk_aversion": float("nan")}, "risk_aversion"),
        ({**BASE, "eta": -1.0}, "eta"),
        ({**BASE, "beta": 0}, "beta"),
        ({**BASE, "trading_day_hours": 25}, "trading_day_hours"),
        ({**BASE, "N": 5}, "N: unknown key"),
        ({"horizon": "1h"}, "required key is missing (and 1 more problem(s))"),
    ],
)
def test_bad_params_give_one_line_naming_the_key(raw: dict | None, message: str) -> None:
    with pytest.raises(ParamsError) as info:
        parse_order_params(raw)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_overrides_apply_over_the_configured_parameters() -> None:
    configured = ImpactParams(sigma=1.0, eta=2.0, gamma=0.1, epsilon=0.01, beta=0.6)
    resolved = resolve_impact("ESH4.CME", configured, parse_order_params({**BASE, "eta": 3.0}))
    assert (resolved.eta, resolved.sigma, resolved.beta) == (3.0, 1.0, 0.6)


def test_no_configured_parameters_need_the_four_coefficients() -> None:
    with pytest.raises(ParamsError, match=r"no Almgren-Chriss parameters for ESH4\.CME.*gamma, epsilon"):
        resolve_impact("ESH4.CME", None, parse_order_params({**BASE, "sigma": 1.0, "eta": 1.0}))
    full = {**BASE, "sigma": 1.0, "eta": 1.0, "gamma": 0.0, "epsilon": 0.0}
    assert resolve_impact("ESH4.CME", None, parse_order_params(full)).trading_day_hours == 23.0
