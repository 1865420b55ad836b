"""The wire format of market data on Kafka: one fixed-layout little-endian struct per message, version 1.

Why this encoding: a quote is 56 bytes (JSON would be ~200), encoding/decoding is one ``struct`` call (no
schema registry, no allocation per field), and prices travel as integer mantissas with their decimal
precision (``500025`` at precision 2 = ``5000.25``), so decoding is exact: no binary float on the price path.
The first byte is the format version (readers reject versions they do not know, so a format change is
never silently misread); the second the kind. The instrument is the message key (``ESZ6.CME``), which is
also the partitioning key, so one instrument's messages stay in order on one partition.

Every message carries ``stream`` (a random id of the producing session) and ``seq`` (per stream and
instrument, from 1): consumers drop a message whose ``seq`` is not above the last one delivered for its
(stream, instrument, kind), which makes redelivery after a consumer or broker restart harmless.

Layouts (``<`` little-endian; p = price precision, s = size precision; prices/sizes are mantissas):

- quote ``<BBBBIQqqqQQ``: version, kind=1, p, s, stream, seq, ts_event, bid, ask, bid_size, ask_size
- trade ``<BBBBB3xIQqqQ``: version, kind=2, p, s, aggressor (1 buyer, 2 seller), stream, seq, ts_event,
  price, size
- bar ``<BBBBBBxxIIQqqqqqQ``: version, kind=3, p, s, aggregation, price_type, step, stream, seq,
  ts_event, open, high, low, close, volume (bar type = key + ``step-AGGREGATION-PRICE_TYPE-EXTERNAL``)
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from nautilus_trader.model.data import Bar, BarSpecification, BarType, QuoteTick, TradeTick
from nautilus_trader.model.enums import AggregationSource, AggressorSide, BarAggregation, PriceType
from nautilus_trader.model.identifiers import InstrumentId, TradeId
from nautilus_trader.model.objects import FIXED_PRECISION, QUANTITY_MAX, Price, Quantity

VERSION = 1
KIND_QUOTE = 1
KIND_TRADE = 2
KIND_BAR = 3

_QUOTE = struct.Struct("<BBBBIQqqqQQ")
_TRADE = struct.Struct("<BBBBB3xIQqqQ")
_BAR = struct.Struct("<BBBBBBxxIIQqqqqqQ")
_QUOTE_HEADER = bytes((VERSION, KIND_QUOTE))
_QUOTE_SIZE = _QUOTE.size
_QUOTE_UNPACK = _QUOTE.unpack
_QUOTE_FROM_RAW = QuoteTick.from_raw
_SIZES = {KIND_QUOTE: _QUOTE.size, KIND_TRADE: _TRADE.size, KIND_BAR: _BAR.size}
_SCALE = [10 ** (FIXED_PRECISION - p) for p in range(FIXED_PRECISION + 1)]
_SIZE_RAW_MAX = int(QUANTITY_MAX) * 10**FIXED_PRECISION
_AGGRESSOR = {AggressorSide.BUYER: 1, AggressorSide.SELLER: 2, AggressorSide.NO_AGGRESSOR: 0}
_AGGRESSOR_BACK = {v: k for k, v in _AGGRESSOR.items()}


class CodecError(ValueError):
    """A message that is not a valid market-data message of a known version (it is skipped, not fatal)."""


class Decoded(NamedTuple):
    """A decoded message: the Nautilus object, and its dedup identity (stream, seq).

    A named tuple rather than a frozen dataclass: built once per message on the consumer thread, where
    a frozen dataclass's ``__init__`` alone cost a tenth of the decode."""

    data: QuoteTick | TradeTick | Bar
    kind: int
    stream: int
    seq: int


# ``Decoded(...)`` runs the named tuple's generated Python ``__new__`` (a tenth of a quote's time on the
# consumer thread); the builtin ``tuple.__new__`` makes the same ``Decoded`` in C.
_new_tuple = tuple.__new__


