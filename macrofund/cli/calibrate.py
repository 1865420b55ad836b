"""``macrofund calibrate``: suggest Almgren-Chriss fill-model parameters for a contract from its bars."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``calibrate`` command to the ``macrofund`` app."""
    app.command()(calibrate)


def calibrate(
    data: Annotated[
        Path, typer.Option("--data", help="Bar file (CSV, CSV.gz, Parquet) with a volume column.")
    ],
    instrument: Annotated[
        str, typer.Option("--instrument", help="Instrument id, e.g. ESH4.CME or WINZ26.B3.")
    ],
    format_: Annotated[
        str, typer.Option("--format", help="toml (paste into a run config) or json.")
    ] = "toml",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the snippet here instead of stdout.")
    ] = None,
    spread_ticks: Annotated[
        float, typer.Option("--spread-ticks", help="Typical bid/ask spread in ticks (epsilon = half of it).")
    ] = 1.0,
) -> None:
    """Estimate daily sigma and volume from bars; print impact parameters for [venues.fill_model.impact]."""
    from rich.console import Console
    from rich.table import Table

    from macrofund.cli import console, fail
    from macrofund.errors import MacrofundError
    from macrofund.venues.sim.calibration import calibrate as run_calibration
    from macrofund.venues.sim.calibration import render_json, render_toml

    if format_ not in ("toml", "json"):
        fail(f"--format {format_!r}: expected toml or json")
    if not data.is_file():
        fail(f"--data {data}: file not found")
    try:
        result = run_calibration(data, instrument, spread_ticks)
    except MacrofundError as exc:
        fail(str(exc))
    snippet = render_toml(result) if format_ == "toml" else render_json(result)

    est, params = result.estimates, result.params
    table = Table(title=f"{result.instrument_id} from {data.name}", title_justify="left")
    table.add_column("estimate", style="bold")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_row("trading days used", f"{est.days}", f"of {params.trading_day_hours:g} h")
    table.add_row(
        "bars used", f"{est.bars:,}", "daily bars" if est.daily_bars else f"{est.bars_per_day:.0f}/day"
    )
    table.add_row("daily sigma", f"{est.daily_sigma:.6g}", "price / sqrt(day)")
    table.add_row("daily volume", f"{est.daily_volume:,.0f}", "contracts / day")
    table.add_row("eta", f"{params.eta:.6g}", f"beta = {params.beta:g}")
    table.add_row("gamma", f"{params.gamma:.6g}", f"alpha = {params.alpha:g}")
    table.add_row("epsilon", f"{params.epsilon:.6g}", f"half of {spread_ticks:g} tick(s)")

    if out is None:
        # The snippet alone goes to stdout (pipe-friendly); the table to stderr.
        Console(stderr=True).print(table)
        typer.echo(snippet, nl=False)
        return
    try:
        out.write_text(snippet, encoding="utf-8")
    except OSError as exc:
        fail(f"--out {out}: cannot write: {exc.strerror or exc}")
    console.print(table)
    console.print(f"Wrote {out}: paste it under a [[venues]] entry of your run config.", markup=False)
