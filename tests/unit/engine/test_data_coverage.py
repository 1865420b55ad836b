"""Subscriptions no data source can feed are named; fed ones are not (real bus and data engine)."""

from __future__ import annotations

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.engine import DataEngine
from nautilus_trader.data.messages import SubscribeBars, SubscribeQuoteTicks, SubscribeTradeTicks
from nautilus_trader.model.data import BarType
from nautilus_trader.model.identifiers import InstrumentId, TraderId, Venue

from macrofund.engine.data_coverage import DataCoverage

ONE_MINUTE = "6EH4.CME-1-MINUTE-LAST-EXTERNAL"


def _bus_with(coverage: DataCoverage) -> MessageBus:
    clock = TestClock()
    msgbus = MessageBus(TraderId("TESTER-001"), clock)
    engine = DataEngine(msgbus, Cache(), clock)
    coverage.attach(msgbus, engine)
    return msgbus


def _subscribe(msgbus: MessageBus, *commands: object) -> None:
    for command in commands:
        msgbus.send("DataEngine.execute", command)


def _bars(spec: str) -> SubscribeBars:
    return SubscribeBars(BarType.from_str(spec), None, Venue("CME"), UUID4(), 0)


def test_bars_and_quotes_the_data_provides_give_no_warning() -> None:
    es = InstrumentId.from_str("ESH4.CME")
    coverage = DataCoverage([BarType.from_str(ONE_MINUTE)], [es], [])
    msgbus = _bus_with(coverage)
    _subscribe(
        msgbus,
        _bars(ONE_MINUTE),
        _bars("6EH4.CME-5-MINUTE-LAST-INTERNAL@1-MINUTE-EXTERNAL"),  # aggregated from the 1-minute bars
        _bars("ESH4.CME-1-MINUTE-MID-INTERNAL"),  # aggregated from ES quotes
        SubscribeQuoteTicks(es, None, Venue("CME"), UUID4(), 0),
    )
    assert coverage.warnings() == []


def test_each_subscription_nothing_feeds_is_named_once() -> None:
    coverage = DataCoverage([BarType.from_str(ONE_MINUTE)], [], [])
    msgbus = _bus_with(coverage)
    six_e = InstrumentId.from_str("6EH4.CME")
    _subscribe(
        msgbus,
        _bars("6EH4.CME-1-MINUTE-MID-EXTERNAL"),  # a typo: MID for LAST
        _bars("6EH4.CME-1-MINUTE-MID-EXTERNAL"),
        _bars("6EH4.CME-15-MINUTE-LAST-INTERNAL@5-MINUTE-EXTERNAL"),
        _bars("6EH4.CME-5-MINUTE-LAST-INTERNAL"),  # from trades: bar files are not trades
        SubscribeQuoteTicks(six_e, None, Venue("CME"), UUID4(), 0),
        SubscribeTradeTicks(six_e, None, Venue("CME"), UUID4(), 0),
    )
    warnings = coverage.warnings()
    assert len(warnings) == 5, warnings
    assert warnings[0].startswith(
        "a strategy subscribed to 6EH4.CME-1-MINUTE-MID-EXTERNAL bars, but no [[data]]"
    )
    assert f"in the run's period (the data there: {ONE_MINUTE})" in warnings[0]
    assert "their source bars 6EH4.CME-5-MINUTE-LAST-EXTERNAL" in warnings[1]
    assert "6EH4.CME-5-MINUTE-LAST-INTERNAL bars (built from trades)" in warnings[2]
    assert warnings[3].startswith("a strategy subscribed to quotes of 6EH4.CME")
    assert warnings[4].startswith("a strategy subscribed to trades of 6EH4.CME")
