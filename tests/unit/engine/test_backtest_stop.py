"""Ctrl-C / SIGTERM in a backtest: the first is recorded and acted on at a safe point; the second abandons."""

from __future__ import annotations

import signal

import pytest

from macrofund.engine.backtest_stop import SignalStop, StopRequested


def test_first_signal_is_only_recorded_then_raised_at_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    stop = SignalStop()
    stop.check()  # nothing asked yet
    stop(signal.SIGTERM)
    assert "SIGTERM: stopping at the next equity sample" in capsys.readouterr().err
    with pytest.raises(StopRequested) as raised:
        stop.check()
    assert raised.value.signal_name == "SIGTERM"
    with pytest.raises(KeyboardInterrupt):
        stop(signal.SIGINT)  # the second one: abandon at once


def test_handlers_are_installed_for_the_run_only_and_an_ignored_sigint_stays_ignored() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    stop = SignalStop()
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job of a shell without job control
        with stop.installed():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is stop
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is before[signal.SIGTERM]
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
