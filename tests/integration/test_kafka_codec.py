"""The Kafka wire format: exact round trips (hypothesis) and malformed input rejected with a reason."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.model.data import Bar, BarSpecification, BarType, QuoteTick, TradeTick
from nautilus_trader.model.enums import AggregationSource, AggressorSide, BarAggregation, PriceType
from nautilus_trader.model.identifiers import InstrumentId, TradeId
from nautilus_trader.model.objects import Price, Quantity

from macrofund.adapters.kafka.codec import CodecError, decode, encode_bar, encode_quote, encode_trade

ES = InstrumentId.from_str("ESZ6.CME")
precisions = st.integers(min_value=0, max_value=9)
mantissas = st.integers(min_value=0, max_value=10**11)
timestamps = st.integers(min_value=0, max_value=2**63 - 1)


def price(mantissa: int, precision: int) -> Price:
    return Price.from_raw(mantissa * 10 ** (16 - precision), precision)


def qty(mantissa: int, precision: int) -> Quantity:
    return Quantity.from_raw(mantissa * 10 ** (16 - precision), precision)


@given(
    precisions, precisions, mantissas, mantissas, mantissas, mantissas, timestamps, st.integers(0, 2**32 - 1)
)
def test_quote_round_trip_is_exact(pp, sp, bid, ask, bid_size, ask_size, ts, stream) -> None:
    quote = QuoteTick(ES, price(bid, pp), price(ask, pp), qty(bid_size, sp), qty(ask_size, sp), ts, ts)
    decoded = decode(ES, encode_quote(quote, stream, 42), ts_init=ts)
    assert decoded.data == quote
    assert (
        decoded.data.bid_price.raw == quote.bid_price.raw and decoded.data.ask_size.raw == quote.ask_size.raw
    )
    assert decoded.data.bid_price.precision == pp and decoded.data.bid_size.precision == sp
    assert (decoded.stream, decoded.seq) == (stream, 42)


@given(
    precisions,
    precisions,
    mantissas,
    st.integers(1, 10**11),
    timestamps,
    st.sampled_from(list(AggressorSide)),
)
def test_trade_round_trip_is_exact(pp, sp, px, size, ts, side) -> None:
    trade = TradeTick(ES, price(px, pp), qty(size, sp), side, TradeId("x"), ts, ts)
    decoded = decode(ES, encode_trade(trade, 7, 3), ts_init=ts).data
    assert isinstance(decoded, TradeTick)
    assert (decoded.price.raw, decoded.size.raw, decoded.aggressor_side) == (
        trade.price.raw,
        trade.size.raw,
        side,
    )
    assert decoded.ts_event == ts


@given(
    precisions,
    st.lists(mantissas, min_size=4, max_size=4),
    mantissas,
    timestamps,
    st.sampled_from([1, 5, 15, 30]),
)
def test_bar_round_trip_is_exact(pp, ohlc, volume, ts, step) -> None:
    low, high = min(ohlc), max(ohlc)
    spec = BarSpecification(step, BarAggregation.MINUTE, PriceType.LAST)
    bar_type = BarType(ES, spec, AggregationSource.EXTERNAL)
    bar = Bar(
        bar_type,
        price(ohlc[0], pp),
        price(high, pp),
        price(low, pp),
        price(ohlc[3], pp),
        qty(volume, 0),
        ts,
        ts,
    )
    decoded = decode(ES, encode_bar(bar, 1, 1), ts_init=ts).data
    assert decoded == bar
    assert decoded.bar_type == bar_type
    assert decoded.close.raw == bar.close.raw


def _quote_bytes() -> bytes:
    quote = QuoteTick(ES, price(2400025, 2), price(2400050, 2), qty(3, 0), qty(4, 0), 1, 1)
    return encode_quote(quote, 1, 1)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "too short"),
        (b"\x02\x01" + _quote_bytes()[2:], "unknown format version 2"),
        (b"\x01\x09" + _quote_bytes()[2:], "unknown message kind 9"),
        (_quote_bytes()[:-1], "must be 56 bytes"),
        (_quote_bytes()[:2] + bytes([17]) + _quote_bytes()[3:], "precision out of range"),
        (b'{"bid": 1}', "unknown format version 123"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(CodecError, match=reason):
        decode(ES, payload, ts_init=0)


def test_a_negative_size_is_rejected() -> None:
    bad = struct.pack("<BBBBIQqqqQQ", 1, 1, 2, 0, 1, 1, 5, 100, 101, 1, 1)
    bad = bad[:40] + struct.pack("<q", -5) + bad[48:]  # bid_size
    with pytest.raises(CodecError, match="out of range"):
        decode(ES, bad, ts_init=0)
