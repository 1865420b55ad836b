"""Ctrl-C once a run is stopping: the first says what is going on, the next abandons the stop."""

from __future__ import annotations

import signal

import pytest

from macrofund.engine.paper import LateSignals


def test_the_first_late_signal_only_informs_and_the_second_abandons_the_stop() -> None:
    said: list[str] = []
    late = LateSignals(said.append)
    late(signal.SIGINT)
    assert len(said) == 1 and said[0].startswith("still stopping: ")
    with pytest.raises(KeyboardInterrupt):
        late(signal.SIGTERM)
    assert said[-1].startswith("abandoning the stop: the outputs may be incomplete")
