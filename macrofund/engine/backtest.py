"""Build and run a Nautilus ``BacktestEngine`` from a ``RunConfig``.

Only ``macrofund.engine.assembly`` calls this; strategies, risk and audit never know which mode they run in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, RiskEngineConfig
from nautilus_trader.core.datetime import unix_nanos_to_iso8601
from nautilus_trader.model.currencies import Currency
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import InstrumentId, TraderId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.trading.strategy import Strategy

from macrofund.adapters.files import BarColumns, QuoteColumns, load_catalog, read_bars, read_quotes
from macrofund.config.run_config import DataConfig, RunConfig, utc_ns
from macrofund.engine.backtest_stop import SignalStop
from macrofund.engine.components import KernelHandle, RunComponent, install_components
from macrofund.engine.data_coverage import DataCoverage
from macrofund.engine.loading import add_strategies, build_strategy
from macrofund.engine.recorder import RunRecorder, RunRecorderConfig
from macrofund.errors import DataError
from macrofund.strategies.execution import default_exec_algorithms
from macrofund.venues.contracts import futures_contract
from macrofund.venues.fees import ContractFeeModel
from macrofund.venues.sim import build_fill_model

ProgressFn = Callable[[float], None]


@dataclass
class BacktestRun:
    """A built engine plus what the run outputs need from it."""

    engine: BacktestEngine
    recorder: RunRecorder
    inputs: BacktestInputs
    components: list[RunComponent]
    stop: SignalStop
    coverage: DataCoverage


def logging_config(level: str) -> LoggingConfig:
    """``OFF`` bypasses Nautilus's logger entirely: filtered logging still costs time per event."""
    if level == "OFF":
        return LoggingConfig(log_level="ERROR", bypass_logging=True)
    return LoggingConfig(log_level=level, log_colors=False)


def build_instruments(config: RunConfig, reference: date | None = None) -> dict[str, Instrument]:
    """Instruments by id; a 1-digit contract year (``ESZ4``) is the first one >= the year of the run's
    start, else of ``reference`` (a backtest's first data day), else of today (paper and live)."""
    if config.run.start:
        reference = config.run.start.date()
    return {i.id: futures_contract(i.id, reference=reference) for i in config.instruments}


# Bars/quotes handed to the engine per pull of a file stream: small enough that a long run never
# holds more than a slice of its data as Nautilus objects, large enough that pulls cost nothing.
STREAM_CHUNK = 50_000

DataColumns = BarColumns | QuoteColumns


def read_market_data(config: RunConfig, instruments: dict[str, Instrument]) -> tuple[list[DataColumns], list]:
    """Every configured source, validated and filtered to the run's time range before anything runs.

    Files come back as compact columns to be streamed into the engine; catalog data as objects.
    """
    start_ns = utc_ns(config.run.start) if config.run.start else None
    end_ns = utc_ns(config.run.end) if config.run.end else None
    streams: list[DataColumns] = []
    objects: list = []
    for entry in config.data:
        read = _read_entry(config, entry, instruments, start_ns, end_ns)
        if isinstance(read, list):
            objects.extend(read)
        elif len(read):
            streams.append(read)
    if not streams and not objects:
        raise DataError(_no_data_sentence(config, instruments, start_ns, end_ns))
    return streams, objects


def _read_entry(
    config: RunConfig,
    entry: DataConfig,
    instruments: dict[str, Instrument],
    start_ns: int | None,
    end_ns: int | None,
) -> DataColumns | list:
    """One ``[[data]]`` source in the time window: columns for a file, objects for a catalog."""
    path = config.resolve(entry.path)
    if entry.kind == "catalog":
        ids = [entry.instrument_id] if entry.instrument_id else list(instruments)
        wanted = [InstrumentId.from_str(i) for i in ids]
        return load_catalog(path, wanted, start_ns=start_ns, end_ns=end_ns)
    assert entry.instrument_id is not None  # validated by DataConfig
    instrument = instruments[entry.instrument_id]
    if entry.kind == "bars":
        bar_type = BarType.from_str(f"{entry.instrument_id}-{entry.bar_spec}-EXTERNAL")
        return read_bars(
            path,
            instrument,
            bar_type,
            price_scale=entry.price_scale,
            start_ns=start_ns,
            end_ns=end_ns,
            timestamp_is_open=entry.timestamp_is_open,
        )
    return read_quotes(path, instrument, price_scale=entry.price_scale, start_ns=start_ns, end_ns=end_ns)


def _no_data_sentence(
    config: RunConfig, instruments: dict[str, Instrument], start_ns: int | None, end_ns: int | None
) -> str:
    """Why nothing is left to run on: the window asked for, and what each source holds (read again
    without the window; only on this error path)."""
    window = f"{_iso_or(start_ns, 'the start of the data')} to {_iso_or(end_ns, 'its end')}"
    held = []
    for entry in config.data:
        read = _read_entry(config, entry, instruments, None, None)
        stamps = [d.ts_init for d in read] if isinstance(read, list) else read.ts
        held.append(
            f"{entry.path} holds {_iso_or(int(stamps[0]), '')} to {_iso_or(int(stamps[-1]), '')}"
            if len(stamps)
            else f"{entry.path} holds nothing"
        )
    return f"no market data from {window} ([run] start/end, --start/--end): " + "; ".join(held)


