"""MacroTrend pinned on real daily data (SPY as ES, EUR/USD as 6E) and synthetic volatility regimes."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.model.currencies import BRL, USD
from nautilus_trader.model.data import BarType
from nautilus_trader.model.instruments import FuturesContract

from macrofund.errors import ConfigError
from macrofund.strategies import MacroTrend, MacroTrendConfig
from macrofund.strategies.macro_trend import needs_rebalance, vol_target_contracts
from tests.unit.strategies.strategy_test_kit import (
    OrderRecord,
    VenueSpec,
    bars_from_frame,
    engine,
    es,
    load_eurusd_daily_as_6e,
    load_spy_as_es,
    order_records,
    signed,
    six_e,
    synthetic_daily,
    win,
)

ES_DAY = BarType.from_str("ESZ3.CME-1-DAY-LAST-EXTERNAL")
SIXE_DAY = BarType.from_str("6EH4.CME-1-DAY-LAST-EXTERNAL")
WIN_DAY = BarType.from_str("WINZ13.B3-1-DAY-LAST-EXTERNAL")
FAST, SLOW, VOL = 20, 100, 60
SQRT_252 = math.sqrt(252)


def _config(bar_types: list[BarType], **overrides: object) -> MacroTrendConfig:
    fields: dict[str, object] = {
        "bar_types": bar_types,
        "fast_lookback": FAST,
        "slow_lookback": SLOW,
        "vol_lookback": VOL,
        "target_annual_vol": 0.10,
        "max_contracts": 1_000,
        "rebalance_threshold": 0.25,
    }
    fields.update(overrides)
    return MacroTrendConfig(**fields)  # type: ignore[arg-type]


def _run(
    venues: list[VenueSpec],
    legs: list[tuple[FuturesContract, BarType, pd.DataFrame]],
    config: MacroTrendConfig,
) -> list[OrderRecord]:
    bars = [
        bar for instrument, bar_type, frame in legs for bar in bars_from_frame(frame, bar_type, instrument)
    ]
    eng = engine(venues, [instrument for instrument, _, _ in legs], bars)
    strategy = MacroTrend(config)
    eng.add_strategy(strategy)
    eng.run()
    records = order_records(eng, strategy)
    eng.dispose()
    return records


def _trend_sign(closes: pd.Series) -> pd.Series:
    """+1/-1 from pandas EMAs (Nautilus's EMA is ewm(span, adjust=False)), 0 during warm-up."""
    fast = closes.ewm(span=FAST, adjust=False).mean()
    slow = closes.ewm(span=SLOW, adjust=False).mean()
    sign = np.sign(fast - slow).replace(0, np.nan).ffill().fillna(0)
    sign.iloc[: max(SLOW - 1, VOL)] = 0
    return sign.astype(int)


def _alternating(n: int, start: float, drift: float, swing: float) -> np.ndarray:
    """Closes whose daily change is drift ± swing alternately: a clean trend with std(change) ≈ swing."""
    changes = drift + swing * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return start + np.concatenate([[0.0], np.cumsum(changes[1:])])


@pytest.fixture(scope="module")
def real_daily() -> tuple[pd.DataFrame, pd.DataFrame]:
    spy = load_spy_as_es()
    eurusd = load_eurusd_daily_as_6e()
    return spy.loc["2005":"2018"], eurusd


@pytest.fixture(scope="module")
def real_run(real_daily: tuple[pd.DataFrame, pd.DataFrame]) -> list[OrderRecord]:
    spy, eurusd = real_daily
    return _run(
        [VenueSpec("CME", USD, 10_000_000)],
        [(es(), ES_DAY, spy), (six_e(), SIXE_DAY, eurusd)],
        _config([ES_DAY, SIXE_DAY], max_contracts=40),
    )


def test_position_sign_follows_the_trend_signal_on_real_data(
    real_daily: tuple[pd.DataFrame, pd.DataFrame],
    real_run: list[OrderRecord],
) -> None:
    for instrument_id, frame in (("ESZ3.CME", real_daily[0]), ("6EH4.CME", real_daily[1])):
        sign = _trend_sign(frame["close"])
        by_ts = dict(zip((ts.value for ts in frame.index), sign, strict=True))
        records = [r for r in real_run if r.instrument_id == instrument_id]
        assert len(records) > 10, instrument_id
        net = Decimal(0)
        for r in records:
            net += signed(r)
            expected = by_ts[r.ts_init]
            assert expected != 0, "traded during warm-up"
            assert net == 0 or (net > 0) == (expected > 0), (instrument_id, r, expected)
        # Every change of trend direction after warm-up is traded on that very bar.
        flips = sign[(sign != sign.shift()) & (sign.shift() != 0) & (sign != 0)]
        order_ts = {r.ts_init for r in records}
        assert len(flips) > 5
        assert all(ts.value in order_ts for ts in flips.index)


def test_positions_are_whole_contracts_within_max_contracts(real_run: list[OrderRecord]) -> None:
    for instrument_id in ("ESZ3.CME", "6EH4.CME"):
        net = Decimal(0)
        for r in (r for r in real_run if r.instrument_id == instrument_id):
            assert r.status == "FILLED"
            assert r.quantity == r.quantity.to_integral_value() and r.quantity >= 1
            net += signed(r)
            assert abs(net) <= 40
    assert any(r.quantity > 1 for r in real_run)


def test_same_data_gives_identical_orders(
    real_daily: tuple[pd.DataFrame, pd.DataFrame],
    real_run: list[OrderRecord],
) -> None:
    spy, eurusd = real_daily
    again = _run(
        [VenueSpec("CME", USD, 10_000_000)],
        [(es(), ES_DAY, spy), (six_e(), SIXE_DAY, eurusd)],
        _config([ES_DAY, SIXE_DAY], max_contracts=40),
    )
    assert again == real_run


def test_first_size_is_the_vol_target_formula() -> None:
    closes = _alternating(300, 3000.0, drift=2.0, swing=5.0)
    frame = synthetic_daily(closes, 0.25)
    records = _run([VenueSpec("CME", USD, 1_000_000)], [(es(), ES_DAY, frame)], _config([ES_DAY]))

    first = records[0]
    std = frame["close"].diff().iloc[-VOL:].std()  # Constant after warm-up: alternating ±5 around +2.
    expected = math.floor(0.10 * 1_000_000 / (std * 50 * SQRT_252))
    assert first.side == "BUY"
    assert first.quantity == expected
    assert len(records) == 1  # Same volatility and trend afterwards: nothing to rebalance.


def test_size_shrinks_when_volatility_rises() -> None:
    calm = _alternating(250, 3000.0, drift=2.0, swing=5.0)
    wild = _alternating(250, calm[-1] + 2.0, drift=2.0, swing=20.0)
    frame = synthetic_daily(np.concatenate([calm, wild]), 0.25)
    records = _run([VenueSpec("CME", USD, 1_000_000)], [(es(), ES_DAY, frame)], _config([ES_DAY]))

    calm_end = frame.index[249].value
    net_calm = sum((signed(r) for r in records if r.ts_init <= calm_end), Decimal(0))
    net_end = sum((signed(r) for r in records), Decimal(0))
    assert net_calm > 0 and net_end > 0
    # Four times the volatility: about a quarter of the contracts (equity moved a little meanwhile).
    assert net_end <= net_calm / 3
    assert all(r.side == "SELL" for r in records if r.ts_init > calm_end)


def test_max_contracts_caps_the_position() -> None:
    frame = synthetic_daily(_alternating(300, 3000.0, drift=2.0, swing=5.0), 0.25)
    records = _run(
        [VenueSpec("CME", USD, 1_000_000)],
        [(es(), ES_DAY, frame)],
        _config([ES_DAY], max_contracts=3),
    )
    assert [(r.side, r.quantity) for r in records] == [("BUY", Decimal(3))]


def test_no_trade_when_the_target_moves_less_than_the_threshold() -> None:
    # Volatility rises 10%: the target falls from 25 to 22 contracts, a gap of 3 < 0.25 * 22.
    calm = _alternating(250, 3000.0, drift=2.0, swing=5.0)
    slightly_wilder = _alternating(250, calm[-1] + 2.0, drift=2.0, swing=5.5)
    frame = synthetic_daily(np.concatenate([calm, slightly_wilder]), 0.25)
    venues = [VenueSpec("CME", USD, 1_000_000)]

    thresholded = _run(venues, [(es(), ES_DAY, frame)], _config([ES_DAY]))
    eager = _run(venues, [(es(), ES_DAY, frame)], _config([ES_DAY], rebalance_threshold=0.0))

    assert len(thresholded) == 1
    assert len(eager) > 1  # The same data does move the target; only the threshold holds it.


def test_each_instrument_is_sized_from_its_own_venue_account_and_currency() -> None:
    es_frame = synthetic_daily(_alternating(300, 3000.0, drift=2.0, swing=5.0), 0.25)
    # WIN around 100k points, falling 50 a day with a ±1000 swing; 0.20 BRL per point.
    win_frame = synthetic_daily(_alternating(300, 120_000.0, drift=-50.0, swing=1000.0), 5.0)
    records = _run(
        [VenueSpec("CME", USD, 1_000_000), VenueSpec("B3", BRL, 10_000_000)],
        [(es(), ES_DAY, es_frame), (win(), WIN_DAY, win_frame)],
        _config([ES_DAY, WIN_DAY]),
    )
    first = {r.instrument_id: r for r in reversed(records)}
    budget = 0.10 / 2  # Equal split of the portfolio target across the two instruments.
    es_std = es_frame["close"].diff().iloc[-VOL:].std()
    win_std = win_frame["close"].diff().iloc[-VOL:].std()
    assert first["ESZ3.CME"].side == "BUY"
    assert first["ESZ3.CME"].quantity == math.floor(budget * 1_000_000 / (es_std * 50 * SQRT_252))
    assert first["WINZ13.B3"].side == "SELL"
    assert first["WINZ13.B3"].quantity == math.floor(budget * 10_000_000 / (win_std * 0.2 * SQRT_252))


@given(
    budget=st.floats(0.001, 1.0),
    equity=st.floats(0.0, 1e9),
    std=st.floats(0.0, 1e4),
    multiplier=st.floats(0.01, 1e6),
    cap=st.integers(1, 10_000),
)
def test_vol_target_contracts_is_a_whole_number_within_the_cap(
    budget: float,
    equity: float,
    std: float,
    multiplier: float,
    cap: int,
) -> None:
    contracts = vol_target_contracts(budget, equity, std, multiplier, cap)
    assert isinstance(contracts, int)
    assert 0 <= contracts <= cap


@pytest.mark.parametrize(
    ("target", "current", "trade"),
    [
        (10, 10, False),
        (10, 8, False),  # gap 2 <= 2.5
        (10, 7, True),  # gap 3 > 2.5
        (2, 1, True),  # gap 1 > 0.5
        (1, 1, False),
        (-4, 4, True),  # flips always trade
        (0, 3, True),  # closing always trades
        (0, 0, False),
    ],
)
def test_rebalance_threshold_rule(target: int, current: int, trade: bool) -> None:
    assert needs_rebalance(target, current, 0.25) is trade


def test_config_with_fast_not_below_slow_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"fast_lookback \(100\) must be less than slow_lookback \(100\)"):
        _config([ES_DAY], fast_lookback=100)


