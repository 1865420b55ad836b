"""FIX 4.4 tag=value codec: encode, decode, and a stream parser that frames messages from TCP bytes.

Our own rather than ``simplefix``: the session works on ``FixMessage`` (ordered ``(int, str)`` pairs),
so a codec that produces it directly saves a conversion per message, and framing must follow the
session rules precisely (validate 9 and 10, skip garbage, resynchronise on the next ``8=FIX.4.4``),
which ``simplefix.FixParser`` does not report (it raises on a bad checksum and cannot say which bytes
it dropped). ``bench/fix_session.py`` compares both (ours ~4x faster per message).

Wire order on encode: ``8, 9, 35, 49, 56, 34, 52`` (+ ``43, 122`` on resends), then the header fields
the application set (e.g. 50, 57, 142), then the body, then ``10``. QuickFIX rejects header fields that
appear after body fields, so header tags are always moved into the header.
"""

from __future__ import annotations

from dataclasses import dataclass

from macrofund.adapters.fix.errors import FixCodecError
from macrofund.adapters.fix.message import FixMessage

SOH = b"\x01"
BEGIN_STRING = "FIX.4.4"
BEGIN = b"8=FIX.4.4\x01"
MAX_BODY_LENGTH = 1_000_000  # a bigger 9= is corruption, not a message: resynchronise instead of waiting

# Header tags (FIX 4.4 StandardHeader) other than the ones the session stamps itself.
OPTIONAL_HEADER_TAGS = frozenset(
    {115, 128, 90, 91, 50, 142, 57, 143, 116, 144, 129, 145, 97, 212, 213, 347, 369, 627, 628, 629, 630}
)
# Stamped by ``encode`` from its arguments: never copied from the message's own fields.
STAMPED_TAGS = frozenset({8, 9, 10, 35, 34, 49, 52, 56, 43, 122})
# Length field -> data field: the data value may contain SOH, so it is read by length.
DATA_LENGTH_TAGS = {
    90: 91,
    95: 96,
    212: 213,
    348: 349,
    350: 351,
    352: 353,
    354: 355,
    356: 357,
    358: 359,
    360: 361,
    362: 363,
    364: 365,
    445: 446,
    618: 619,
    621: 622,
}


def checksum(data: bytes) -> int:
    """FIX CheckSum (10): the byte sum modulo 256."""
    return sum(data) & 0xFF


def encode(
    message: FixMessage,
    sender_comp_id: str,
    target_comp_id: str,
    seq_num: int,
    sending_time: str,
    poss_dup: bool = False,
    orig_sending_time: str | None = None,
) -> bytes:
    """The complete wire bytes of ``message`` with a standard header and trailer.

    Values containing SOH are refused (they would silently split a field on the other side).
    """
    head = [
        f"35={message.msg_type}",
        f"49={sender_comp_id}",
        f"56={target_comp_id}",
        f"34={seq_num}",
    ]
    if poss_dup:
        head.append("43=Y")
    head.append(f"52={sending_time}")
    if orig_sending_time is not None:
        head.append(f"122={orig_sending_time}")
    body: list[str] = []
    for tag, value in message.fields:
        if tag in STAMPED_TAGS:
            continue
        if "\x01" in value and tag not in _DATA_TAGS:
            raise FixCodecError(f"35={message.msg_type}: tag {tag} value contains SOH")
        (head if tag in OPTIONAL_HEADER_TAGS else body).append(f"{tag}={value}")
    payload = ("\x01".join(head) + "\x01" + ("\x01".join(body) + "\x01" if body else "")).encode()
    prefix = b"8=FIX.4.4\x019=" + str(len(payload)).encode() + SOH
    framed = prefix + payload
    return framed + b"10=%03d\x01" % checksum(framed)


_DATA_TAGS = frozenset(DATA_LENGTH_TAGS.values())


