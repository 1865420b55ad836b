"""``macrofund exchange-sim``: run the local FIX 4.4 venue (B3 or CME) until Ctrl-C / SIGTERM.

Presentation only: the venue is ``macrofund.adapters.exchange_sim``. On a terminal a status line
(sessions logged on, orders, working orders, fills) refreshes every second; off a terminal one plain
line is printed whenever those figures change (at most every 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from macrofund.adapters.exchange_sim.server import ExchangeSimServer, ServerStats


def _line(venue: str, address: str, stats: ServerStats) -> str:
    return (
        f"exchange-sim {venue.upper()} {address} | sessions {stats.sessions_logged_on}/{stats.sessions} "
        f"logged on | orders {stats.orders} ({stats.working} working) | fills {stats.fills}"
    )


async def _serve(server: ExchangeSimServer, venue: str, address: str) -> None:
    from rich.live import Live

    from macrofund.cli import console

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if console.is_terminal:
            with Live(_line(venue, address, server.stats()), console=console, refresh_per_second=2) as live:
                while not stop.is_set():
                    live.update(_line(venue, address, server.stats()))
                    await _wait(stop, 1.0)
        else:
            last, last_ts = "", 0.0
            while not stop.is_set():
                line = _line(venue, address, server.stats())
                if line != last and time.monotonic() - last_ts >= 5.0:
                    console.print(line, highlight=False, markup=False, soft_wrap=True)
                    last, last_ts = line, time.monotonic()
                await _wait(stop, 1.0)
    finally:
        await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


def register(app: typer.Typer) -> None:
    """Add the ``exchange-sim`` command."""

    @app.command("exchange-sim")
    def exchange_sim(
        venue: Annotated[Literal["b3", "cme"], typer.Option(help="Which venue to behave like: b3 or cme.")],
        port: Annotated[int, typer.Option(help="TCP port to accept FIX connections on.", min=0, max=65535)],
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        config: Annotated[
            Path | None,
            typer.Option("--config", help="Venue config TOML (see configs/exchange-sim-<venue>.toml)."),
        ] = None,
        state_dir: Annotated[
            Path | None,
            typer.Option("--state-dir", help="Sequence numbers, order book and raw FIX log (state_dir)."),
        ] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of the reference price stream.", min=0)] = None,
        fill_model: Annotated[
            Literal["default", "almgren_chriss"] | None,
            typer.Option(
                "--fill-model", help="default (at the touch) or almgren_chriss (needs impact params)."
            ),
        ] = None,
    ) -> None:
        """Run a local FIX 4.4 venue (B3 or CME) for trying things out and CI; Ctrl-C stops it cleanly."""
        from macrofund.adapters.exchange_sim.config import build_config
        from macrofund.adapters.exchange_sim.server import ExchangeSimServer
        from macrofund.cli import console, fail
        from macrofund.errors import MacrofundError

        try:
            sim_config = build_config(venue, config, state_dir, seed, fill_model)
            server = ExchangeSimServer(sim_config, host=host, port=port)
        except MacrofundError as exc:
            fail(str(exc))

        async def main() -> None:
            try:
                await server.start()
            except OSError as exc:
                await server.stop()
                fail(f"--host {host} --port {port}: cannot listen: {exc.strerror or exc}")
            address = f"{host}:{server.port}"
            sessions = ", ".join(
                f"{s.comp_id}" + (f" (user {s.username})" if s.username else "") for s in sim_config.sessions
            )
            console.print(
                f"exchange-sim {venue.upper()} listening on {address}: comp id {sim_config.comp_id}; "
                f"sessions {sessions}; instruments "
                f"{', '.join(i.instrument_id for i in sim_config.instruments)}; fill model "
                f"{sim_config.fill_model.kind}; prices {sim_config.reference.source} "
                f"(seed {sim_config.reference.seed}); state {sim_config.state_dir}. Ctrl-C stops.",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            await _serve(server, venue, address)
            stats = server.stats()
            console.print(
                f"exchange-sim stopped: {stats.orders} orders ({stats.working} working, kept in "
                f"{sim_config.state_dir}), {stats.fills} fills",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )

        try:
            asyncio.run(main())
        except MacrofundError as exc:
            fail(str(exc))
