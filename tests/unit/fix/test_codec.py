"""The FIX 4.4 codec: exact round trips, checksum/length validation, stream framing with resync."""

from __future__ import annotations

import re

import pytest
import simplefix
from hypothesis import given
from hypothesis import strategies as st
from simplefix.data import RAW_DATA_TAGS, RAW_LEN_TAGS

from macrofund.adapters.fix.codec import (
    DATA_LENGTH_TAGS,
    FixStreamParser,
    ParsedFrame,
    SkippedBytes,
    decode,
    encode,
)
from macrofund.adapters.fix.errors import FixCodecError
from macrofund.adapters.fix.message import FixMessage

TIME = "20260105-13:30:00.123"
values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30)
body_tags = st.integers(min_value=11, max_value=9999).filter(lambda t: t not in {34, 35, 43, 49, 52, 56, 122})
# Length/data pairs (a length tag's value is a byte count, read differently by design): the FIX 4.4
# ones in our codec and every pair simplefix treats as such (e.g. 1401/1402 from later versions).
_RAW_TAGS = {*DATA_LENGTH_TAGS, *DATA_LENGTH_TAGS.values(), *RAW_LEN_TAGS, *RAW_DATA_TAGS, 347}
body_tags = body_tags.filter(lambda t: t not in _RAW_TAGS)
messages = st.builds(
    lambda msg_type, fields: FixMessage(msg_type, fields),
    st.sampled_from(["D", "8", "F", "G", "B", "j", "AE"]),
    st.lists(st.tuples(body_tags, values), max_size=12),
)


def wire(message: FixMessage, seq: int = 7) -> bytes:
    return encode(message, "SENDER", "TARGET", seq, TIME)


@given(messages, st.integers(min_value=1, max_value=10**8))
def test_encode_then_decode_gives_back_every_field(message: FixMessage, seq: int) -> None:
    decoded = decode(encode(message, "SENDER", "TARGET", seq, TIME))
    assert decoded.msg_type == message.msg_type
    assert (
        decoded.require(34) == str(seq)
        and decoded.require(49) == "SENDER"
        and decoded.require(56) == "TARGET"
    )
    header_tags = {
        34,
        49,
        52,
        56,
        50,
        57,
        115,
        128,
        116,
        129,
        142,
        143,
        144,
        145,
        97,
        369,
        627,
        628,
        629,
        630,
    }
    body = [(t, v) for t, v in decoded.fields if t not in {34, 49, 52, 56}]
    expected_header = [(t, v) for t, v in message.fields if t in header_tags]
    expected_body = [(t, v) for t, v in message.fields if t not in header_tags]
    assert body == expected_header + expected_body


@given(messages)
def test_simplefix_reads_what_we_encode(message: FixMessage) -> None:
    parser = simplefix.FixParser()
    parser.append_buffer(wire(message))
    parsed = parser.get_message()
    assert parsed is not None
    assert parsed.get(35).decode() == message.msg_type
    for tag, value in message.fields:
        assert value.encode() in [v for t, v in parsed.pairs if int(t) == tag]


@given(messages, st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=40))
def test_stream_parser_frames_any_split_of_several_messages(message: FixMessage, cuts: list[int]) -> None:
    stream = wire(message, 1) + wire(message, 2) + wire(message, 3)
    parser = FixStreamParser()
    got: list[ParsedFrame | SkippedBytes] = []
    pos = 0
    for size in cuts * 50:
        if pos >= len(stream):
            break
        got += parser.feed(stream[pos : pos + size])
        pos += size
    got += parser.feed(stream[pos:])
    assert [type(x) for x in got] == [ParsedFrame] * 3
    assert [x.message.get(34) for x in got if isinstance(x, ParsedFrame)] == ["1", "2", "3"]
    assert parser.buffered == 0


@given(st.binary(max_size=200), messages)
def test_garbage_before_a_message_is_skipped_and_the_message_survives(
    garbage: bytes, message: FixMessage
) -> None:
    got = FixStreamParser().feed(garbage + wire(message))
    frames = [x for x in got if isinstance(x, ParsedFrame)]
    assert frames and frames[-1].raw == wire(message)


