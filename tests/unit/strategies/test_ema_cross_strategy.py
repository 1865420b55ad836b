"""EmaCross pinned on real CME 6E one-minute bars (January 2024) in a raw BacktestEngine."""

from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.indicators.averages import ExponentialMovingAverage
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.identifiers import InstrumentId

from macrofund.errors import ConfigError
from macrofund.strategies import EmaCross, EmaCrossConfig
from tests.unit.strategies.strategy_test_kit import (
    OrderRecord,
    VenueSpec,
    bars_from_frame,
    engine,
    load_6e_minutes,
    order_records,
    signed,
    six_e,
)

USD_1M = VenueSpec("CME", six_e().quote_currency, 1_000_000)
BAR_TYPE = BarType.from_str("6EH4.CME-1-MINUTE-LAST-EXTERNAL")
FAST, SLOW = 10, 30
ROWS = 8_000  # About a week of Globex minutes: hundreds of crossovers, a couple of seconds to run.


@pytest.fixture(scope="module")
def minutes() -> pd.DataFrame:
    return load_6e_minutes(ROWS)


def _config(**overrides: object) -> EmaCrossConfig:
    fields: dict[str, object] = {
        "instrument_id": InstrumentId.from_str("6EH4.CME"),
        "bar_type": BAR_TYPE,
        "fast_period": FAST,
        "slow_period": SLOW,
        "trade_size": Decimal(2),
    }
    fields.update(overrides)
    return EmaCrossConfig(**fields)  # type: ignore[arg-type]


def _run(minutes: pd.DataFrame, latency_ns: int = 0) -> tuple[list[OrderRecord], EmaCross]:
    [(records, strategy)] = _run_together(minutes, [_config()], latency_ns)
    return records, strategy


def _run_together(
    minutes: pd.DataFrame,
    configs: list[EmaCrossConfig],
    latency_ns: int = 0,
    oms_type: OmsType = OmsType.NETTING,
    open_positions: list[int] | None = None,
) -> list[tuple[list[OrderRecord], EmaCross]]:
    """Every strategy in one engine on one instrument; each one's orders (and the open positions)."""
    instrument = six_e()
    bars = bars_from_frame(minutes, BAR_TYPE, instrument)
    eng = engine([USD_1M], [instrument], bars, latency_ns=latency_ns, oms_type=oms_type)
    strategies = [EmaCross(config) for config in configs]
    for strategy in strategies:
        eng.add_strategy(strategy)
    eng.run()
    out = [(order_records(eng, strategy), strategy) for strategy in strategies]
    if open_positions is not None:
        open_positions.append(len(eng.cache.positions_open()))
    eng.dispose()
    return out


def _expected_direction_changes(closes: pd.Series) -> tuple[int, list[int]]:
    """Count crossovers after warm-up from pandas EMAs; return (changes, sign per bar)."""
    fast = closes.ewm(span=FAST, adjust=False).mean().to_numpy()
    slow = closes.ewm(span=SLOW, adjust=False).mean().to_numpy()
    direction = 0
    changes = 0
    signs: list[int] = []
    for i in range(SLOW - 1, len(closes)):  # Nautilus initialises the EMA after `period` inputs.
        new = 1 if fast[i] > slow[i] else -1 if fast[i] < slow[i] else direction
        if direction != 0 and new != direction:
            changes += 1
        direction = new
        signs.append(direction)
    return changes, signs


def test_nautilus_ema_matches_pandas_ewm_span(minutes: pd.DataFrame) -> None:
    # Nautilus seeds with the first value and uses alpha = 2 / (period + 1): pandas adjust=False.
    ema = ExponentialMovingAverage(SLOW)
    assert ema.alpha == pytest.approx(2.0 / (SLOW + 1))
    closes = minutes["close"].iloc[:500]
    values = []
    for c in closes:
        ema.update_raw(float(c))
        values.append(ema.value)
    np.testing.assert_allclose(values, closes.ewm(span=SLOW, adjust=False).mean(), rtol=0, atol=1e-12)


def test_orders_equal_crossovers_plus_one_and_position_is_always_full_size(minutes: pd.DataFrame) -> None:
    records, _ = _run(minutes)
    changes, _ = _expected_direction_changes(minutes["close"])

    assert changes > 100  # The data really exercises flipping.
    assert len(records) == changes + 1
    assert all(r.status == "FILLED" for r in records)
    # First order opens 2 contracts, every later order flips from +2 to -2 or back.
    assert records[0].quantity == Decimal(2)
    assert all(r.quantity == Decimal(4) for r in records[1:])
    net = Decimal(0)
    for r in records:
        net += signed(r)
        assert net in (Decimal(2), Decimal(-2))
    sides = [r.side for r in records]
    assert all(a != b for a, b in itertools.pairwise(sides))


def test_first_order_follows_the_sign_of_fast_minus_slow_after_warm_up(minutes: pd.DataFrame) -> None:
    records, _ = _run(minutes)
    _, signs = _expected_direction_changes(minutes["close"])
    first_direction = next(s for s in signs if s != 0)
    assert records[0].side == ("BUY" if first_direction > 0 else "SELL")
    # No order before the slow EMA has seen SLOW bars.
    assert records[0].ts_init >= minutes.index[SLOW - 1].value


