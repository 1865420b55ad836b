"""The one assembly point: ``RunConfig`` → kernel → run outputs.

This is the only module that knows the run mode. Everything mode-independent (strategies, the recorder,
later risk and audit) is built the same way for every mode; only the kernel and venue side differ.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.core.datetime import unix_nanos_to_iso8601
from nautilus_trader.model.instruments import Instrument

from macrofund.config.run_config import RunConfig, default_run_id, utc_ns
from macrofund.engine.backtest import BacktestRun, build_backtest, prepare_backtest
from macrofund.engine.backtest_stop import SignalStop, StopRequested
from macrofund.engine.components import RunComponent
from macrofund.engine.recorder import RunRecorder
from macrofund.errors import ConfigError, MacrofundError, ModeUnavailableError
from macrofund.reports.outputs import write_json, write_rows
from macrofund.reports.summary import account_summary, build_summary, rejection_summary

ProgressFn = Callable[[float], None]

ORDER_COLUMNS = [
    "ts_init",
    "ts_last",
    "client_order_id",
    "venue_order_id",
    "strategy_id",
    "instrument_id",
    "side",
    "type",
    "time_in_force",
    "quantity",
    "filled_qty",
    "price",
    "trigger_price",
    "avg_px",
    "status",
    "reason",
    "exec_algorithm_id",
    "exec_spawn_id",
    "tags",
]
FILL_COLUMNS = [
    "ts_event",
    "trade_id",
    "client_order_id",
    "venue_order_id",
    "position_id",
    "strategy_id",
    "instrument_id",
    "account_id",
    "side",
    "quantity",
    "price",
    "currency",
    "commission",
    "commission_currency",
    "liquidity",
]
POSITION_COLUMNS = [
    "position_id",
    "strategy_id",
    "instrument_id",
    "entry",
    "status",
    "peak_qty",
    "quantity",
    "avg_px_open",
    "avg_px_close",
    "realized_pnl",
    "unrealized_pnl",
    "currency",
    "ts_opened",
    "ts_closed",
]
ACCOUNT_COLUMNS = ["ts_event", "account_id", "currency", "total", "locked", "free"]
EQUITY_COLUMNS = ["ts", "venue", "currency", "balance", "unrealized_pnl", "equity"]


@dataclass
class RunResult:
    """What a finished run produced and where."""

    run_id: str
    output_dir: Path
    summary: dict[str, Any]
    files: dict[str, Path]


def prepare_output_dir(config: RunConfig) -> tuple[str, Path]:
    """Choose the run id and create its folder; an existing run's folder is never overwritten."""
    run_id = config.run.run_id or default_run_id(config)
    root = config.run.output_dir
    if not root.is_absolute():
        root = Path.cwd() / root
    out = root / run_id
    try:
        out.mkdir(parents=True)  # atomic: of two runs started at once with one run id, one gets it
    except FileExistsError:
        raise ConfigError(f"run.run_id: output folder {out} already exists; choose another run id") from None
    return run_id, out


def run(
    config: RunConfig, on_progress: ProgressFn | None = None, paper_options: dict[str, Any] | None = None
) -> RunResult:
    """Run the configured mode to completion and write the run outputs.

    ``paper_options`` are keyword arguments of ``macrofund.engine.paper.run_paper`` (duration, console
    callbacks, stop behaviour); a backtest ignores them.
    """
    if config.run.mode == "paper":
        from macrofund.engine.paper import run_paper

        return run_paper(config, **(paper_options or {}))
    if config.run.mode == "live":
        from macrofund.engine.live import run_live

        return run_live(config, **(paper_options or {}))
    if config.run.mode != "backtest":
        raise ModeUnavailableError(f"--mode {config.run.mode} is not a mode (backtest, paper, live)")
    started = time.perf_counter()
    inputs = prepare_backtest(config)
    run_id, out = prepare_output_dir(config)
    write_json(config.shareable_dump(), out / "config.json")
    try:
        built = build_backtest(config, inputs, run_id, out, on_progress)
    except BaseException:
        # Nothing ran (a venue, fill model or database could not be set up): leave no half-made run
        # behind, so the same run id can be used once the problem is fixed.
        shutil.rmtree(out, ignore_errors=True)
        raise
    try:
        # Explicit bounds: with streamed data the engine cannot know where the data starts, and would
        # start its clock (and every timer) at the epoch.
        start = utc_ns(config.run.start) if config.run.start else inputs.start_ns
        end = utc_ns(config.run.end) if config.run.end else inputs.end_ns
        engine_started = time.perf_counter()
        error, interrupted = _run_engine(built.engine, start, end, built.stop)
        engine_seconds = time.perf_counter() - engine_started
        end_ts = built.engine.kernel.clock.timestamp_ns()
        built.recorder.finalize(end_ts)
        for component in built.components:
            component.on_run_end(end_ts)
        # A run stopped early (a handler's error, a signal) covers the period up to where it stopped;
        # one that failed as it started, before the first data point, an empty period (not a negative).
        end_ns = inputs.end_ns if error is None else max(min(end_ts, inputs.end_ns), inputs.start_ns)
        elapsed = time.perf_counter() - started
        return _write_outputs(config, built, run_id, out, elapsed, engine_seconds, end_ns, error, interrupted)
    finally:
        for component in built.components:
            component.close()
        built.engine.dispose()


