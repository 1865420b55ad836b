"""The ``macrofund`` command. Presentation (tables, progress bars, one-line errors) lives here only.

Subcommands live in modules of this package that define ``register(app)``; they are found at start-up,
so adding a command never means editing this file. Modules import heavy dependencies inside commands.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from macrofund.config.run_config import load_run_config, parse_override
from macrofund.errors import MacrofundError

app = typer.Typer(
    name="macrofund",
    help="Simulation-first trading engine for macro futures on B3 and CME (NautilusTrader).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts quote TOML keys like [venues.fees]: print them as written
)
console = Console()
err_console = Console(stderr=True)
# A backtest stopped by a signal keeps its outputs but exits as the shell expects of that signal.
SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


@app.callback()
def _root() -> None:
    """Simulation-first trading engine for macro futures on B3 and CME (NautilusTrader)."""


def default_config_path() -> Path:
    """The packaged default run: the CME 6E March-2024 1-minute sample with the EMA cross."""
    return Path(str(resources.files("macrofund") / "sample_data" / "default-backtest.toml"))


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, no traceback, non-zero exit."""
    err_console.print("[bold red]error:[/] ", end="")
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def note(message: str) -> None:
    """One plain line on stderr: what a command chose for the user (stdout stays data for csv/json)."""
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


def _iso(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{flag} {value!r} is not an ISO date/time such as 2024-01-02 or 2024-01-02T13:30:00Z")
    return value


def _cli_overrides(
    mode: str | None,
    run_id: str | None,
    output_dir: Path | None,
    start: str | None,
    end: str | None,
    log_level: str | None,
    strategy: str | None,
    strategy_config: str | None,
    data: list[Path] | None,
    instrument: list[str] | None,
) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if mode is not None:
        overrides["run.mode"] = mode
    if run_id is not None:
        overrides["run.run_id"] = run_id
    if output_dir is not None:
        overrides["run.output_dir"] = str(output_dir.resolve())
    if start is not None:
        overrides["run.start"] = _iso(start, "--start")
    if end is not None:
        overrides["run.end"] = _iso(end, "--end")
    if log_level is not None:
        overrides["run.log_level"] = log_level.upper()
    if strategy is not None or strategy_config is not None:
        cfg: dict[str, Any] = {}
        if strategy_config is not None:
            try:
                cfg = json.loads(strategy_config)
            except json.JSONDecodeError as exc:
                fail(f"--strategy-config is not valid JSON: {exc}")
            if not isinstance(cfg, dict):
                fail("--strategy-config must be a JSON object")
        overrides["__strategy__"] = (strategy, cfg)
    if data:
        overrides["__data__"] = [str(p.resolve()) for p in data]
    if instrument:
        overrides["__instruments__"] = instrument
    return overrides


def _apply_structural(raw_path: Path, overrides: dict[str, Any]) -> list[tuple[str, Any]]:
    """Turn --strategy/--data/--instrument into --set style overrides on the raw TOML."""
    import tomllib

    try:
        raw = tomllib.loads(raw_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raw = {}  # load_run_config reports the problem with the file's name
    sets: list[tuple[str, Any]] = []
    if "__strategy__" in overrides:
        path, cfg = overrides.pop("__strategy__")
        strategies = raw.get("strategies") or [{}]
        first = dict(strategies[0])
        if path is not None:
            first["path"] = _abs_strategy(path)
            first.pop("config_class", None)
            first["config"] = cfg
        else:
            first["config"] = {**first.get("config", {}), **cfg}
        sets.append(("strategies", [first]))
    if "__data__" in overrides:
        files = overrides.pop("__data__")
        entries = raw.get("data") or []
        if len(entries) != 1:
            fail("--data replaces the data file of a config with exactly one [[data]] entry")
        sets.append(("data", [{**entries[0], "path": f} for f in files]))
    if "__instruments__" in overrides:
        sets.append(("instruments", [{"id": i} for i in overrides.pop("__instruments__")]))
    return sets


def _abs_strategy(path: str) -> str:
    module_part, _, name = path.rpartition(":")
    if module_part.endswith(".py") or "/" in module_part:
        return f"{Path(module_part).resolve()}:{name}"
    return path


def _summary_table(summary: dict[str, Any]) -> Table:
    accounts = summary["accounts"]
    table = Table(title_justify="left")
    table.add_column("", style="bold")
    for account in accounts:
        table.add_column(f"{account['venue']} ({account['currency']})", justify="right")

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f}%"

    def money(value: str) -> str:
        return f"{float(value):,.2f}" if value is not None else "n/a"

    rows: list[tuple[str, Any]] = [
        ("Orders", lambda a: str(a["orders"])),
        ("Rejected by the venue", lambda a: str(a["rejected"])),
        ("Fills", lambda a: str(a["fills"])),
        ("Starting balance", lambda a: money(a["starting_balance"])),
        ("Realised P&L (before fees)", lambda a: money(a["realised_pnl"])),
        ("Fees", lambda a: money(a["fees"])),
        ("Unrealised P&L", lambda a: money(a["unrealised_pnl"])),
        ("Net P&L", lambda a: money(a["net_pnl"])),
        ("Final equity", lambda a: money(a["final_equity"])),
        ("Return", lambda a: pct(a["return"])),
        ("Sharpe (daily, ann.)", lambda a: "n/a" if a["sharpe"] is None else f"{a['sharpe']:.2f}"),
        ("Max drawdown", lambda a: pct(a["max_drawdown"])),
        ("Turnover (notional)", lambda a: money(a["turnover_notional"])),
        ("Turnover (× equity)", lambda a: f"{a['turnover']:.2f}"),
    ]
    table.caption = f"{summary['data_points']:,} data points in {summary['elapsed_seconds']:.1f} s"
    table.caption_justify = "left"
    for label, fmt in rows:
        table.add_row(label, *[fmt(a) for a in accounts])
    return table


@app.command()
def run(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Run config TOML (default: the packaged 6E sample).")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="backtest | paper | live (overrides run.mode).")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id; outputs go to <output-dir>/<run-id>/.")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="Folder for run outputs (default: ./runs).")] = None,
    start: Annotated[str | None, typer.Option(help="Start of the time range (ISO, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="End of the time range (ISO, UTC).")] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG | INFO | WARNING | ERROR | OFF.")] = None,
    strategy: Annotated[
        str | None, typer.Option(help="Replace the strategy: 'pkg.module:Class' or 'file.py:Class'.")
    ] = None,
    strategy_config: Annotated[
        str | None, typer.Option(help="Strategy config as a JSON object (merged if --strategy is not given).")
    ] = None,
    data: Annotated[list[Path] | None, typer.Option(help="Replace the data file(s) of the config.")] = None,
    instrument: Annotated[
        list[str] | None, typer.Option(help="Replace the instruments (repeatable).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override any key: --set venues.0.fees.ES=1.5 (TOML value)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="PostgreSQL DSN: also persist the run's orders, fills, positions."),
    ] = None,
    audit_db: Annotated[
        str | None, typer.Option("--audit-db", help="PostgreSQL DSN: also write the audit trail there.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    duration: Annotated[
        str | None, typer.Option(help="Paper: stop after this long (90s, 5m, 1h); default: until Ctrl-C.")
    ] = None,
    on_stop: Annotated[
        str, typer.Option(help="Paper: on stop, 'cancel' working orders or 'leave' them to the strategies.")
    ] = "cancel",
) -> None:
    """Run a backtest, a paper session or a live session and write its outputs."""
    config_path = config or default_config_path()
    try:
        overrides = _cli_overrides(
            mode, run_id, output_dir, start, end, log_level, strategy, strategy_config, data, instrument
        )
        if db is not None:
            overrides["storage.database_url"] = db
        if audit_db is not None:
            overrides["audit.database_url"] = audit_db
        structural = _apply_structural(config_path, overrides)
        raw_sets = structural + [parse_override(s) for s in set_ or []]
        run_config = load_run_config(config_path, overrides, raw_sets)
        if run_config.run.mode in ("paper", "live"):
            result = _run_paper(run_config, duration, on_stop, quiet)
        else:
            result = _run_with_progress(run_config, quiet)
    except MacrofundError as exc:
        fail(str(exc))
    _print_result(result)
    if result.summary.get("error"):
        # Outputs are written (the run stopped in order), but it did not end the way it was asked to.
        signal_name = result.summary.get("interrupted_by")
        fail(str(result.summary["error"]), code=SIGNAL_EXIT_CODES.get(signal_name, 1))


def _run_paper(run_config: Any, duration: str | None, on_stop: str, quiet: bool) -> Any:
    """Paper mode: the live console view instead of the progress bar; stops on --duration or a signal."""
    from macrofund.cli.live_view import LiveView
    from macrofund.config.run_config import parse_duration
    from macrofund.engine.assembly import run as run_engine

    if on_stop not in ("cancel", "leave"):
        fail(f"--on-stop {on_stop!r}: expected 'cancel' or 'leave'")
    limit = None
    if duration is not None:
        try:
            limit = parse_duration(duration)
        except ValueError as exc:
            fail(f"--duration: {exc}")
    with LiveView(console, enabled=not quiet) as view:
        options = {
            "duration": limit,
            "on_status": view.update,
            "on_notice": view.notice,
            "cancel_on_stop": on_stop == "cancel",
        }
        return run_engine(run_config, paper_options=options)


def _run_with_progress(run_config: Any, quiet: bool) -> Any:
    """Backtest: a progress bar over sim time."""
    from macrofund.engine.assembly import run as run_engine

    show_progress = not quiet and console.is_terminal
    with Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}% of sim time"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show_progress,
    ) as progress:
        task = progress.add_task("loading and checking data", total=1.0)

        def on_progress(fraction: float) -> None:
            progress.update(task, completed=fraction, description=run_config.run.mode)

        return run_engine(run_config, on_progress=on_progress)