def decode(frame: bytes) -> FixMessage:
    """One complete message (``8=`` through ``10=nnn<SOH>``) → ``FixMessage``; validates 8, 9, 10.

    The returned message keeps every field except 8, 9, 35 and 10, header fields included, in wire
    order. ``FixCodecError`` says what is wrong.
    """
    if not frame.startswith(BEGIN):
        raise FixCodecError(f"message does not start with 8={BEGIN_STRING}: {_preview(frame)}")
    length_end = frame.find(SOH, len(BEGIN))
    if length_end < 0 or frame[len(BEGIN) : len(BEGIN) + 2] != b"9=":
        raise FixCodecError(f"second field is not BodyLength (9): {_preview(frame)}")
    body_length = _int(frame[len(BEGIN) + 2 : length_end], 9)
    body_start = length_end + 1
    body_end = body_start + body_length
    trailer = frame[body_end:]
    if len(trailer) != 7 or not trailer.startswith(b"10=") or not trailer.endswith(SOH):
        raise FixCodecError(f"BodyLength 9={body_length} does not end at the CheckSum field (10)")
    expected = checksum(frame[:body_end])
    got = _int(trailer[3:6], 10)
    if got != expected:
        raise FixCodecError(f"CheckSum 10={got:03d} is wrong: computed {expected:03d}")
    return _fields(frame[body_start:body_end])


def _fields(body: bytes) -> FixMessage:
    # Fast path (every message without a length-prefixed data field, i.e. all order flow): one C-level
    # split, then a partition per field. Anything unusual goes to the field-by-field parser below,
    # which also produces the precise error.
    parts = body.split(SOH)
    if parts.pop() == b"":
        fields: list[tuple[int, str]] = []
        append = fields.append
        for part in parts:
            raw_tag, sep, raw_value = part.partition(b"=")
            if not sep or not raw_tag.isdigit() or len(raw_tag) > 9:
                break
            tag = int(raw_tag)
            if tag in DATA_LENGTH_TAGS:
                break
            append((tag, raw_value.decode("utf-8", errors="replace")))
        else:
            if fields and fields[0][0] == 35 and fields[0][1] != "":
                return FixMessage(fields[0][1], fields[1:])
    return _fields_one_by_one(body)


def _fields_one_by_one(body: bytes) -> FixMessage:
    fields: list[tuple[int, str]] = []
    pos = 0
    end = len(body)
    data_length: int | None = None
    while pos < end:
        eq = body.find(b"=", pos)
        if eq < 0:
            raise FixCodecError(f"field at byte {pos} has no '=': {_preview(body[pos:])}")
        tag = _int(body[pos:eq], None)
        if data_length is not None and tag in _DATA_TAGS:
            stop = eq + 1 + data_length
            if body[stop : stop + 1] != SOH:
                raise FixCodecError(f"data field {tag} is not {data_length} bytes long")
            data_length = None
        else:
            stop = body.find(SOH, eq + 1)
            if stop < 0:
                raise FixCodecError(f"field {tag} is not terminated by SOH")
        value = body[eq + 1 : stop].decode("utf-8", errors="replace")
        if tag in DATA_LENGTH_TAGS:
            data_length = _int(body[eq + 1 : stop], tag)
        fields.append((tag, value))
        pos = stop + 1
    if not fields or fields[0][0] != 35:
        raise FixCodecError("third field is not MsgType (35)")
    if fields[0][1] == "":
        raise FixCodecError("MsgType (35) is empty")
    return FixMessage(fields[0][1], fields[1:])


def _int(raw: bytes, tag: int | None) -> int:
    if not raw.isdigit() or len(raw) > 9:
        where = f"tag {tag}" if tag is not None else "tag number"
        raise FixCodecError(f"{where} is not a positive integer: {raw[:20]!r}")
    return int(raw)


def _preview(data: bytes) -> str:
    return repr(data[:40].replace(SOH, b"|"))


@dataclass(frozen=True)
class ParsedFrame:
    """A complete, valid frame cut from the stream: its raw bytes and the decoded message."""

    raw: bytes
    message: FixMessage


