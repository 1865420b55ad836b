"""The price simulator's core: determinism, tick grid, sessions, rate and volatility."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from macrofund.adapters.sim_feed.config import SimFeedSettings
from macrofund.adapters.sim_feed.gbm import PriceSimulator, SimQuote, SimTrade
from macrofund.adapters.sim_feed.nautilus import SimEventConverter
from macrofund.adapters.sim_feed.providers import gbm_parameters, sim_instruments

NS = 1_000_000_000
DAY = 86_400 * NS
MONDAY = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()) * NS  # 00:00 UTC = Sunday 18:00 Chicago
BOTH_OPEN = int(datetime(2026, 1, 6, 16, tzinfo=UTC).timestamp()) * NS  # Tuesday: CME and B3 trade


def simulate(ids: list[str], settings: SimFeedSettings, start: int, span_ns: int) -> list:
    simulator = PriceSimulator(sim_instruments(ids, settings), gbm_parameters(settings), start)
    return simulator.advance(start + span_ns)


def test_same_seed_gives_the_same_events_and_another_seed_does_not() -> None:
    settings = SimFeedSettings(seed=7, rate=50, trade_probability=0.2, jumps_per_day=5)
    first = simulate(["ESZ6.CME", "WINZ26.B3"], settings, MONDAY, 3_600 * NS)
    again = simulate(["ESZ6.CME", "WINZ26.B3"], settings, MONDAY, 3_600 * NS)
    other = simulate(["ESZ6.CME", "WINZ26.B3"], settings.model_copy(update={"seed": 8}), MONDAY, 3_600 * NS)
    assert len(first) > 100_000
    assert first == again
    assert first != other


def test_advancing_in_steps_gives_the_same_events_as_one_call() -> None:
    settings = SimFeedSettings(seed=3, rate=100)
    instruments = sim_instruments(["ESZ6.CME"], settings)
    whole = PriceSimulator(instruments, gbm_parameters(settings), MONDAY).advance(MONDAY + 60 * NS)
    stepped = PriceSimulator(instruments, gbm_parameters(settings), MONDAY)
    pieces = []
    for ms in range(1, 60_001, 7):
        pieces += stepped.advance(MONDAY + ms * 1_000_000, limit=50)
    pieces += stepped.advance(MONDAY + 60 * NS)
    assert pieces == whole


@pytest.mark.parametrize("instrument_id", ["ESZ6.CME", "ZNZ6.CME", "6EZ6.CME", "WINZ26.B3", "DOLZ26.B3"])
def test_quotes_and_trades_sit_on_the_tick_grid_with_the_configured_spread(instrument_id: str) -> None:
    settings = SimFeedSettings(seed=11, rate=200, spread_ticks=2, trade_probability=0.5, volatility=1.5)
    instruments = sim_instruments([instrument_id], settings)
    tick = instruments[0].tick_size
    simulator = PriceSimulator(instruments, gbm_parameters(settings), BOTH_OPEN)
    events = simulator.advance(BOTH_OPEN + 600 * NS)
    converter = SimEventConverter(instruments)
    assert any(isinstance(e, SimTrade) for e in events)
    for event in events[:3000]:
        data = converter.convert(event, ts_init=event.ts_ns)
        if isinstance(event, SimQuote):
            bid, ask = data.bid_price.as_decimal(), data.ask_price.as_decimal()
            assert bid % tick == 0 and ask % tick == 0
            assert ask - bid == 2 * tick
        else:
            assert data.price.as_decimal() % tick == 0


def test_nothing_is_quoted_outside_each_instruments_session() -> None:
    settings = SimFeedSettings(seed=5, rate=2)
    instruments = sim_instruments(["ESZ6.CME", "WINZ26.B3"], settings)
    events = simulate(["ESZ6.CME", "WINZ26.B3"], settings, MONDAY, 7 * DAY)
    per_instrument = {0: 0, 1: 0}
    for event in events:
        session = instruments[event.instrument].session
        assert session is not None and session.is_open(event.ts_ns)
        per_instrument[event.instrument] += 1
    assert per_instrument[0] > 0 and per_instrument[1] > 0
    saturday = datetime(2026, 1, 10, 12, tzinfo=UTC).timestamp() * NS
    sunday_noon = datetime(2026, 1, 11, 12, tzinfo=UTC).timestamp() * NS
    assert not any(saturday <= e.ts_ns < sunday_noon for e in events)


def test_ignore_sessions_quotes_through_the_weekend() -> None:
    settings = SimFeedSettings(seed=5, rate=1, ignore_sessions=True)
    saturday = int(datetime(2026, 1, 10, tzinfo=UTC).timestamp()) * NS
    events = simulate(["WINZ26.B3"], settings, saturday, 3_600 * NS)
    assert len(events) == 3_601  # one per second, both ends included


def test_quote_rate_is_the_configured_total_split_over_open_instruments() -> None:
    settings = SimFeedSettings(seed=1, rate=40)
    ids = ["ESZ6.CME", "NQZ6.CME"]
    events = simulate(ids, settings, BOTH_OPEN, 100 * NS)
    counts = np.bincount([e.instrument for e in events])
    assert counts.tolist() == [2001, 2000]  # 40/s over 100 s, round-robin, both ends of the grid


def _realised_volatility(settings: SimFeedSettings, days: int) -> float:
    """Annualised volatility from log mid returns sampled every ``k`` quotes (trading time)."""
    instruments = sim_instruments(["ESZ6.CME"], settings)
    events = PriceSimulator(instruments, gbm_parameters(settings), MONDAY).advance(MONDAY + days * DAY)
    mids = np.array([(e.bid_ticks + e.ask_ticks) / 2 for e in events if isinstance(e, SimQuote)])
    quotes_per_day = settings.rate * instruments[0].day_seconds
    k = int(quotes_per_day // 100)  # 100 returns per trading day
    returns = np.diff(np.log(mids[::k]))
    return float(returns.std(ddof=1) * math.sqrt(100 * 252))


@pytest.mark.parametrize("seasonality", [0.0, 1.5])
def test_realised_volatility_is_close_to_the_configured_one(seasonality: float) -> None:
    # 28 calendar days = 20 CME sessions = ~2,000 returns: the sample sd has a relative standard error of
    # 1/sqrt(2 * 2000) = 1.6%; tick rounding adds < 0.1% at ES's 300-tick daily range. 7% is ~4 standard
    # errors: a correct simulator fails about once in 30,000 seeds, a wrong variance scaling (x sqrt(2),
    # a 23 h vs 24 h day, or seasonality that does not average to 1) fails every time.
    settings = SimFeedSettings(seed=2024, rate=0.1, volatility=0.25, seasonality=seasonality)
    estimate = _realised_volatility(settings, days=28)
    assert estimate == pytest.approx(0.25, rel=0.07)


def test_seasonality_puts_more_variance_near_the_open_than_mid_session() -> None:
    settings = SimFeedSettings(seed=9, rate=0.5, volatility=0.3, seasonality=1.5, ignore_sessions=False)
    instruments = sim_instruments(["WINZ26.B3"], settings)
    events = PriceSimulator(instruments, gbm_parameters(settings), MONDAY).advance(MONDAY + 28 * DAY)
    session = instruments[0].session
    assert session is not None
    log_mid = np.log([(e.bid_ticks + e.ask_ticks) / 2 for e in events])
    ts = np.array([e.ts_ns for e in events])
    step = 20
    returns = np.diff(log_mid[::step])
    fraction = np.array(
        [
            1 - (session.next_close(int(t)) - int(t)) / (instruments[0].day_seconds * NS)
            for t in ts[::step][:-1]
        ]
    )
    edge = returns[(fraction < 0.15) | (fraction > 0.85)].var()
    middle = returns[(fraction > 0.35) & (fraction < 0.65)].var()
    assert edge > 2 * middle


def test_start_price_override_by_root_and_by_instrument() -> None:
    settings = SimFeedSettings.model_validate(
        {"instruments": {"ES": {"start_price": "5000.1"}, "ESZ6.CME": {"spread_ticks": 3}}}
    )
    (es,) = sim_instruments(["ESZ6.CME"], settings)
    assert es.start_price == Decimal("5000.00")  # snapped to the 0.25 grid
    assert es.spread_ticks == 3