def _print_result(result: Any) -> None:
    summary = result.summary
    console.print(
        f"[bold]Run {summary['run_id']}[/] ({summary['mode']}) "
        f"{summary['period']['start']} → {summary['period']['end']}",
        highlight=False,
    )
    console.print(_summary_table(summary))
    _print_sections(summary)
    console.print(
        f"Outputs: [bold]{result.output_dir}[/] (summary.json, orders/fills/positions/equity .parquet)"
    )
    for warning in summary.get("warnings", []):
        err_console.print("[bold yellow]warning:[/] ", end="")
        err_console.print(warning, markup=False, highlight=False, soft_wrap=True)


def _print_sections(summary: dict[str, Any]) -> None:
    """Component sections of the summary (risk, audit, execution...), printed exactly as saved."""
    for name, section in summary.items():
        if not isinstance(section, dict) or name in ("period",):
            continue
        table = Table(title=name.replace("_", " ").capitalize(), title_justify="left", show_header=False)
        table.add_column("", style="bold")
        table.add_column("", justify="right")
        for key, value in section.items():
            shown = json.dumps(value) if isinstance(value, dict | list) else str(value)
            table.add_row(key.replace("_", " "), shown)
        console.print(table)


def _register_subcommands() -> None:
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_subcommands()


def main() -> None:
    """Entry point used by ``python -m macrofund``."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
