"""Parquet, epoch stamps, price scaling, tick rounding and the catalog round trip."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nautilus_trader.model.data import BarType
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from macrofund.adapters.files import load_bars, load_catalog, load_quotes
from macrofund.errors import DataError

T0 = 1_704_153_660_000_000_000  # 2024-01-02 00:01:00 UTC


def _frame(prices: list[str], stamps: list[object] | None = None) -> pd.DataFrame:
    stamps = stamps or [T0 + i * 60_000_000_000 for i in range(len(prices))]
    return pd.DataFrame({"ts_event": stamps, "open": prices, "high": prices, "low": prices, "close": prices})


def test_parquet_round_trip_keeps_prices_stamps_and_volume(tmp_path, six_e, six_e_bar_type):
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([T0, T0 + 60_000_000_000], utc=True),
            "open": [1.1, 1.10005],
            "high": [1.10015, 1.1001],
            "low": [1.09995, 1.1],
            "close": [1.10005, 1.10005],
            "volume": [3, 0],
        }
    )
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)

    bars = load_bars(path, six_e, six_e_bar_type)

    assert [b.ts_init for b in bars] == [T0, T0 + 60_000_000_000]
    assert bars[0].high == Price.from_str("1.10015")
    assert bars[1].volume == Quantity.from_int(0)


def test_parquet_errors_use_one_based_row_numbers(tmp_path, six_e, six_e_bar_type):
    frame = pd.DataFrame(
        {
            "timestamp": [T0, T0 + 1],
            "open": [1.1, 1.1],
            "high": [1.1, 1.0],
            "low": [1.1, 1.1],
            "close": [1.1, 1.1],
        }
    )
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)

    with pytest.raises(DataError, match=r"bars\.parquet row 2: high 1\.00000 is below low 1\.10000"):
        load_bars(path, six_e, six_e_bar_type)


@pytest.mark.parametrize(
    "stamp", [T0 // 10**9, T0 // 10**6, T0 // 10**3, T0, "2024-01-02T00:01:00Z", "2024-01-01T21:01:00-03:00"]
)
def test_epoch_units_and_iso_zones_resolve_to_the_same_instant(tmp_path, six_e, six_e_bar_type, stamp):
    path = tmp_path / "bars.csv"
    _frame(["1.1"], [stamp]).to_csv(path, index=False)

    assert load_bars(path, six_e, six_e_bar_type)[0].ts_init == T0


def test_price_scale_multiplies_before_rounding(tmp_path, six_e, six_e_bar_type):
    # Deci-pips: 11000.3 * 0.0001 = 1.10003, which lies between ticks 1.10000 and 1.10005.
    path = tmp_path / "bars.csv"
    _frame(["11000.3", "11000.2", "11000.25", "11000.75"]).to_csv(path, index=False)

    bars = load_bars(path, six_e, six_e_bar_type, price_scale=Decimal("0.0001"))

    # Half a tick rounds to even tick counts: 1.100025 -> 1.10000 (22000), 1.100075 -> 1.10010 (22002).
    assert [str(b.close) for b in bars] == ["1.10005", "1.10000", "1.10000", "1.10010"]


def test_fractional_volume_rounds_to_whole_contracts(tmp_path, six_e, six_e_bar_type):
    path = tmp_path / "bars.csv"
    frame = _frame(["1.1", "1.1", "1.1"])
    frame["volume"] = ["2.4", "2.5", "3.5"]
    frame.to_csv(path, index=False)

    bars = load_bars(path, six_e, six_e_bar_type)

    assert [b.volume for b in bars] == [Quantity.from_int(2), Quantity.from_int(2), Quantity.from_int(4)]


def test_timestamp_is_open_needs_a_fixed_interval(tmp_path, six_e):
    path = tmp_path / "bars.csv"
    _frame(["1.1"]).to_csv(path, index=False)
    tick_bars = BarType.from_str("6EH4.CME-100-TICK-LAST-EXTERNAL")

    with pytest.raises(DataError, match="timestamp_is_open needs a time bar"):
        load_bars(path, six_e, tick_bars, timestamp_is_open=True)


def test_bar_type_for_another_instrument_is_rejected(tmp_path, six_e):
    path = tmp_path / "bars.csv"
    _frame(["1.1"]).to_csv(path, index=False)

    with pytest.raises(ValueError, match="is not for instrument"):
        load_bars(path, six_e, BarType.from_str("ESH4.CME-1-MINUTE-LAST-EXTERNAL"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticks=st.integers(min_value=1, max_value=10**9), scale_exp=st.integers(min_value=-2, max_value=2))
def test_any_price_on_the_grid_survives_exactly(tmp_path_factory, six_e, six_e_bar_type, ticks, scale_exp):
    # A price written as file text and divided back by the scale must come out as the same tick count.
    price = Decimal(ticks) * Decimal("0.00005")
    scale = Decimal(10) ** scale_exp
    text = str(price / scale)
    path = tmp_path_factory.mktemp("grid") / "bars.csv"
    path.write_text(f"timestamp,open,high,low,close\n{T0},{text},{text},{text},{text}\n")

    bar = load_bars(path, six_e, six_e_bar_type, price_scale=scale)[0]

    assert bar.close.as_decimal() == price
    assert bar.close.raw == ticks * six_e.price_increment.raw


def test_quotes_from_parquet_with_price_columns_and_sizes(tmp_path, usdjpy):
    frame = pd.DataFrame(
        {
            "timestamp": ["2013-01-01 22:00:00.295", "2013-01-01 22:00:01"],
            "bid_price": [86.655, 86.6555],
            "ask_price": [86.728, 86.7284],
            "bid_size": [1.4, 2],
            "ask_size": [3, 4],
        }
    )
    path = tmp_path / "quotes.parquet"
    frame.to_parquet(path)

    quotes = load_quotes(path, usdjpy)

    assert [str(q.bid_price) for q in quotes] == ["86.655", "86.656"]
    assert [str(q.ask_price) for q in quotes] == ["86.728", "86.728"]
    assert quotes[0].bid_size == Quantity.from_int(1)
    assert quotes[0].ts_event == 1_357_077_600_295_000_000


def test_catalog_round_trip_merges_bars_and_quotes_by_ts_init(
    tmp_path, six_e_path, six_e, six_e_bar_type, usdjpy_path, usdjpy
):
    bars = load_bars(six_e_path, six_e, six_e_bar_type)[:500]
    quotes = load_quotes(usdjpy_path, usdjpy)
    catalog = ParquetDataCatalog(tmp_path / "catalog")
    catalog.write_data(bars)
    catalog.write_data(quotes)

    data = load_catalog(tmp_path / "catalog", [six_e.id, usdjpy.id])

    assert len(data) == 500 + 1_000
    assert [d.ts_init for d in data] == sorted(d.ts_init for d in data)
    assert data[-1] == bars[-1]  # 2024 bars come after the 2013 quotes
    assert data[0] == quotes[0]


def test_catalog_window_is_inclusive(tmp_path, six_e_path, six_e, six_e_bar_type):
    bars = load_bars(six_e_path, six_e, six_e_bar_type)[:10]
    ParquetDataCatalog(tmp_path).write_data(bars)

    data = load_catalog(tmp_path, [six_e.id], start_ns=bars[2].ts_init, end_ns=bars[5].ts_init)

    assert data == bars[2:6]


def test_catalog_missing_path_is_a_data_error(tmp_path, six_e):
    with pytest.raises(DataError, match="data catalog not found"):
        load_catalog(tmp_path / "nope", [six_e.id])


def test_catalog_without_the_instrument_says_what_it_holds(
    tmp_path, six_e_path, six_e, six_e_bar_type, usdjpy
):
    ParquetDataCatalog(tmp_path).write_data(load_bars(six_e_path, six_e, six_e_bar_type)[:5])

    with pytest.raises(DataError, match=r"no bars or quote ticks for USD/JPY\.SIM.*6EH4\.CME-1-MINUTE"):
        load_catalog(tmp_path, [six_e.id, usdjpy.id])