def test_config_with_intraday_bars_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be 1-DAY bars"):
        _config([BarType.from_str("ESZ3.CME-1-MINUTE-LAST-EXTERNAL")])


def test_config_from_strings_parses_bar_types() -> None:
    config = MacroTrendConfig.parse(
        '{"bar_types": ["ESZ3.CME-1-DAY-LAST-EXTERNAL", "WINZ13.B3-1-DAY-LAST-EXTERNAL"],'
        ' "max_contracts": 5}',
    )
    assert config.bar_types == [ES_DAY, WIN_DAY]
    assert (config.fast_lookback, config.slow_lookback, config.vol_lookback) == (20, 100, 60)
    assert config.target_annual_vol == 0.10 and config.rebalance_threshold == 0.25


def test_config_without_max_contracts_or_with_a_misspelt_key_is_refused() -> None:
    with pytest.raises(Exception, match="max_contracts"):
        MacroTrendConfig.parse('{"bar_types": ["ESZ3.CME-1-DAY-LAST-EXTERNAL"]}')
    with pytest.raises(Exception, match="unknown field `vol_lookbak`"):
        MacroTrendConfig.parse(
            '{"bar_types": ["ESZ3.CME-1-DAY-LAST-EXTERNAL"], "max_contracts": 5, "vol_lookbak": 20}',
        )
