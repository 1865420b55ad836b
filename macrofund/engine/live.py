"""Live mode: the paper TradingNode assembly with FIX execution clients on the venue side.

Everything else (data feed, strategies, risk, kill switch, audit, persistence, run outputs, the
console view, signal handling) is the same assembly as paper (``macrofund.engine.paper``); only the
execution clients differ, and the venue is reconciled with: at start-up, about every order the node
knows to be working (a restarted session first puts them back from our PostgreSQL records, see
``macrofund.engine.restore``), and every ``run.open_order_check_interval`` (30 s) while running.
"""

from __future__ import annotations

from typing import Any

from macrofund.config.run_config import RunConfig, VenueConfig
from macrofund.engine.paper import VenueSide, run_paper
from macrofund.engine.restore import RestoredOrders, restore_working_orders
from macrofund.engine.unrecorded import find_unrecorded, recover_unrecorded
from macrofund.errors import ConfigError


def _fix_client(venue: VenueConfig, instrument_ids: list[str]) -> tuple[Any, Any]:
    """The B3 or CME FIX execution client config and factory for one ``[[venues]]`` entry."""
    if venue.fix is None:
        raise ConfigError(
            f"venues[{venue.name}].fix: live mode needs the venue's FIX session "
            f"([venues.fix] with session, profile and password_env; see docs/live.md)"
        )
    own = [i for i in instrument_ids if i.rsplit(".", 1)[1] == venue.name]
    settings: dict[str, Any] = {
        "instrument_ids": tuple(own),
        "starting_balances": tuple(b.replace("_", "") for b in venue.starting_balances),
        **venue.fix,
    }
    if venue.name == "B3":
        from macrofund.adapters.b3.config import B3ExecClientConfig
        from macrofund.adapters.b3.factories import B3LiveExecClientFactory

        return _parse(B3ExecClientConfig, settings, venue.name), B3LiveExecClientFactory
    if venue.name == "CME":
        from macrofund.adapters.cme.config import CmeExecClientConfig
        from macrofund.adapters.cme.factories import CmeLiveExecClientFactory

        return _parse(CmeExecClientConfig, settings, venue.name), CmeLiveExecClientFactory
    raise ConfigError(f"venues[{venue.name}]: live mode has FIX clients for B3 and CME only")


def _parse(config_cls: Any, settings: dict[str, Any], venue: str) -> Any:
    import msgspec

    try:
        return config_cls.parse(msgspec.json.encode(settings))
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, TypeError) as exc:
        raise ConfigError(f"venues[{venue}].fix: {exc}") from None


def _fix_clients(config: RunConfig, instrument_ids: list[str]) -> dict[str, tuple[Any, Any]]:
    return {v.name: _fix_client(v, instrument_ids) for v in config.venues}


def _restore(
    node: Any, config: RunConfig, instruments: dict[str, Any], dsn: str, run_id: str
) -> RestoredOrders:
    """A resumed session's orders: working ones from PostgreSQL, then any the FIX store shows we sent
    and the database never recorded (``macrofund.engine.unrecorded``)."""
    restored = restore_working_orders(node, instruments, dsn, run_id)
    configs = {venue: cfg for venue, (cfg, _) in _fix_clients(config, list(instruments)).items()}
    sent = find_unrecorded(configs, dsn, run_id)
    skipped = recover_unrecorded(node, instruments, sent)
    restored.skipped.update(skipped)
    restored.unrecorded = [s.message.get(11) or "" for s in sent if s.message.get(11) not in skipped]
    return restored


LIVE_VENUES = VenueSide(
    exec_clients=_fix_clients,
    inline_venue_events=False,
    reconciliation=True,
    # A restart (after a crash too) resumes the run from our PostgreSQL records: positions and
    # balances as in paper, plus the working orders, which reconciliation then checks at the venue.
    # Not Nautilus's Redis cache: its 1.221 reload crashes after a NETTING flip (#3081).
    resume_from_database=True,
    restore_orders=_restore,
    # Every ``run.open_order_check_interval`` Nautilus re-asks the venue about every open order (one
    # OrderStatusRequest each): catches a report the session never delivered (e.g. a fill the venue
    # sent while our process stalled past the resend window). Start-up reconciliation runs regardless.
    open_order_checks=True,
)


def run_live(config: RunConfig, **options: Any) -> Any:
    """Run a live session (same options as ``run_paper``: duration, console callbacks, stop policy)."""
    return run_paper(config, venue_side=LIVE_VENUES, **options)