def _run_engine(engine: Any, start: int, end: int, stop: SignalStop) -> tuple[str | None, str | None]:
    """Run the backtest: ``(error, name of the signal that stopped it)``.

    An exception escaping a handler (a strategy's, say) stops it where it happened, as it stops a paper
    or live node (``macrofund.engine.paper``): the engine is ended so the run's outputs can be written,
    and the error is returned for the summary and the exit code. Ctrl-C or SIGTERM stops it the same
    way, between two data points (``macrofund.engine.backtest_stop``): an hour-long backtest stopped at
    minute 40 keeps its 40 minutes of outputs, summary and sealed audit trail."""
    try:
        with stop.installed():
            engine.run(start=start, end=end)
    except MacrofundError:
        raise  # ours (the audit trail failed, say): already one clear line, handled by the caller
    except KeyboardInterrupt:
        # The second Ctrl-C: abandoned mid-step. Ended (not only disposed, which Nautilus refuses for a
        # running engine with two InvalidStateTrigger errors); no outputs are written.
        engine.end()
        print("abandoned: no outputs written (the audit trail keeps what was sealed)", file=sys.stderr)
        raise
    except StopRequested as request:
        when = unix_nanos_to_iso8601(engine.kernel.clock.timestamp_ns())
        engine.end()
        verb = "interrupted" if request.signal_name == "SIGINT" else f"stopped by {request.signal_name}"
        return f"{verb} at {when} (simulated time): the outputs hold the run up to then", request.signal_name
    except Exception as exc:
        when = unix_nanos_to_iso8601(engine.kernel.clock.timestamp_ns())
        engine.end()
        return f"the run stopped at {when}: {exc!r} escaped a handler (its traceback is in the log)", None
    return None, None


def _write_outputs(
    config: RunConfig,
    built: BacktestRun,
    run_id: str,
    out: Path,
    elapsed: float,
    engine_seconds: float,
    end_ns: int,
    error: str | None = None,
    interrupted: str | None = None,
) -> RunResult:
    return write_run_outputs(
        config,
        built.recorder,
        built.components,
        built.inputs.instruments,
        run_id,
        out,
        built.inputs.start_ns,
        end_ns,
        extra={
            "data_points": built.inputs.data_count,
            "elapsed_seconds": round(elapsed, 3),
            "engine_seconds": round(engine_seconds, 3),
            "cache_purges": built.recorder.purges,
            "output_dir": str(out),
            **({"error": error} if error is not None else {}),
            **({"interrupted_by": interrupted} if interrupted else {}),
            **({"warnings": warnings} if (warnings := built.coverage.warnings()) else {}),
        },
    )


def write_run_outputs(
    config: RunConfig,
    rec: RunRecorder,
    components: list[RunComponent],
    instruments: dict[str, Instrument],
    run_id: str,
    out: Path,
    start_ns: int,
    end_ns: int,
    extra: dict[str, Any],
) -> RunResult:
    """Write the run files and ``summary.json`` from a recorder and components (every mode)."""
    files = {
        "orders": write_rows(rec.orders, out / "orders.parquet", ORDER_COLUMNS),
        "fills": write_rows(rec.fills, out / "fills.parquet", FILL_COLUMNS),
        "positions": write_rows(rec.positions, out / "positions.parquet", POSITION_COLUMNS),
        "accounts": write_rows(rec.accounts, out / "accounts.parquet", ACCOUNT_COLUMNS),
        "equity": write_rows(rec.equity, out / "equity.parquet", EQUITY_COLUMNS),
    }
    accounts = []
    for venue in config.venues:
        amount, currency = venue.starting_balances[0].replace("_", "").split()
        accounts.append(
            account_summary(
                venue.name,
                currency,
                Decimal(amount),
                rec.fills,
                rec.orders,
                rec.positions,
                rec.equity,
                instruments,
            )
        )
    summary = build_summary(run_id, config.run.mode, start_ns, end_ns, accounts, extra=extra)
    rejections = rejection_summary(rec.orders)
    if rejections is not None:
        summary["rejections"] = rejections
    for component in components:
        files.update(component.write_outputs(out))
        section = component.summary()
        if section is not None:
            summary[component.name] = section
    files["summary"] = write_json(summary, out / "summary.json")
    files["config"] = out / "config.json"
    return RunResult(run_id=run_id, output_dir=out, summary=summary, files=files)
