"""Loading the real 6E futures bars and USD/JPY quotes pins counts, stamps and exact prices."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from nautilus_trader.model.objects import Price, Quantity

from macrofund.adapters.files import load_bars, load_quotes


def _ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def test_6e_bars_load_with_count_stamps_and_exact_prices(six_e_path, six_e, six_e_bar_type):
    bars = load_bars(six_e_path, six_e, six_e_bar_type)

    assert len(bars) == 29_996
    first, last = bars[0], bars[-1]
    # The file stamp is the bar's close: ts_event == ts_init == stamp.
    assert first.ts_event == first.ts_init == _ns("2024-01-01 23:01:00")
    assert last.ts_event == last.ts_init == _ns("2024-01-31 23:59:00")
    assert (first.open, first.high, first.low, first.close) == tuple(
        Price.from_str(p) for p in ("1.10760", "1.10785", "1.10760", "1.10780")
    )
    assert first.volume == Quantity.from_int(205)
    assert first.open.raw == Price.from_str("1.10760").raw
    assert (last.open, last.high, last.low, last.close) == tuple(
        Price.from_str(p) for p in ("1.08225", "1.08240", "1.08225", "1.08230")
    )
    assert bars[999].close == Price.from_str("1.09835")  # line 1001 of the file
    assert bars[0].bar_type == six_e_bar_type


def test_6e_bars_are_all_on_the_tick_grid_and_in_time_order(six_e_path, six_e, six_e_bar_type):
    bars = load_bars(six_e_path, six_e, six_e_bar_type)
    tick_raw = six_e.price_increment.raw

    for bar in bars:
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert price.precision == 5
            assert price.raw % tick_raw == 0
    stamps = [b.ts_init for b in bars]
    assert stamps == sorted(stamps)


def test_6e_window_filter_is_inclusive_on_both_ends(six_e_path, six_e, six_e_bar_type):
    start, end = _ns("2024-01-02 00:00:00"), _ns("2024-01-02 01:00:00")

    bars = load_bars(six_e_path, six_e, six_e_bar_type, start_ns=start, end_ns=end)

    assert bars[0].ts_init == start
    assert bars[-1].ts_init == end
    assert all(start <= b.ts_init <= end for b in bars)


def test_6e_open_stamped_file_is_shifted_to_the_close(six_e_path, six_e, six_e_bar_type):
    bars = load_bars(six_e_path, six_e, six_e_bar_type, timestamp_is_open=True)

    assert bars[0].ts_init == _ns("2024-01-01 23:02:00")


def test_usdjpy_quotes_load_with_count_stamps_and_exact_prices(usdjpy_path, usdjpy):
    quotes = load_quotes(usdjpy_path, usdjpy)

    assert len(quotes) == 1_000
    assert quotes[0].ts_event == quotes[0].ts_init == _ns("2013-01-01 22:00:00.295")
    assert quotes[-1].ts_event == _ns("2013-01-01 22:35:13.494")
    assert quotes[0].bid_price == Price.from_str("86.655")
    assert quotes[0].ask_price == Price.from_str("86.728")
    assert quotes[-1].bid_price == Price.from_str("86.836")
    assert quotes[-1].ask_price == Price.from_str("86.854")
    # No size columns: the default size at the instrument's size precision.
    assert quotes[0].bid_size == Quantity.from_int(1_000_000)
    assert quotes[0].ask_size == Quantity.from_int(1_000_000)
    assert all(q.bid_price <= q.ask_price for q in quotes)


def test_usdjpy_default_size_is_configurable(usdjpy_path, usdjpy):
    quotes = load_quotes(usdjpy_path, usdjpy, default_size=Decimal(5))

    assert quotes[0].bid_size == Quantity.from_int(5)
