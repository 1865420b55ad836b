"""Daily sigma and volume estimates from bars, and the calibration built on them."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from macrofund.errors import DataError
from macrofund.venues.contracts import spec_for
from macrofund.venues.impact import ImpactModelError, scaled_2005_parameters
from macrofund.venues.impact.estimate import estimate_market
from macrofund.venues.sim.calibration import (
    calibrate,
    render_json,
    render_toml,
    session_day_ids,
    trading_day_hours,
)
from macrofund.venues.sim.config import FillModelSettings

MINUTE = 60_000_000_000
DAY = 86_400_000_000_000


def _intraday(days: int, bars_per_day: int, sigma_bar: float, volume: float, seed: int = 3):
    rng = np.random.default_rng(seed)
    ts = np.concatenate([d * DAY + np.arange(bars_per_day) * MINUTE for d in range(days)]).astype(np.int64)
    closes = 4000.0 + np.cumsum(rng.normal(0.0, sigma_bar, ts.size))
    return ts, closes, np.full(ts.size, volume)


def test_intraday_sigma_is_the_root_mean_daily_realised_variance() -> None:
    ts, closes, volumes = _intraday(days=60, bars_per_day=400, sigma_bar=0.5, volume=25.0)
    est = estimate_market(ts, closes, volumes)
    # 399 within-day changes of sd 0.5 per day: sigma_d = 0.5 * sqrt(399) (sampling error ~1/sqrt(2*60*399)).
    assert est.daily_sigma == pytest.approx(0.5 * math.sqrt(399), rel=0.02)
    assert est.daily_volume == 25.0 * 400
    assert (est.days, est.bars, est.daily_bars) == (60, 24_000, False)


def test_overnight_gap_and_partial_days_are_left_out() -> None:
    ts, closes, volumes = _intraday(days=20, bars_per_day=100, sigma_bar=1.0, volume=10.0)
    closes = closes + np.repeat(np.arange(20) * 500.0, 100)  # huge overnight jumps
    stub_ts = np.array([20 * DAY + n * MINUTE for n in range(5)], dtype=np.int64)  # a 5-bar stub day
    est = estimate_market(
        np.concatenate([ts, stub_ts]),
        np.concatenate([closes, np.full(5, closes[-1])]),
        np.concatenate([volumes, np.full(5, 1.0)]),
    )
    assert est.days == 20 and est.daily_volume == 1000.0
    assert est.daily_sigma == pytest.approx(math.sqrt(99), rel=0.1)


def test_daily_bars_use_the_close_to_close_standard_deviation() -> None:
    rng = np.random.default_rng(5)
    changes = rng.normal(0.0, 20.0, 500)
    closes = 4000.0 + np.concatenate([[0.0], np.cumsum(changes)])
    ts = (np.arange(501) * DAY).astype(np.int64)
    est = estimate_market(ts, closes, np.full(501, 1e6))
    assert est.daily_bars and est.daily_sigma == pytest.approx(float(np.std(changes, ddof=1)), rel=1e-12)
    assert est.daily_volume == 1e6


@pytest.mark.parametrize(
    ("closes", "volumes", "message"),
    [
        (np.full(200, 4000.0), np.full(200, 5.0), "prices never change"),
        (4000.0 + np.arange(200.0), np.zeros(200), "no volume"),
        (4000.0 + np.arange(200.0), np.full(200, -1.0), "must not be negative"),
    ],
)
def test_bars_that_cannot_support_an_estimate_are_refused(
    closes: np.ndarray, volumes: np.ndarray, message: str
) -> None:
    ts = (np.arange(200) * 10 * MINUTE).astype(np.int64)
    with pytest.raises(ImpactModelError, match=message):
        estimate_market(ts, closes, volumes)


def test_one_day_is_not_enough() -> None:
    ts = (np.arange(50) * MINUTE).astype(np.int64)
    with pytest.raises(ImpactModelError, match="at least 2 trading days"):
        estimate_market(ts, 4000.0 + np.arange(50.0), np.ones(50))


def test_session_days_keep_a_cme_evening_with_its_next_morning_and_b3_hours_are_its_session() -> None:
    cme = spec_for("ES")
    evening = pd.Timestamp("2024-01-08T23:30:00Z").value  # 17:30 Chicago, Monday session opening
    morning = pd.Timestamp("2024-01-09T15:00:00Z").value  # 09:00 Chicago, same session
    next_session = pd.Timestamp("2024-01-09T23:05:00Z").value
    ids = session_day_ids(np.array([evening, morning, next_session], dtype=np.int64), cme)
    assert ids[0] == ids[1] != ids[2]
    assert trading_day_hours(cme) == 23.0
    assert trading_day_hours(spec_for("WIN")) == pytest.approx(9 + 25 / 60)


def _bar_file(tmp_path: Path, with_volume: bool = True) -> Path:
    ts, closes, volumes = _intraday(days=15, bars_per_day=300, sigma_bar=0.75, volume=40.0)
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(ts + pd.Timestamp("2024-01-08T14:00:00Z").value, utc=True),
            "open": np.round(closes / 0.25) * 0.25,
            "high": np.round(closes / 0.25) * 0.25 + 0.5,
            "low": np.round(closes / 0.25) * 0.25 - 0.5,
            "close": np.round(closes / 0.25) * 0.25,
        }
    )
    if with_volume:
        frame["volume"] = volumes
    path = tmp_path / "es.csv"
    frame.to_csv(path, index=False)
    return path


def test_calibration_scales_the_2005_estimates_and_pastes_into_a_run_config(tmp_path: Path) -> None:
    result = calibrate(_bar_file(tmp_path), "ESH4.CME", spread_ticks=2.0)
    est = result.estimates
    expected = scaled_2005_parameters(est.daily_volume, est.daily_sigma, 0.5, 0.0)
    for key, value in expected.items():
        assert getattr(result.params, key) == pytest.approx(value, rel=1e-12)
    assert result.params.epsilon == 0.25 and result.params.trading_day_hours == 23.0
    assert est.daily_volume == 40.0 * 300

    snippet = render_toml(result)
    venue = tomllib.loads("[[venues]]\n" + snippet)["venues"][0]
    settings = FillModelSettings.model_validate({"kind": "almgren_chriss", **venue["fill_model"]})
    pasted = settings.params_for("ESH4.CME")
    assert pasted.eta == pytest.approx(result.params.eta, rel=1e-5)
    assert pasted.sigma == pytest.approx(result.params.sigma, rel=1e-5)
    assert '"ES"' in render_json(result)


def test_calibration_without_volume_is_a_one_line_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"es\.csv: the bars carry no volume"):
        calibrate(_bar_file(tmp_path, with_volume=False), "ES.CME")