def _iso_or(ns: int | None, otherwise: str) -> str:
    return otherwise if ns is None else unix_nanos_to_iso8601(ns)


def _chunks(columns: DataColumns) -> Iterator[list]:
    for start in range(0, len(columns), STREAM_CHUNK):
        yield columns.build(start, start + STREAM_CHUNK)


@dataclass
class BacktestInputs:
    """Everything validated before a run folder exists: a bad input never leaves a half-made run."""

    instruments: dict[str, Instrument]
    streams: list[DataColumns]
    objects: list
    strategies: list[Strategy]
    start_ns: int
    end_ns: int

    @property
    def data_count(self) -> int:
        return len(self.objects) + sum(len(c) for c in self.streams)


def prepare_backtest(config: RunConfig) -> BacktestInputs:
    """Build instruments and strategies and validate all data (nothing is started)."""
    instruments = build_instruments(config)
    streams, objects = read_market_data(config, instruments)
    firsts = [int(c.ts[0]) for c in streams] + [d.ts_init for d in objects[:1]]
    if config.run.start is None:
        # Without [run] start, "today" would make ESZ4 the 2034 contract for 2022 data, and every order
        # a rejection (not yet listed). The data's first day is the backtest's "today". Prices are read
        # the same for any year of a root (tick, precision), so the data need not be read again.
        first_day = datetime.fromtimestamp(min(firsts) // 1_000_000_000, tz=UTC).date()
        instruments = build_instruments(config, reference=first_day)
    strategies = [
        build_strategy(s.path, s.config, s.config_class, config.source.parent if config.source else None)
        for s in config.strategies
    ]
    lasts = [int(c.ts[-1]) for c in streams] + [d.ts_init for d in objects[-1:]]
    return BacktestInputs(instruments, streams, objects, strategies, min(firsts), max(lasts))


def build_backtest(
    config: RunConfig,
    inputs: BacktestInputs,
    run_id: str,
    output_dir: Path,
    on_progress: ProgressFn | None = None,
) -> BacktestRun:
    """Assemble the engine: components, venues, instruments, data, recorder, algorithms, strategies."""
    engine = BacktestEngine(
        config=BacktestEngineConfig(
            trader_id=TraderId(config.run.trader_id),
            logging=logging_config(config.run.log_level),
            risk_engine=RiskEngineConfig(
                # Nautilus's own throttle, the same in every mode (docs/risk.md)
                max_order_submit_rate=config.risk.engine_max_order_submit_rate,
                max_order_modify_rate=config.risk.engine_max_order_modify_rate,
            ),
        )
    )
    handle = KernelHandle(
        kernel=engine.kernel, config=config, run_id=run_id, output_dir=output_dir, add_actor=engine.add_actor
    )
    # Before venues: the audit trail must see the accounts' first states (1.221 wildcard-subscription bug).
    components = install_components(handle)
    coverage = DataCoverage(
        [c.bar_type for c in inputs.streams if isinstance(c, BarColumns)],
        [c.instrument_id for c in inputs.streams if isinstance(c, QuoteColumns)],
        inputs.objects,
    )
    coverage.attach(engine.kernel.msgbus, engine.kernel.data_engine)
    try:
        for venue in config.venues:
            engine.add_venue(
                venue=Venue(venue.name),
                oms_type=OmsType[venue.oms_type],
                account_type=AccountType[venue.account_type],
                starting_balances=[Money.from_str(b.replace("_", "")) for b in venue.starting_balances],
                base_currency=Currency.from_str(venue.base_currency) if venue.base_currency else None,
                fill_model=build_fill_model(venue, inputs.instruments),
                fee_model=ContractFeeModel(fees=dict(venue.fees)),
                bar_execution=venue.bar_execution,
            )
        for instrument in inputs.instruments.values():
            engine.add_instrument(instrument)
        if inputs.objects:
            engine.add_data(inputs.objects)
        for n, columns in enumerate(inputs.streams):
            engine.add_data_iterator(f"macrofund-data-{n}", _chunks(columns))

        start_ns, span = inputs.start_ns, max(inputs.end_ns - inputs.start_ns, 1)
        stop = SignalStop()

        def progress(ts: int) -> None:
            # The recorder's equity timer, between two data points: where a stop signal takes effect.
            stop.check()
            if on_progress is not None:
                on_progress(min(max((ts - start_ns) / span, 0.0), 1.0))

        recorder = RunRecorder(
            RunRecorderConfig(
                equity_interval_secs=config.run.equity_interval.total_seconds(),
                purge_interval_secs=config.run.purge_interval.total_seconds(),
            ),
            venues=[Venue(v.name) for v in config.venues],
            on_progress=progress,
        )
        engine.add_actor(recorder)
        for algorithm in default_exec_algorithms():
            engine.add_exec_algorithm(algorithm)
        add_strategies(engine.add_strategy, inputs.strategies, str(config.source or "run config"))
    except BaseException:
        for component in components:
            component.close()
        engine.dispose()
        raise
    return BacktestRun(
        engine=engine, recorder=recorder, inputs=inputs, components=components, stop=stop, coverage=coverage
    )