def _mantissa(raw: int, precision: int) -> int:
    # A Price/Quantity of precision p has a raw value that is a multiple of 10^(16-p): the division is exact.
    mantissa, rest = divmod(raw, _SCALE[precision])
    if rest:
        raise CodecError(f"raw value {raw} is not exact at precision {precision}")
    return mantissa


def encode_quote(quote: QuoteTick, stream: int, seq: int) -> bytes:
    """Encode a Nautilus quote (the key, ``str(quote.instrument_id)``, is sent separately)."""
    p, s = quote.bid_price.precision, quote.bid_size.precision
    return _QUOTE.pack(
        VERSION,
        KIND_QUOTE,
        p,
        s,
        stream,
        seq,
        quote.ts_event,
        _mantissa(quote.bid_price.raw, p),
        _mantissa(quote.ask_price.raw, p),
        _mantissa(quote.bid_size.raw, s),
        _mantissa(quote.ask_size.raw, s),
    )


def encode_quote_mantissas(
    stream: int,
    seq: int,
    ts_event: int,
    bid: int,
    ask: int,
    bid_size: int,
    ask_size: int,
    price_precision: int,
    size_precision: int = 0,
) -> bytes:
    """Encode a quote from integer mantissas (the producer's fast path: no Nautilus objects needed)."""
    return _QUOTE.pack(
        VERSION,
        KIND_QUOTE,
        price_precision,
        size_precision,
        stream,
        seq,
        ts_event,
        bid,
        ask,
        bid_size,
        ask_size,
    )


def encode_trade(trade: TradeTick, stream: int, seq: int) -> bytes:
    """Encode a Nautilus trade (its trade id is not carried: the decoder rebuilds one from stream/seq)."""
    p, s = trade.price.precision, trade.size.precision
    return _TRADE.pack(
        VERSION,
        KIND_TRADE,
        p,
        s,
        _AGGRESSOR[trade.aggressor_side],
        stream,
        seq,
        trade.ts_event,
        _mantissa(trade.price.raw, p),
        _mantissa(trade.size.raw, s),
    )


def encode_bar(bar: Bar, stream: int, seq: int) -> bytes:
    """Encode a Nautilus bar of a standard (time/tick/volume) specification."""
    spec = bar.bar_type.spec
    p, s = bar.open.precision, bar.volume.precision
    return _BAR.pack(
        VERSION,
        KIND_BAR,
        p,
        s,
        int(spec.aggregation),
        int(spec.price_type),
        spec.step,
        stream,
        seq,
        bar.ts_event,
        _mantissa(bar.open.raw, p),
        _mantissa(bar.high.raw, p),
        _mantissa(bar.low.raw, p),
        _mantissa(bar.close.raw, p),
        _mantissa(bar.volume.raw, s),
    )


def _precisions(p: int, s: int) -> None:
    if p > FIXED_PRECISION or s > FIXED_PRECISION:
        raise CodecError(f"precision out of range (price {p}, size {s}; at most {FIXED_PRECISION})")


def decode(instrument_id: InstrumentId, value: bytes, ts_init: int) -> Decoded:
    """Decode one message for ``instrument_id`` (from the key); ``CodecError`` if it is malformed."""
    if value[:2] != _QUOTE_HEADER or len(value) != _QUOTE_SIZE:  # a well-formed quote header needs none
        _check_header(value)
    kind = value[1]
    try:
        if kind == KIND_QUOTE:
            return _decode_quote(instrument_id, value, ts_init)
        if kind == KIND_TRADE:
            return _decode_trade(instrument_id, value, ts_init)
        return _decode_bar(instrument_id, value, ts_init)
    except CodecError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:  # Nautilus rejects e.g. negative sizes
        raise CodecError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _check_header(value: bytes) -> None:
    if len(value) < 2:
        raise CodecError(f"{len(value)} bytes: too short for a header")
    version, kind = value[0], value[1]
    if version != VERSION:
        raise CodecError(f"unknown format version {version} (this reader knows {VERSION})")
    expected = _SIZES.get(kind)
    if expected is None:
        raise CodecError(f"unknown message kind {kind}")
    if len(value) != expected:
        raise CodecError(f"kind {kind} must be {expected} bytes, got {len(value)}")


