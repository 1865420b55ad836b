"""Market data the strategies subscribed to that no configured source provides (a backtest).

A typo in a strategy's ``bar_type`` (``MID`` for ``LAST``, another contract month) or an instrument
listed without a ``[[data]]`` entry used to give a run that silently never traded: the subscription is
accepted, no bar ever arrives, and the summary is all zeros. The subscriptions pass the data engine's
``DataEngine.execute`` endpoint, so they are recorded there and compared with the data at the end;
each one nothing could feed becomes a warning in the summary and on the console.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nautilus_trader.data.messages import SubscribeBars, SubscribeQuoteTicks, SubscribeTradeTicks
from nautilus_trader.model.data import Bar, BarType, QuoteTick, TradeTick
from nautilus_trader.model.enums import PriceType

ENDPOINT = "DataEngine.execute"


class DataCoverage:
    """What the data sources provide, and the subscriptions none of them can feed."""

    def __init__(
        self, bar_types: Iterable[BarType], quote_ids: Iterable[Any], objects: Iterable[Any]
    ) -> None:
        """``bar_types`` and ``quote_ids`` of the file streams; ``objects``: catalog data, any type."""
        self._bars = {str(b) for b in bar_types}
        self._quotes = {str(i) for i in quote_ids}
        self._trades: set[str] = set()
        for obj in objects:
            kind = type(obj)
            if kind is Bar:
                self._bars.add(str(obj.bar_type))
            elif kind is QuoteTick:
                self._quotes.add(str(obj.instrument_id))
            elif kind is TradeTick:
                self._trades.add(str(obj.instrument_id))
        self._missing: dict[str, None] = {}  # insertion-ordered set

    def attach(self, msgbus: Any, data_engine: Any) -> None:
        """Record every subscription on its way to the data engine (before any strategy starts)."""
        forward = data_engine.execute
        msgbus.deregister(ENDPOINT, forward)

        def execute(command: Any) -> None:
            kind = type(command)
            if kind is SubscribeBars:
                self._check_bars(command.bar_type)
            elif kind is SubscribeQuoteTicks:
                self._check_quotes(str(command.instrument_id), f"quotes of {command.instrument_id}")
            elif kind is SubscribeTradeTicks:
                self._check_trades(str(command.instrument_id), f"trades of {command.instrument_id}")
            forward(command)

        msgbus.register(ENDPOINT, execute)

    def warnings(self) -> list[str]:
        """One sentence per subscription no source feeds, in the order they were made."""
        return list(self._missing)

    def _provided(self) -> str:
        return ", ".join(sorted(self._bars | {f"quotes of {q}" for q in self._quotes})) or "none"

    def _note(self, what: str, needs: str) -> None:
        self._missing[
            f"a strategy subscribed to {what}, but no [[data]] source provides {needs} in the run's "
            f"period (the data there: {self._provided()}); it received nothing"
        ] = None

    def _check_bars(self, bar_type: BarType) -> None:
        if bar_type.is_externally_aggregated():
            if str(bar_type) not in self._bars:
                self._note(f"{bar_type} bars", "them")
            return
        if bar_type.is_composite():  # built from other bars, e.g. 5-MINUTE-...-INTERNAL@1-MINUTE-EXTERNAL
            source = bar_type.composite()
            if str(source) not in self._bars:
                self._note(f"{bar_type} bars", f"their source bars {source}")
            return
        instrument = str(bar_type.instrument_id)
        if bar_type.spec.price_type == PriceType.LAST:
            self._check_trades(instrument, f"{bar_type} bars (built from trades)")
        else:
            self._check_quotes(instrument, f"{bar_type} bars (built from quotes)")

    def _check_quotes(self, instrument: str, what: str) -> None:
        if instrument not in self._quotes:
            self._note(what, f"quotes of {instrument}")

    def _check_trades(self, instrument: str, what: str) -> None:
        if instrument not in self._trades:
            self._note(what, f"trades of {instrument}")
