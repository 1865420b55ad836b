"""``macrofund order-ticket``: JSON-line orders on stdin through the live path, events on stdout.

Presentation only: one JSON object per line on stdout (flushed per line, so a certification script
can wait for each answer), one-line ``error:`` on stderr and exit code 2 for a bad config or flag. The
ticket itself is ``macrofund.engine.order_ticket``; the protocol is docs/order-ticket.md.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    """Add the ``order-ticket`` command to the ``macrofund`` app."""
    app.command("order-ticket")(order_ticket)


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def order_ticket(
    venue: Annotated[str, typer.Option(help="b3 | cme: the [[venues]] entry of the config to trade at.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Live run config TOML ([venues.fix]).")],
    host: Annotated[str | None, typer.Option(help="FIX host (overrides [venues.fix.session]).")] = None,
    port: Annotated[int | None, typer.Option(help="FIX port.")] = None,
    sender_comp_id: Annotated[str | None, typer.Option(help="SenderCompID (49).")] = None,
    target_comp_id: Annotated[str | None, typer.Option(help="TargetCompID (56).")] = None,
    username: Annotated[str | None, typer.Option(help="Username (553).")] = None,
    password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the password (554).")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the FIX store, raw FIX log and audit trail (default state/order-ticket-<venue>)."
        ),
    ] = None,
    drain: Annotated[
        float, typer.Option(help="After logout / end of input, wait up to this many seconds for answers.")
    ] = 5.0,
    risk: Annotated[
        bool, typer.Option("--risk/--no-risk", help="Pre-trade risk from the config's [risk] (default on).")
    ] = True,
    log_level: Annotated[
        str | None, typer.Option(help="Nautilus log level on stderr (default: the config's).")
    ] = None,
) -> None:
    """Send JSON-line orders (stdin) through the live TradingNode and FIX client; print every event."""
    from macrofund.cli import fail
    from macrofund.config.run_config import load_run_config
    from macrofund.engine.order_ticket import SessionOverrides, TicketOptions, run_order_ticket, ticket_config
    from macrofund.errors import MacrofundError

    name = venue.upper()
    if name not in ("B3", "CME"):
        fail(f"--venue {venue!r}: expected b3 or cme")
    if drain < 0:
        fail(f"--drain {drain}: must be zero or more seconds")
    if port is not None and not 0 < port < 65536:
        fail(f"--port {port}: must be 1..65535")
    folder = (state_dir or Path("state") / f"order-ticket-{venue.lower()}").resolve()
    overrides = SessionOverrides(
        host=host, port=port, sender_comp_id=sender_comp_id, target_comp_id=target_comp_id,
        username=username, password_env=password_env, state_dir=folder if state_dir is not None else None,
    )  # fmt: skip
    level = {"run.log_level": log_level.upper()} if log_level is not None else {}
    try:
        run_config = ticket_config(load_run_config(config, level), name, overrides, risk)
        run_id = "ticket-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        code = run_order_ticket(
            run_config, sys.stdin, _emit, TicketOptions(drain_secs=drain), folder / run_id
        )
    except MacrofundError as exc:
        fail(str(exc))
    raise typer.Exit(code)