def _check_ts(ts_event: int) -> None:
    if ts_event < 0:
        raise CodecError(f"negative ts_event {ts_event}")


def _check_size(raw: int) -> int:
    # Sizes travel unsigned: a negative size written by a buggy producer reads as a huge number.
    if raw > _SIZE_RAW_MAX:
        raise CodecError(f"size {raw / 10**FIXED_PRECISION:.6g} is out of range")
    return raw


def _decode_quote(instrument_id: InstrumentId, value: bytes, ts_init: int) -> Decoded:
    # The hot path (one call per quote on the consumer thread): each check is tested inline and only
    # calls its helper, which raises with the reason, when it fails.
    _, _, p, s, stream, seq, ts_event, bid, ask, bid_size, ask_size = _QUOTE_UNPACK(value)
    if p > FIXED_PRECISION or s > FIXED_PRECISION:
        _precisions(p, s)
    if ts_event < 0:
        _check_ts(ts_event)
    ps, ss = _SCALE[p], _SCALE[s]
    bid_raw, ask_raw = bid_size * ss, ask_size * ss
    if bid_raw > _SIZE_RAW_MAX or ask_raw > _SIZE_RAW_MAX:
        _check_size(bid_raw)
        _check_size(ask_raw)
    quote = _QUOTE_FROM_RAW(
        instrument_id, bid * ps, ask * ps, p, p, bid_raw, ask_raw, s, s, ts_event, ts_init
    )
    return _new_tuple(Decoded, (quote, KIND_QUOTE, stream, seq))


def _decode_trade(instrument_id: InstrumentId, value: bytes, ts_init: int) -> Decoded:
    _, _, p, s, aggressor, stream, seq, ts_event, price, size = _TRADE.unpack(value)
    _precisions(p, s)
    _check_ts(ts_event)
    side = _AGGRESSOR_BACK.get(aggressor)
    if side is None:
        raise CodecError(f"unknown aggressor side {aggressor}")
    if size < 0:
        raise CodecError(f"negative size {size}")
    trade = TradeTick(
        instrument_id,
        Price.from_raw(price * _SCALE[p], p),
        Quantity.from_raw(_check_size(size * _SCALE[s]), s),
        side,
        TradeId(f"{stream:08x}-{seq}"),
        ts_event,
        ts_init,
    )
    return _new_tuple(Decoded, (trade, KIND_TRADE, stream, seq))


def _decode_bar(instrument_id: InstrumentId, value: bytes, ts_init: int) -> Decoded:
    (_, _, p, s, aggregation, price_type, step, stream, seq, ts_event, o, h, low, c, v) = _BAR.unpack(value)
    _precisions(p, s)
    _check_ts(ts_event)
    if v < 0:
        raise CodecError(f"negative volume {v}")
    try:
        spec = BarSpecification(step, BarAggregation(aggregation), PriceType(price_type))
    except ValueError as exc:
        raise CodecError(f"bad bar specification: {exc}") from None
    ps = _SCALE[p]
    bar = Bar(
        BarType(instrument_id, spec, AggregationSource.EXTERNAL),
        Price.from_raw(o * ps, p),
        Price.from_raw(h * ps, p),
        Price.from_raw(low * ps, p),
        Price.from_raw(c * ps, p),
        Quantity.from_raw(_check_size(v * _SCALE[s]), s),
        ts_event,
        ts_init,
    )
    return _new_tuple(Decoded, (bar, KIND_BAR, stream, seq))
