"""``macrofund kill``: the operator's kill switch (and re-enable) for a running node.

It drops a request file into ``<run-dir>/control/`` and waits for the kill-switch actor's
acknowledgement. Exit codes: 0 acknowledged, 1 not acknowledged (run ended, not alive, or timed out; the
request stays queued only while the run is alive), 2 bad input (also a scope the run refused because it
names no strategy, instrument or account of the run).
"""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path
from typing import Annotated

import typer


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register(app: typer.Typer) -> None:
    """Add the ``kill`` command."""

    @app.command()
    def kill(
        run_dir: Annotated[Path, typer.Option("--run-dir", help="The running node's folder: runs/<run-id>.")],
        scope: Annotated[
            str, typer.Option(help="all | account:<venue> | strategy:<id> | instrument:<id>.")
        ] = "all",
        flatten: Annotated[
            bool | None,
            typer.Option("--flatten/--no-flatten", help="Also close positions (default: the run config's)."),
        ] = None,
        reenable: Annotated[
            bool,
            typer.Option("--reenable", help="Lift a kill on SCOPE instead (a separate, audited action)."),
        ] = False,
        reason: Annotated[str, typer.Option(help="Why; recorded with every kill-switch step.")] = "",
        wait: Annotated[float, typer.Option(help="Seconds to wait for the acknowledgement.")] = 10.0,
    ) -> None:
        """Kill (halt, cancel, optionally flatten) or re-enable trading in a running node."""
        from macrofund.cli import console, fail
        from macrofund.risk.config import check_scope
        from macrofund.risk.control_files import control_dir, read_ack, read_heartbeat, write_request

        try:
            check_scope(scope)
        except ValueError as exc:
            fail(f"--scope: {exc}")
        if reenable and flatten is not None:
            fail("--flatten/--no-flatten apply to a kill, not to --reenable")
        if not run_dir.is_dir():
            fail(f"--run-dir {run_dir}: no such folder")
        heartbeat = read_heartbeat(run_dir)
        if not control_dir(run_dir).is_dir() or heartbeat is None:
            fail(
                f"--run-dir {run_dir}: no kill-switch control folder: not a macrofund run, or it runs with "
                "[risk] enabled = false or [risk.kill_switch] control = false"
            )
        assert heartbeat is not None
        if heartbeat.get("state") == "ended":
            console.print(
                f"run in {run_dir} has ended ({heartbeat.get('wall')}): nothing to do", highlight=False
            )
            raise typer.Exit(1)
        if not _alive(heartbeat.get("pid")):
            console.print(
                f"run in {run_dir} is not alive (process {heartbeat.get('pid')} is gone, last heartbeat "
                f"{heartbeat.get('wall')}): nothing to do",
                highlight=False,
            )
            raise typer.Exit(1)
        action = "reenable" if reenable else "kill"
        request_id = write_request(run_dir, action, scope, flatten, reason, getpass.getuser())
        console.print(f"{action} {scope}: request {request_id} queued; waiting for the run…", highlight=False)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            ack = read_ack(run_dir, request_id)
            if ack is not None:
                outcome = ack.get("outcome")
                console.print(f"acknowledged: {outcome}: {ack.get('detail')}", highlight=False)
                if outcome == "reducing":
                    console.print("positions are closing; the scope HALTS once flat", highlight=False)
                # A scope that names nothing in the run is bad input: nothing was halted.
                raise typer.Exit(2 if outcome == "refused" else 1 if outcome == "error" else 0)
            time.sleep(0.1)
        beat = read_heartbeat(run_dir) or {}
        console.print(
            f"not acknowledged within {wait:g}s (run {beat.get('state', 'unknown')}, last heartbeat "
            f"{beat.get('wall')}); the request stays queued and is processed at the next poll",
            highlight=False,
        )
        raise typer.Exit(1)