@dataclass(frozen=True)
class SkippedBytes:
    """Bytes the parser dropped (garbage between messages, a bad length, a bad checksum) and why."""

    raw: bytes
    reason: str


class FixStreamParser:
    """Cuts FIX 4.4 messages out of a TCP byte stream.

    ``feed`` accepts any slice of the stream (partial messages, several messages, garbage) and returns
    the frames completed by it, in order, with ``SkippedBytes`` for whatever was dropped. It never
    raises on bad input: the session logs what was skipped and carries on, as FIX requires (a garbled
    message is ignored and its sequence number is not consumed).
    """

    def __init__(self, max_body_length: int = MAX_BODY_LENGTH) -> None:
        self._buffer = bytearray()
        self._max_body_length = max_body_length

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[ParsedFrame | SkippedBytes]:
        """Add ``data`` and return what it completed."""
        buf = self._buffer
        buf += data
        out: list[ParsedFrame | SkippedBytes] = []
        while buf:
            start = buf.find(BEGIN)
            if start < 0:
                # Keep a tail that could be the start of a BeginString split across reads.
                keep = _partial_begin_suffix(buf)
                if len(buf) > keep:
                    out.append(SkippedBytes(bytes(buf[: len(buf) - keep]), "no 8=FIX.4.4 in bytes"))
                    del buf[: len(buf) - keep]
                break
            if start > 0:
                out.append(SkippedBytes(bytes(buf[:start]), "bytes before 8=FIX.4.4"))
                del buf[:start]
            header_end = buf.find(SOH, len(BEGIN))
            if header_end < 0:
                if len(buf) > len(BEGIN) + 12:  # 9= with more than 9 digits: not a length
                    out.append(self._skip_begin(buf, "BodyLength (9) is not terminated"))
                    continue
                break
            length_field = bytes(buf[len(BEGIN) : header_end])
            if not length_field.startswith(b"9=") or not length_field[2:].isdigit():
                out.append(self._skip_begin(buf, f"second field is not BodyLength: {length_field[:20]!r}"))
                continue
            body_length = int(length_field[2:])
            if body_length > self._max_body_length:
                out.append(self._skip_begin(buf, f"BodyLength 9={body_length} exceeds the maximum"))
                continue
            end = header_end + 1 + body_length + 7
            if len(buf) < end:
                # A BeginString right after an SOH inside the promised body means this message was cut
                # short (its length is wrong or bytes were lost): resynchronise now instead of waiting
                # for bytes that belong to the next message.
                inner = buf.find(b"\x01" + BEGIN, header_end, end)
                if inner >= 0:
                    out.append(SkippedBytes(bytes(buf[: inner + 1]), "message cut short by 8=FIX.4.4"))
                    del buf[: inner + 1]
                    continue
                break
            frame = bytes(buf[:end])
            try:
                message = decode(frame)
            except FixCodecError as exc:
                # A well-shaped frame (only its checksum or fields are wrong) is dropped whole; a frame
                # whose length is wrong is dropped up to the next BeginString.
                cut = end
                if frame[-7:-4] != b"10=" or frame[-1:] != SOH:
                    next_begin = buf.find(BEGIN, 1)
                    cut = len(buf) if next_begin < 0 else next_begin
                out.append(SkippedBytes(bytes(buf[:cut]), str(exc)))
                del buf[:cut]
                continue
            out.append(ParsedFrame(frame, message))
            del buf[:end]
        return out

    def _skip_begin(self, buf: bytearray, reason: str) -> SkippedBytes:
        next_begin = buf.find(BEGIN, 1)
        cut = len(buf) if next_begin < 0 else next_begin
        skipped = SkippedBytes(bytes(buf[:cut]), reason)
        del buf[:cut]
        return skipped


def _partial_begin_suffix(buf: bytearray) -> int:
    """Length of the longest suffix of ``buf`` that is a prefix of ``8=FIX.4.4<SOH>``."""
    for size in range(min(len(BEGIN) - 1, len(buf)), 0, -1):
        if buf.endswith(BEGIN[:size]):
            return size
    return 0
