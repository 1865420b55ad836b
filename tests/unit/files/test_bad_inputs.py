"""Every kind of bad input is a one-line DataError naming the file and the editor line number."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from macrofund.adapters.files import load_bars, load_quotes
from macrofund.errors import DataError

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD = "2024-01-02 00:01:00,1.10000,1.10010,1.09990,1.10005,10\n"


def _write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _bars_error(path: Path, six_e, six_e_bar_type) -> str:
    with pytest.raises(DataError) as caught:
        load_bars(path, six_e, six_e_bar_type)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_file_is_reported_by_path(tmp_path, six_e, six_e_bar_type):
    path = tmp_path / "nope.csv"

    assert _bars_error(path, six_e, six_e_bar_type) == f"data file not found: {path}"


def test_unsupported_extension_is_rejected(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD, "bars.txt")

    assert "unsupported file type" in _bars_error(path, six_e, six_e_bar_type)


def test_empty_file_is_reported(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, "")

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path}: file is empty"


def test_header_only_file_is_reported(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER)

    assert "no data rows" in _bars_error(path, six_e, six_e_bar_type)


def test_missing_column_lists_the_columns_found(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, "timestamp,open,low,close\n2024-01-02 00:01:00,1,1,1\n")

    message = _bars_error(path, six_e, six_e_bar_type)

    assert message.startswith(f"{path}: missing column high")
    assert "found columns: timestamp, open, low, close" in message


def test_missing_timestamp_column_names_the_accepted_names(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, "when,open,high,low,close\nx,1,1,1,1\n")

    message = _bars_error(path, six_e, six_e_bar_type)

    assert "missing column timestamp (or timestamp_utc, ts_event, time, date, datetime)" in message


def test_unparseable_timestamp_names_line(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD + "yesterday,1.1,1.1,1.1,1.1,1\n")

    assert _bars_error(path, six_e, six_e_bar_type) == (
        f"{path} line 3: cannot parse timestamp 'yesterday' as an ISO 8601 timestamp"
    )


def test_non_numeric_price_names_line_and_column(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD + GOOD.replace("1.10010", "abc"))

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path} line 3: high is not a finite number: 'abc'"


def test_empty_price_names_line(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD + GOOD + GOOD.replace("1.10005", ""))

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path} line 4: close is empty"


def test_nan_price_names_line(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD + GOOD.replace("1.09990", "NaN"))

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path} line 3: low is empty"


def test_high_below_low_names_line_and_values(tmp_path, six_e, six_e_bar_type):
    bad = "2024-01-02 00:02:00,1.10000,1.09990,1.10010,1.10000,1\n"
    path = _write(tmp_path, HEADER + GOOD + bad)

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path} line 3: high 1.09990 is below low 1.10010"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("1.10020,1.10010,1.09990,1.10000", "open 1.10020 is outside [low 1.09990, high 1.10010]"),
        ("1.10000,1.10010,1.09990,1.09980", "close 1.09980 is outside [low 1.09990, high 1.10010]"),
    ],
)
def test_open_or_close_outside_range_names_line(tmp_path, six_e, six_e_bar_type, row, problem):
    path = _write(tmp_path, HEADER + GOOD + GOOD + f"2024-01-02 00:03:00,{row},1\n")

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path} line 4: {problem}"


def test_negative_volume_names_line(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD.replace(",10\n", ",-0.3\n"))

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path} line 2: volume -0.3 is negative"


def test_timestamps_going_backwards_name_the_line(tmp_path, six_e, six_e_bar_type):
    earlier = GOOD.replace("00:01:00", "00:00:30")
    path = _write(tmp_path, HEADER + GOOD + GOOD + earlier)

    message = _bars_error(path, six_e, six_e_bar_type)

    assert message.startswith(f"{path} line 4: timestamp 2024-01-02T00:00:30+00:00 is earlier than")


def test_blank_lines_do_not_shift_line_numbers(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD + "\n" + GOOD.replace("1.10010", "x"))

    assert re.match(rf"{re.escape(str(path))} line 4: high", _bars_error(path, six_e, six_e_bar_type))


def test_gzip_csv_errors_use_the_same_line_numbers(tmp_path, six_e, six_e_bar_type):
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as stream:
        stream.write(HEADER + GOOD + GOOD.replace("1.10010", "x"))

    assert _bars_error(path, six_e, six_e_bar_type) == f"{path} line 3: high is not a finite number: 'x'"


def test_row_with_too_many_fields_is_a_data_error(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD + GOOD.rstrip("\n") + ",7\n")

    assert "cannot read csv file" in _bars_error(path, six_e, six_e_bar_type)


def test_mixed_epoch_units_are_rejected(tmp_path, six_e, six_e_bar_type):
    rows = "1704153660,1.1,1.1,1.1,1.1,1\n1704153720000,1.1,1.1,1.1,1.1,1\n"
    path = _write(tmp_path, HEADER + rows)

    message = _bars_error(path, six_e, six_e_bar_type)

    assert message.startswith(f"{path} line 3: timestamp 1704153720000 looks like epoch milliseconds")


def test_error_rows_before_the_time_window_still_fail(tmp_path, six_e, six_e_bar_type):
    path = _write(tmp_path, HEADER + GOOD.replace("1.10010", "x") + GOOD.replace("00:01", "00:05"))

    with pytest.raises(DataError, match="line 2"):
        load_bars(path, six_e, six_e_bar_type, start_ns=1_704_153_900_000_000_000)


QUOTES = "timestamp,bid,ask\n2013-01-01T22:00:00Z,86.655,86.728\n"


def test_crossed_quote_is_an_error_naming_the_line(tmp_path, usdjpy):
    path = _write(tmp_path, QUOTES + "2013-01-01T22:00:01Z,86.730,86.728\n", "q.csv")

    with pytest.raises(DataError) as caught:
        load_quotes(path, usdjpy)

    assert str(caught.value) == (
        f"{path} line 3: crossed quote: bid 86.730 is above ask 86.728 "
        "(pass crossed='skip' to drop such rows)"
    )


def test_crossed_quotes_are_dropped_when_skipping(tmp_path, usdjpy):
    rows = "2013-01-01T22:00:01Z,86.730,86.728\n2013-01-01T22:00:02Z,86.700,86.700\n"
    path = _write(tmp_path, QUOTES + rows, "q.csv")

    quotes = load_quotes(path, usdjpy, crossed="skip")

    assert [q.ts_event for q in quotes] == [1_357_077_600_000_000_000, 1_357_077_602_000_000_000]


def test_quotes_missing_ask_lists_columns(tmp_path, usdjpy):
    path = _write(tmp_path, "timestamp,bid\n2013-01-01T22:00:00Z,86.655\n", "q.csv")

    expected = r"missing column ask \(or ask_price\); found columns: timestamp, bid"
    with pytest.raises(DataError, match=expected):
        load_quotes(path, usdjpy)


def test_negative_quote_size_names_line(tmp_path, usdjpy):
    text = "timestamp,bid_price,ask_price,bid_size,ask_size\n2013-01-01T22:00:00Z,86.655,86.728,5,-1\n"
    path = _write(tmp_path, text, "q.csv")

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))} line 2: ask_size -1 is negative$"):
        load_quotes(path, usdjpy)


def test_quote_timestamps_going_backwards_name_the_line(tmp_path, usdjpy):
    path = _write(tmp_path, QUOTES + "2013-01-01T21:59:59Z,86.655,86.728\n", "q.csv")

    with pytest.raises(DataError, match=r"line 3: timestamp 2013-01-01T21:59:59\+00:00 is earlier"):
        load_quotes(path, usdjpy)
