"""File sequence store, session schedule, raw-log masking and ExecID de-duplication."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from macrofund.adapters.fix.application import ExecIdDeduplicator
from macrofund.adapters.fix.errors import FixStoreError
from macrofund.adapters.fix.log import RawMessageLog, mask_secrets
from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.schedule import SessionSchedule
from macrofund.adapters.fix.store import FileSessionStore


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp()) * 1_000_000_000


def test_file_store_continues_sequences_and_keeps_sent_messages_after_reopen(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = FileSessionStore(tmp_path, "MF", "B3")
        state = await store.open()
        assert (state.next_sender_seq, state.next_target_seq) == (1, 1)
        store.save_outbound(1, None)  # Logon: sequence only
        store.save_outbound(2, b"8=FIX.4.4\x01order-2")
        store.save_outbound(3, b"8=FIX.4.4\x01order-3")
        store.set_next_target(5)
        await store.close()
        reopened = FileSessionStore(tmp_path, "MF", "B3")
        state = await reopened.open()
        assert (state.next_sender_seq, state.next_target_seq) == (4, 5)
        assert await reopened.get_outbound(1, 3) == [
            (2, b"8=FIX.4.4\x01order-2"),
            (3, b"8=FIX.4.4\x01order-3"),
        ]
        await reopened.reset(123)
        assert await reopened.get_outbound(1, 99) == []
        await reopened.close()
        state = await FileSessionStore(tmp_path, "MF", "B3").open()
        assert (state.next_sender_seq, state.next_target_seq, state.created_ns) == (1, 1, 123)

    asyncio.run(scenario())


def test_file_store_drops_a_torn_last_record(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = FileSessionStore(tmp_path, "MF", "B3")
        await store.open()
        store.save_outbound(1, b"complete")
        await store.close()
        with open(store.directory / "messages", "ab") as f:
            f.write(b"2 100\npartial")  # the process died mid-write
        again = FileSessionStore(tmp_path, "MF", "B3")
        await again.open()
        assert await again.get_outbound(1, 10) == [(1, b"complete")]
        again.save_outbound(2, b"next")
        assert await again.get_outbound(1, 10) == [(1, b"complete"), (2, b"next")]
        await again.close()

    asyncio.run(scenario())


def test_overnight_schedule_is_open_across_midnight_and_resets_once_per_window() -> None:
    cme = SessionSchedule(time(17, 0), time(16, 0), "America/Chicago", frozenset({6, 0, 1, 2, 3}))
    assert cme.is_open(ns("2026-01-05T23:30:00-06:00"))  # Monday night
    assert cme.is_open(ns("2026-01-06T09:00:00-06:00"))  # Tuesday morning, same window
    assert not cme.is_open(ns("2026-01-06T16:30:00-06:00"))  # daily maintenance break
    assert not cme.is_open(ns("2026-01-09T18:00:00-06:00"))  # Friday evening: no window starts
    assert cme.next_open_ns(ns("2026-01-09T18:00:00-06:00")) == ns("2026-01-11T17:00:00-06:00")
    reset_monday = ns("2026-01-05T17:01:00-06:00")
    assert not cme.needs_reset(reset_monday, ns("2026-01-06T09:00:00-06:00"))
    assert cme.needs_reset(reset_monday, ns("2026-01-06T17:05:00-06:00"))


def test_day_schedule_in_sao_paulo() -> None:
    b3 = SessionSchedule(time(7, 30), time(18, 30), "America/Sao_Paulo", frozenset(range(5)))
    assert b3.is_open(ns("2026-01-05T10:00:00-03:00"))
    assert not b3.is_open(ns("2026-01-05T19:00:00-03:00"))
    assert b3.next_open_ns(ns("2026-01-05T19:00:00-03:00")) == ns("2026-01-06T07:30:00-03:00")


def test_passwords_are_masked_in_the_raw_log(tmp_path: Path) -> None:
    raw = b"8=FIX.4.4\x019=40\x0135=A\x01553=me\x01554=hunter2\x01925=newpass\x0110=000\x01"
    assert mask_secrets(raw) == b"8=FIX.4.4\x019=40\x0135=A\x01553=me\x01554=***\x01925=***\x0110=000\x01"
    log = RawMessageLog(tmp_path, "MF", "B3")
    log.write("OUT", raw, ns("2026-01-05T10:00:00+00:00"))
    log.close()
    text = (tmp_path / "MF-B3" / "20260105.log").read_text()
    assert "hunter2" not in text and "newpass" not in text and text.startswith("2026-01-05T10:00:00")


def test_exec_id_deduplicator_drops_repeats_but_not_status_answers() -> None:
    dedup = ExecIdDeduplicator(capacity=2)
    report = FixMessage("8").append(17, "X1").append(150, "F")
    assert dedup(report) is False and dedup(report) is True
    status = FixMessage("8").append(17, "X1").append(150, "I")
    assert dedup(status) is False
    dedup.seed(["X2", "X3"])  # capacity 2: X1 is forgotten
    assert dedup(FixMessage("8").append(17, "X3")) is True
    assert dedup(FixMessage("D").append(17, "X3")) is False


def test_raw_log_lines_carry_the_utc_time_and_roll_to_a_new_file_each_day(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    log = RawMessageLog(tmp_path, "MF", "B3")
    last_second = int(datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC).timestamp()) * 10**9
    stamps = [last_second + 999_999_000, last_second + 1_000_000_000 + 123, last_second + 10**9 * 61]
    for ns in stamps:
        log.write("OUT", b"8=FIX.4.4\x0135=0\x01", ns)
    log.close()
    first = (tmp_path / "MF-B3" / "20261125.log").read_text().splitlines()
    second = (tmp_path / "MF-B3" / "20261126.log").read_text().splitlines()
    assert [line.split(" ")[0] for line in first] == ["2026-11-25T23:59:59.999999Z"]
    # whole seconds carry no fraction, as datetime.isoformat writes them
    assert [line.split(" ")[0] for line in second] == ["2026-11-26T00:00:00Z", "2026-11-26T00:01:00Z"]
    assert first[0].endswith(" OUT 8=FIX.4.4|35=0|")


def test_a_file_store_in_use_is_refused_and_free_again_once_closed(tmp_path: Path) -> None:
    """Two processes on one store overwrote each other's sequence numbers; the next logon was then
    refused by the venue for a MsgSeqNum too low."""

    async def scenario() -> None:
        store = FileSessionStore(tmp_path, "MF", "B3")
        await store.open()
        store.save_outbound(1, None)
        with pytest.raises(FixStoreError, match=rf"FIX store {tmp_path / 'MF-B3'} is in use by another"):
            await FileSessionStore(tmp_path, "MF", "B3").open()
        other = FileSessionStore(tmp_path, "MF", "CME")  # another session: its own lock
        await other.open()
        await other.close()
        await store.close()
        state = await FileSessionStore(tmp_path, "MF", "B3").open()
        assert state.next_sender_seq == 2

    asyncio.run(scenario())
