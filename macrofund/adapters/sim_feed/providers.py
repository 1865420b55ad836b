"""Instruments for the feed clients: Nautilus contracts from our specs, and the simulator's view of them."""

from __future__ import annotations

from collections.abc import Iterable

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.model.identifiers import InstrumentId

from macrofund.adapters.sim_feed.config import DEFAULT_START_PRICES, SimFeedSettings, SimInstrumentSettings
from macrofund.adapters.sim_feed.gbm import GbmParameters, SimInstrument
from macrofund.venues.contracts import ContractSpec, futures_contract, spec_for_symbol
from macrofund.venues.sessions import TradingSession


class ContractInstrumentProvider(InstrumentProvider):
    """Builds ``FuturesContract``s for instrument ids from macrofund's contract specs (no venue query)."""

    async def load_all_async(self, filters: dict | None = None) -> None:
        """Load the ids named in ``InstrumentProviderConfig.load_ids`` (there is no venue list to load)."""
        await self.load_ids_async([InstrumentId.from_str(str(i)) for i in self._load_ids_on_start or ()])

    async def load_ids_async(self, instrument_ids: list[InstrumentId], filters: dict | None = None) -> None:
        """Add a contract per id."""
        for instrument_id in instrument_ids:
            await self.load_async(instrument_id, filters)

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        """Add the contract for one id (``UnknownInstrumentError`` if macrofund has no spec for it)."""
        self.add(futures_contract(instrument_id))


def session_day_seconds(session: TradingSession) -> float:
    """Length of the session's longest weekly window in seconds: one trading day of trading time."""
    longest = 0
    for window in session.windows:
        open_s = window.open_time.hour * 3600 + window.open_time.minute * 60 + window.open_time.second
        close_s = window.close_time.hour * 3600 + window.close_time.minute * 60 + window.close_time.second
        longest = max(longest, window.days_to_close() * 86_400 + close_s - open_s)
    return float(longest)


def _override(settings: SimFeedSettings, instrument_id: str, spec: ContractSpec) -> SimInstrumentSettings:
    # An instrument id beats its root: ["ESZ6.CME"] over ["ES"].
    by_id = settings.instruments.get(instrument_id)
    by_root = settings.instruments.get(spec.root)
    merged: dict[str, object] = {}
    for source in (by_root, by_id):
        if source is not None:
            merged.update(source.model_dump(exclude_none=True))
    return SimInstrumentSettings.model_validate(merged)


def sim_instruments(instrument_ids: Iterable[str], settings: SimFeedSettings) -> list[SimInstrument]:
    """The simulator's instruments for ``ESZ6.CME``-style ids (``UnknownInstrumentError`` if unknown)."""
    out: list[SimInstrument] = []
    for instrument_id in instrument_ids:
        contract = futures_contract(instrument_id)  # validates the id, the root and the venue
        spec = spec_for_symbol(contract.id.symbol.value)
        override = _override(settings, instrument_id, spec)
        start = override.start_price or DEFAULT_START_PRICES.get(spec.root, spec.tick_size * 1000)
        # Snap the start to the grid so the first quote is where the user said (within half a tick).
        start = max(spec.tick_size, (start / spec.tick_size).to_integral_value() * spec.tick_size)
        out.append(
            SimInstrument(
                instrument_id=str(contract.id),
                tick_size=spec.tick_size,
                start_price=start,
                volatility=override.volatility if override.volatility is not None else settings.volatility,
                spread_ticks=override.spread_ticks or settings.spread_ticks,
                session=spec.session,
                day_seconds=session_day_seconds(spec.session),
            )
        )
    return out


def gbm_parameters(settings: SimFeedSettings, rate: float | None = None) -> GbmParameters:
    """The process parameters of ``settings`` (``rate`` overrides the configured one)."""
    return GbmParameters(
        seed=settings.seed,
        rate=rate if rate is not None else settings.rate,
        drift=settings.drift,
        max_size=settings.max_size,
        jumps_per_day=settings.jumps_per_day,
        jump_mean=settings.jump_mean,
        jump_std=settings.jump_std,
        seasonality=settings.seasonality,
        trade_probability=settings.trade_probability,
        ignore_sessions=settings.ignore_sessions,
    )