def test_never_two_orders_in_flight_when_fills_arrive_late(minutes: pd.DataFrame) -> None:
    # A 150 s venue latency leaves each order unfilled across two or three bars, like a slow live venue:
    # without the in-flight guard the strategy would re-send the flip on every one of those bars.
    records, _ = _run(minutes.iloc[:3_000], latency_ns=150 * 1_000_000_000)

    assert len(records) > 20
    for before, after in itertools.pairwise(records):
        assert after.ts_init >= before.ts_last, "an order was submitted while another was working"
    net = Decimal(0)
    for r in records:
        assert r.status == "FILLED"
        net += signed(r)
        assert net in (Decimal(2), Decimal(-2))


def test_same_data_gives_identical_orders(minutes: pd.DataFrame) -> None:
    first, _ = _run(minutes.iloc[:3_000])
    second, _ = _run(minutes.iloc[:3_000])
    assert first == second
    assert len(first) > 10


def test_no_order_before_both_emas_are_initialised(minutes: pd.DataFrame) -> None:
    records, strategy = _run(minutes.iloc[: SLOW - 1])
    assert records == []
    assert strategy.target_position == 0


@pytest.mark.parametrize(("fast", "slow"), [(30, 30), (31, 30)])
def test_config_with_fast_not_below_slow_is_refused(fast: int, slow: int) -> None:
    with pytest.raises(ConfigError, match=r"fast_period \(\d+\) must be less than slow_period"):
        _config(fast_period=fast, slow_period=slow)


def test_config_parsed_from_strings_is_refused_with_the_same_message() -> None:
    raw = (
        '{"instrument_id": "6EH4.CME", "bar_type": "6EH4.CME-1-MINUTE-LAST-EXTERNAL",'
        ' "fast_period": 50, "slow_period": 20}'
    )
    with pytest.raises(ConfigError, match="must be less than slow_period"):
        EmaCrossConfig.parse(raw)


@pytest.mark.parametrize("size", [Decimal(0), Decimal(-1)])
def test_config_with_non_positive_trade_size_is_refused(size: Decimal) -> None:
    with pytest.raises(ConfigError, match="trade_size must be positive"):
        _config(trade_size=size)


def test_config_from_strings_parses_ids_and_bar_type() -> None:
    config = EmaCrossConfig.parse(
        '{"instrument_id": "ESZ3.CME", "bar_type": "ESZ3.CME-1-MINUTE-LAST-EXTERNAL", "trade_size": "3"}',
    )
    assert config.instrument_id == InstrumentId.from_str("ESZ3.CME")
    assert config.bar_type == BarType.from_str("ESZ3.CME-1-MINUTE-LAST-EXTERNAL")
    assert config.trade_size == Decimal(3)
    assert (config.fast_period, config.slow_period) == (10, 30)


def test_config_with_a_misspelt_key_is_refused() -> None:
    raw = '{"instrument_id": "6EH4.CME", "bar_type": "6EH4.CME-1-MINUTE-LAST-EXTERNAL", "fast_perod": 5}'
    with pytest.raises(Exception, match="unknown field `fast_perod`"):
        EmaCrossConfig.parse(raw)


def test_fractional_contract_size_never_trades(minutes: pd.DataFrame) -> None:
    instrument = six_e()
    eng = engine([USD_1M], [instrument], bars_from_frame(minutes.iloc[:200], BAR_TYPE, instrument))
    strategy = EmaCross(_config(trade_size=Decimal("1.5")))
    eng.add_strategy(strategy)
    eng.run()
    records = order_records(eng, strategy)
    eng.dispose()
    assert records == []


def test_two_crosses_on_one_instrument_each_trade_as_if_alone(minutes: pd.DataFrame) -> None:
    # Two parameter sets on one contract: each must steer its own position. Steering the instrument's
    # net (the portfolio's, summed over strategies) they fought: an order from each on every bar.
    data = minutes.iloc[:3_000]
    slow_config = _config(order_id_tag="001")
    quick_config = _config(fast_period=5, slow_period=20, order_id_tag="002")
    [(alone_slow, _)] = _run_together(data, [slow_config])
    [(alone_quick, _)] = _run_together(data, [quick_config])
    [(slow, _), (quick, _)] = _run_together(data, [slow_config, quick_config])

    def intents(records: list[OrderRecord]) -> list[tuple[int, str, Decimal]]:
        return [(r.ts_init, r.side, r.quantity) for r in records]

    assert len(alone_slow) > 10 and len(alone_quick) > len(alone_slow)
    assert intents(slow) == intents(alone_slow)
    assert intents(quick) == intents(alone_quick)


def test_on_a_hedging_venue_the_cross_still_holds_one_position(minutes: pd.DataFrame) -> None:
    # A HEDGING venue opens a new position for every order without a position id: each flip piled up
    # another one (1,087 open positions on the 6E month). The strategy nets its own positions unless its
    # config names an oms_type.
    data = minutes.iloc[:3_000]
    netting_open: list[int] = []
    hedging_open: list[int] = []
    [(netting, _)] = _run_together(data, [_config()], open_positions=netting_open)
    [(hedging, strategy)] = _run_together(
        data, [_config()], oms_type=OmsType.HEDGING, open_positions=hedging_open
    )
    assert len(netting) > 10 and hedging == netting
    assert netting_open == hedging_open == [1]
    assert strategy.config.oms_type == "NETTING"
    chosen_open: list[int] = []
    _run_together(data, [_config(oms_type="HEDGING")], oms_type=OmsType.HEDGING, open_positions=chosen_open)
    assert chosen_open[0] > 10  # an explicit choice is respected
