"""The bar type paper mode suggests for an EXTERNAL one can be built from the simulator's quotes."""

from __future__ import annotations

import pytest
from nautilus_trader.model.data import BarType

from macrofund.adapters.sim_feed.data import quote_bar_type


@pytest.mark.parametrize(
    ("external", "suggested"),
    [
        # The message once read "subscribe 6EH4.CME-1-MINUTE-LAST-EXTERNAL-INTERNAL bars": not a bar type.
        ("6EH4.CME-1-MINUTE-LAST-EXTERNAL", "6EH4.CME-1-MINUTE-MID-INTERNAL"),
        ("ESZ6.CME-100-TICK-BID-EXTERNAL", "ESZ6.CME-100-TICK-BID-INTERNAL"),
        ("WINZ26.B3-5-SECOND-ASK-EXTERNAL", "WINZ26.B3-5-SECOND-ASK-INTERNAL"),
    ],
)
def test_suggestion_is_a_quote_built_bar_type(external: str, suggested: str) -> None:
    bar_type = quote_bar_type(BarType.from_str(external))
    assert str(bar_type) == suggested
    assert BarType.from_str(str(bar_type)) == bar_type