def test_bad_checksum_frame_is_skipped_whole_and_the_next_message_parses() -> None:
    good = wire(FixMessage("0"))
    bad = good[:-4] + b"%03d\x01" % ((int(good[-4:-1]) + 1) % 256)
    got = FixStreamParser().feed(bad + good)
    assert isinstance(got[0], SkippedBytes) and "CheckSum" in got[0].reason and got[0].raw == bad
    assert isinstance(got[1], ParsedFrame) and got[1].raw == good


def test_wrong_body_length_resynchronises_on_the_next_begin_string() -> None:
    good = wire(FixMessage("0"))
    too_long = re.sub(rb"\x019=\d+\x01", b"\x019=99\x01", good)
    got = FixStreamParser().feed(too_long + good)
    assert isinstance(got[0], SkippedBytes)
    assert isinstance(got[-1], ParsedFrame) and got[-1].raw == good


def test_huge_body_length_is_not_waited_for() -> None:
    good = wire(FixMessage("0"))
    got = FixStreamParser().feed(b"8=FIX.4.4\x019=999999999\x0135=0\x01" + good)
    assert isinstance(got[0], SkippedBytes) and isinstance(got[-1], ParsedFrame)


def test_partial_begin_string_at_the_end_of_a_read_is_kept() -> None:
    good = wire(FixMessage("0"))
    parser = FixStreamParser()
    assert [type(x) for x in parser.feed(b"noise8=FI")] == [SkippedBytes]
    assert [type(x) for x in parser.feed(good[4:])] == [ParsedFrame]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"8=FIX.4.2\x019=5\x0135=0\x0110=000\x01", "8=FIX.4.4"),
        (b"8=FIX.4.4\x0135=0\x01", "BodyLength"),
        (b"8=FIX.4.4\x019=x\x0135=0\x0110=000\x01", "tag 9"),
        (b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01", "CheckSum 10=000"),
        (b"8=FIX.4.4\x019=3\x0135=0\x0110=000\x01", "BodyLength 9=3"),
    ],
)
def test_malformed_messages_raise_a_codec_error_naming_the_problem(raw: bytes, words: str) -> None:
    with pytest.raises(FixCodecError, match=words):
        decode(raw)


def test_body_fields_missing_equals_or_msgtype_first_are_errors() -> None:
    def framed(body: bytes) -> bytes:
        head = b"8=FIX.4.4\x019=%d\x01" % len(body) + body
        return head + b"10=%03d\x01" % (sum(head) % 256)

    with pytest.raises(FixCodecError, match="third field is not MsgType"):
        decode(framed(b"49=A\x0135=0\x01"))
    with pytest.raises(FixCodecError, match="no '='"):
        decode(framed(b"35=0\x0149A\x01"))
    with pytest.raises(FixCodecError, match="tag number"):
        decode(framed(b"35=0\x01x9=A\x01"))


def test_data_fields_may_contain_soh() -> None:
    message = FixMessage("B").append(148, "h").append(95, 5).append(96, "a\x01b=c")
    assert decode(wire(message)).get(96) == "a\x01b=c"


def test_values_containing_soh_are_refused_on_encode() -> None:
    with pytest.raises(FixCodecError, match="tag 58"):
        wire(FixMessage("B").append(58, "a\x01b"))


def test_application_header_fields_are_moved_into_the_header() -> None:
    message = FixMessage("D").append(11, "C1").append(50, "OPERATOR").append(142, "BR,SP")
    text = wire(message).decode()
    assert text.index("50=OPERATOR") < text.index("11=C1") and text.index("142=BR,SP") < text.index("11=C1")


def test_a_message_read_then_changed_answers_with_its_new_fields() -> None:
    message = decode(wire(FixMessage("8", [(11, "A"), (448, "P1"), (448, "P2")])))
    assert message.get(11) == "A" and message.get(448) == "P1"  # the first occurrence
    message.append(58, "late text")
    message.set(11, "B")
    assert message.get(58) == "late text" and message.get(11) == "B" and 58 in message
    assert message.get_all(448) == ["P1", "P2"] and 9999 not in message
