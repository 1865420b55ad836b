"""Paper mode: the run config assembled as a Nautilus ``TradingNode`` against the paper venue.

This module is the ONLY place paper-specific wiring lives. Everything else is shared with the backtest:
instruments (``build_instruments``), strategies (``build_strategy``), the components (risk, kill switch,
audit, persistence; ``install_components``), the run recorder and the run outputs
(``write_run_outputs``). What paper adds:

- the venue is ``MacroSandboxExecutionClient``: Nautilus's sandbox with the backtest's fill and fee models;
- market data comes from ``macrofund.adapters.feed.data_clients`` (the in-process simulator unless
  Kafka is configured) through ``SettledMarketData``, which records it for replay;
- the simulated venue's events are applied synchronously (see ``_apply_venue_events_inline``);
- the run stops on ``duration``, SIGINT or SIGTERM; a run id whose folder exists resumes from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from nautilus_trader.common.enums import ComponentState
from nautilus_trader.common.messages import ShutdownSystem
from nautilus_trader.config import (
    LiveDataEngineConfig,
    LiveExecEngineConfig,
    LiveRiskEngineConfig,
    TradingNodeConfig,
)
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import LiquiditySide, OmsType, OrderSide, OrderType
from nautilus_trader.model.events import OrderFilled, OrderSubmitted
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.orders import MarketOrder
from nautilus_trader.model.position import Position

from macrofund.adapters.sandbox import (
    MacroSandboxConfig,
    MacroSandboxExecClientFactory,
    account_id_for,
    fee_model_config,
)
from macrofund.config.run_config import RunConfig, default_run_id
from macrofund.engine.assembly import RunResult, write_run_outputs
from macrofund.engine.backtest import build_instruments, logging_config
from macrofund.engine.components import KernelHandle, RunComponent, install_components
from macrofund.engine.in_flight import InFlight, watch_live_engines
from macrofund.engine.loading import add_strategies, build_strategy
from macrofund.engine.recorder import RunRecorder, RunRecorderConfig
from macrofund.engine.replay import MarketDataRecorder, SettledMarketData, process_now, write_replay_config
from macrofund.errors import ConfigError, ModeUnavailableError
from macrofund.process_lock import LOCK_NAME, ProcessLock
from macrofund.reports.outputs import write_json
from macrofund.venues.sim import fill_model_config

# Where Nautilus publishes ShutdownSystem (``Component.shutdown_system``); the kernel subscribes to it.
SHUTDOWN_TOPIC = "commands.system.shutdown"
# The component ids of Nautilus's engines: a ShutdownSystem from one of them means an exception escaped.
ENGINE_IDS = frozenset({"DataEngine", "RiskEngine", "ExecEngine"})
_START_POLL_SECS = 0.2  # how often the start watch looks for a client that gave up
Notice = Callable[[str], None]


# -- what the console view shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class PositionLine:
    """One open position as the console shows it."""

    strategy_id: str
    instrument_id: str
    quantity: Decimal
    avg_px_open: float
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal
    currency: str


@dataclass(frozen=True)
class OrderLine:
    """One working order as the console shows it."""

    client_order_id: str
    instrument_id: str
    side: str
    type: str
    quantity: Decimal
    filled_qty: Decimal
    price: Decimal | None
    status: str


@dataclass(frozen=True)
class AccountLine:
    """One venue account: balance, unrealised P&L, equity."""

    venue: str
    currency: str
    balance: Decimal
    unrealized_pnl: Decimal
    equity: Decimal


@dataclass(frozen=True)
class PaperStatus:
    """A once-a-second snapshot of a running paper node (presentation is ``macrofund.cli.live_view``)."""

    run_id: str
    elapsed_seconds: float
    positions: list[PositionLine]
    working_orders: list[OrderLine]
    accounts: list[AccountLine]
    orders: int
    fills: int
    data_delivered: int
    feed_rate: float
    feed_lag_ms: float
    feed_max_lag_ms: float
    # (client id, state) of every venue session that has one (FIX: ``up``, ``DOWN 12s``, ``logging on``...)
    sessions: list[tuple[str, str]] = field(default_factory=list)


StatusFn = Callable[[PaperStatus], None]


# -- resume --------------------------------------------------------------------------------------------


@dataclass
class ResumeState:
    """What a restarted session took over from the database (printed and put into ``summary.json``)."""

    session: int
    positions: list[dict[str, str]] = field(default_factory=list)
    balances: dict[str, str] = field(default_factory=dict)
    lost_orders: list[str] = field(default_factory=list)


def prepare_paper_dir(config: RunConfig) -> tuple[str, Path, int, ProcessLock]:
    """The run id, its folder, the session number and the folder's lock: an existing paper run's
    folder is resumed.

    The previous session's outputs move to ``sessions/<n>/`` so nothing is overwritten. The lock is
    taken before anything moves and held until the run ends: a second process on the same run id (a
    restart typed while the first is still running) is refused instead of moving the running
    session's files and appending a second hash chain to its audit file.
    """
    run_id = config.run.run_id or default_run_id(config)
    root = (
        config.run.output_dir if config.run.output_dir.is_absolute() else Path.cwd() / config.run.output_dir
    )
    out = root / run_id
    mode = config.run.mode
    resumed = out.exists() and any(p.name != LOCK_NAME for p in out.iterdir())
    if resumed and (
        not (out / "config.json").is_file()
        or f'"mode": "{mode}"' not in (out / "config.json").read_text("utf-8")
    ):
        raise ConfigError(
            f"run.run_id: output folder {out} exists and is not a {mode} run; choose another run id"
        )
    lock = ProcessLock.acquire(out, f"run {run_id} ({out})")
    if not resumed:
        return run_id, out, 1, lock
    sessions = out / "sessions"
    session = len(list(sessions.glob("*"))) + 2 if sessions.is_dir() else 2
    previous = sessions / str(session - 1)
    previous.mkdir(parents=True)
    for item in list(out.iterdir()):
        if item.name in ("sessions", LOCK_NAME) or item.name.startswith("audit"):
            continue  # the audit trail is one hash chain per run: its component appends to it
        shutil.move(str(item), previous / item.name)
    return run_id, out, session, lock


def _resume_from_database(
    dsn: str, run_id: str, config: RunConfig, session: int
) -> tuple[RunConfig, ResumeState, list[Any]]:
    """Balances and positions a resumed session starts from, rebuilt from our PostgreSQL records.

    Not from Redis: a 1.221 warm restart crashes after a NETTING flip (#3081). The sandbox venue starts
    empty on every start, so it is seeded here: each account starts at its configured balance plus the
    realised P&L (net of fees) of the run so far, and open positions are re-created at their average
    open price. Working orders are not restored (the venue's book is gone); they are listed as lost.
    """
    from macrofund.storage.rebuild import rebuild

    state = rebuild(dsn, run_id)
    resume = ResumeState(session=session)
    realized: dict[str, Decimal] = {}
    for p in state.positions:
        realized[p.currency] = realized.get(p.currency, Decimal(0)) + p.realized_pnl
        if p.is_open:
            resume.positions.append(
                {
                    "strategy_id": p.strategy_id,
                    "instrument_id": p.instrument_id,
                    "quantity": str(p.net_qty),
                    "avg_px_open": str(p.avg_px_open),
                }
            )
    venues = []
    for venue in config.venues:
        balances = []
        for text in venue.starting_balances:
            amount, currency = text.replace("_", "").split()
            total = Decimal(amount) + realized.get(currency, Decimal(0))
            resume.balances[f"{venue.name}:{currency}"] = str(total)
            balances.append(f"{total} {currency}")
        venues.append(venue.model_copy(update={"starting_balances": balances}))
    resume.lost_orders = [o.client_order_id for o in state.open_orders]
    return config.model_copy(update={"venues": venues}), resume, state.positions


def _seed_positions(node: TradingNode, instruments: dict[str, Instrument], positions: list[Any]) -> None:
    """Re-create open positions in the cache before the node starts (no events: nothing is re-recorded)."""
    cache: Any = node.kernel.cache
    trader_id = TraderId(node.kernel.trader_id.value)
    now = node.kernel.clock.timestamp_ns()
    for n, p in enumerate(q for q in positions if q.is_open):
        instrument = instruments.get(p.instrument_id)
        if instrument is None or p.avg_px_open is None:
            continue
        strategy_id = StrategyId(p.strategy_id)
        instrument_id = InstrumentId.from_str(p.instrument_id)
        precision = min(instrument.price_precision + 4, 9)
        fill = OrderFilled(
            trader_id=trader_id,
            strategy_id=strategy_id,
            instrument_id=instrument_id,
            client_order_id=ClientOrderId(f"O-RESUME-{n + 1}"),
            venue_order_id=VenueOrderId(f"RESUME-{n + 1}"),
            account_id=account_id_for(instrument_id.venue.value),
            trade_id=TradeId(f"RESUME-{UUID4().value[:8]}-{n + 1}"),
            position_id=PositionId(p.position_id or f"{p.instrument_id}-{p.strategy_id}"),
            order_side=OrderSide.BUY if p.net_qty > 0 else OrderSide.SELL,
            order_type=OrderType.MARKET,
            last_qty=Quantity(abs(p.net_qty), instrument.size_precision),
            last_px=Price(round(p.avg_px_open, precision), precision),
            currency=instrument.quote_currency,
            commission=Money(0, instrument.quote_currency),
            liquidity_side=LiquiditySide.TAKER,
            event_id=UUID4(),
            ts_event=now,
            ts_init=now,
        )
        # The matching engine looks up the orders of a position: give the seed fill a filled order.
        order = MarketOrder(
            trader_id=trader_id,
            strategy_id=strategy_id,
            instrument_id=instrument_id,
            client_order_id=fill.client_order_id,
            order_side=fill.order_side,
            quantity=fill.last_qty,
            init_id=UUID4(),
            ts_init=now,
            tags=["RESUME"],
        )
        order.apply(
            OrderSubmitted(
                trader_id,
                strategy_id,
                instrument_id,
                fill.client_order_id,
                fill.account_id,
                UUID4(),
                now,
                now,
            )
        )
        order.apply(fill)
        cache.add_order(order, fill.position_id, None, True)
        cache.update_order(order)
        cache.add_position(Position(instrument, fill), OmsType.NETTING)


# -- assembly -----------------------------------------------------------------------------------------


def _feed_clients(config: RunConfig, instruments: dict[str, Instrument]) -> dict[str, tuple[Any, Any]]:
    try:
        from macrofund.adapters.feed import data_clients  # type: ignore[attr-defined]
    except ImportError:
        raise ModeUnavailableError(
            "--mode paper needs the market-data feed (macrofund.adapters.feed.data_clients), "
            "which is not installed in this build"
        ) from None
    clients: dict[str, tuple[Any, Any]] = data_clients(config.feed, instruments)
    return clients


def _sandbox_config(venue: Any, instrument_ids: list[str]) -> MacroSandboxConfig:
    """The paper venue from the same ``[[venues]]`` entry the backtest venue is built from."""
    return MacroSandboxConfig(
        venue=venue.name,
        starting_balances=[b.replace("_", "") for b in venue.starting_balances],
        base_currency=venue.base_currency,
        oms_type=venue.oms_type,
        account_type=venue.account_type,
        bar_execution=venue.bar_execution,
        fill_model=fill_model_config(venue, instrument_ids),
        fee_model=fee_model_config({k: str(v) for k, v in venue.fees.items()}),
    )


def _apply_venue_events_inline(node: TradingNode) -> None:
    """Apply execution events as they are generated, not through the live engine's event queue.

    The sandbox venue lives on the node's own event loop, so nothing needs the queue's thread hop, and
    going through it breaks the backtest's semantics: the matching engine's IOC/FOK check reads the
    order's state right after filling it, still sees SUBMITTED, and leaves a partially filled remainder
    open forever (NAUTILUS-1.221-NOTES §e). Applied inline, a remainder is cancelled as in a backtest.
    """
    engine: Any = node.kernel.exec_engine
    msgbus: Any = node.kernel.msgbus

    def process(event: Any) -> None:
        ExecutionEngine.process(engine, event)

    msgbus.deregister("ExecEngine.process", engine.process)
    msgbus.register("ExecEngine.process", process)


_IN_FLIGHT: WeakKeyDictionary[TradingNode, InFlight] = WeakKeyDictionary()


def _engine_backlog(node: TradingNode) -> Callable[[], bool]:
    """Whether the node's live engines hold messages: queued, or scheduled to be queued."""
    in_flight = _IN_FLIGHT.get(node)
    if in_flight is None:
        in_flight = _IN_FLIGHT[node] = watch_live_engines(node.kernel)
    return in_flight.busy


def install_market_data_path(
    node: TradingNode, loop: asyncio.AbstractEventLoop, recorder: MarketDataRecorder | None = None
) -> SettledMarketData:
    """Put ``SettledMarketData`` on the node's ``DataEngine.process`` endpoint: how every paper and
    live node takes its market data (``bench/kafka_feed.py`` measures this same path)."""
    data_engine: Any = node.kernel.data_engine
    data = SettledMarketData(loop, process_now(data_engine), _engine_backlog(node), recorder)
    data.install(node.kernel.msgbus, registered=data_engine.process)
    # What LiveDataEngine does with an exception escaping its queue (graceful_shutdown_on_exception).
    data.on_error = lambda exc: data_engine.shutdown_system(
        f"Unexpected exception in data processing: {exc!r}"
    )
    trader: Any = node.trader
    data.ready = lambda: bool(trader.is_running)
    return data


@dataclass(frozen=True)
class VenueSide:
    """What differs between paper and live on a TradingNode: the execution clients, nothing else.

    ``exec_clients(config, instrument_ids)`` returns ``{venue: (exec client config, factory)}``.
    ``inline_venue_events`` applies the venue's events without the engine's queue (the in-process
    sandbox needs it, see ``_apply_venue_events_inline``); ``reconciliation`` asks the venue for its
    orders at start-up (a real venue has them; the sandbox has none); ``resume_from_database`` seeds a
    restarted session from our own records (paper: the sandbox forgets everything on restart).
    """

    exec_clients: Callable[[RunConfig, list[str]], dict[str, tuple[Any, Any]]]
    inline_venue_events: bool
    reconciliation: bool
    resume_from_database: bool
    # live: a resumed session puts its working orders back from PostgreSQL so reconciliation asks the
    # venue about them (``macrofund.engine.restore``); paper: None (the sandbox's book is gone).
    # Called as restore_orders(node, config, instruments, dsn, run_id) after the node is built.
    restore_orders: Callable[[Any, RunConfig, dict[str, Instrument], str, str], Any] | None = None
    # live: Nautilus re-asks the venue about open orders every ``run.open_order_check_interval`` while
    # running (False: start-up reconciliation only, or none).
    open_order_checks: bool = False


def _open_check_secs(config: RunConfig, venue_side: VenueSide) -> float | None:
    """Nautilus's periodic open-order check interval for this node (``None``: no periodic checks)."""
    interval = config.run.open_order_check_interval
    if not venue_side.open_order_checks or interval is None:
        return None
    return interval.total_seconds()


def _sandbox_clients(config: RunConfig, instrument_ids: list[str]) -> dict[str, tuple[Any, Any]]:
    return {
        v.name: (_sandbox_config(v, instrument_ids), MacroSandboxExecClientFactory) for v in config.venues
    }


PAPER_VENUES = VenueSide(
    exec_clients=_sandbox_clients, inline_venue_events=True, reconciliation=False, resume_from_database=True
)


@dataclass
class _PaperNode:
    node: TradingNode
    loop: asyncio.AbstractEventLoop
    recorder: RunRecorder
    data: SettledMarketData
    market: MarketDataRecorder | None
    components: list[RunComponent]
    instruments: dict[str, Instrument]


def _build_node(
    config: RunConfig,
    run_id: str,
    out: Path,
    seed: list[Any],
    loop: asyncio.AbstractEventLoop,
    venue_side: VenueSide = PAPER_VENUES,
    *,
    strategies: list[Any] | None = None,
    market_data: bool = True,
) -> _PaperNode:
    """The node of a paper/live run. ``strategies`` replaces the config's (the order ticket's desk);
    ``market_data=False`` builds it without the feed (a ticket must trade with no market data)."""
    instruments = build_instruments(config)
    if strategies is None:
        strategies = [
            build_strategy(s.path, s.config, s.config_class, config.source.parent if config.source else None)
            for s in config.strategies
        ]
    feed = _feed_clients(config, instruments) if market_data else {}
    ids = list(instruments)
    venue_clients = venue_side.exec_clients(config, ids)
    exec_clients = {name: cfg for name, (cfg, _) in venue_clients.items()}
    node_config = TradingNodeConfig(
        trader_id=TraderId(config.run.trader_id),
        logging=logging_config(config.run.log_level),
        # An exception escaping a live engine's queue (a strategy handler that raises, say) makes
        # Nautilus 1.221 call os._exit(1) unless its engines shut down "gracefully": then it publishes
        # ShutdownSystem, which ``_session`` turns into the run's own stop (docs/live.md).
        data_engine=LiveDataEngineConfig(graceful_shutdown_on_exception=True),
        risk_engine=LiveRiskEngineConfig(
            # Nautilus's own throttle, the same in every mode (docs/risk.md)
            max_order_submit_rate=config.risk.engine_max_order_submit_rate,
            max_order_modify_rate=config.risk.engine_max_order_modify_rate,
            graceful_shutdown_on_exception=True,
        ),
        # The sandbox reports nothing to reconcile (a resumed paper session is seeded from PostgreSQL);
        # a real venue is asked for its orders at start-up.
        exec_engine=LiveExecEngineConfig(
            graceful_shutdown_on_exception=True,
            reconciliation=venue_side.reconciliation,
            open_check_interval_secs=_open_check_secs(config, venue_side),
        ),
        data_clients={name: cfg for name, (cfg, _) in feed.items()},
        exec_clients=exec_clients,  # type: ignore[arg-type]
        # Nautilus 1.221 stops waiting for its clients after this and then never starts the trader, even
        # if a client connects a second later: wait as long as the slowest venue session may take to log on.
        timeout_connection=max(
            10.0, *(float(getattr(cfg, "logon_timeout_secs", 0.0)) + 5.0 for cfg in exec_clients.values())
        ),
        timeout_reconciliation=1.0,
        timeout_portfolio=2.0,
        timeout_disconnection=2.0,
        timeout_post_stop=0.2,
    )
    node = TradingNode(config=node_config, loop=loop)
    components: list[RunComponent] = []
    try:
        handle = KernelHandle(
            kernel=node.kernel, config=config, run_id=run_id, output_dir=out, add_actor=node.trader.add_actor
        )
        # Right after construction: install-time bus subscriptions must see every first publication.
        components = install_components(handle)
        if venue_side.inline_venue_events:
            _apply_venue_events_inline(node)
        market = MarketDataRecorder() if config.feed.record else None
        data = install_market_data_path(node, loop, market)
        for name, (_, factory) in feed.items():
            node.add_data_client_factory(name, factory)
        for name, (_, factory) in venue_clients.items():
            node.add_exec_client_factory(name, factory)
        cache: Any = node.kernel.cache
        for instrument in instruments.values():
            cache.add_instrument(instrument)  # the sandbox loads its venue's instruments at connect
        recorder = RunRecorder(
            RunRecorderConfig(
                equity_interval_secs=config.run.equity_interval.total_seconds(),
                purge_interval_secs=config.run.purge_interval.total_seconds(),
            ),
            venues=[Venue(v.name) for v in config.venues],
        )
        node.trader.add_actor(recorder)
        from macrofund.strategies.execution import default_exec_algorithms

        for algorithm in default_exec_algorithms():
            node.trader.add_exec_algorithm(algorithm)
        add_strategies(node.trader.add_strategy, strategies, str(config.source or "run config"))
        node.build()
        _seed_positions(node, instruments, seed)
    except BaseException:
        for component in components:
            component.close()
        node.dispose()
        raise
    return _PaperNode(node, loop, recorder, data, market, components, instruments)


# -- running ------------------------------------------------------------------------------------------


def _status(paper: _PaperNode, run_id: str, started: float, config: RunConfig) -> PaperStatus:
    cache: Any = paper.node.kernel.cache
    portfolio: Any = paper.node.kernel.portfolio
    positions = []
    for p in cache.positions_open():
        upnl = portfolio.unrealized_pnl(p.instrument_id)
        positions.append(
            PositionLine(
                strategy_id=p.strategy_id.value,
                instrument_id=p.instrument_id.value,
                quantity=p.signed_decimal_qty(),
                avg_px_open=p.avg_px_open,
                unrealized_pnl=upnl.as_decimal() if upnl is not None else None,
                realized_pnl=p.realized_pnl.as_decimal() if p.realized_pnl else Decimal(0),
                currency=p.quote_currency.code,
            )
        )
    orders = []
    for o in cache.orders_open():
        price = getattr(o, "price", None)
        orders.append(
            OrderLine(
                client_order_id=o.client_order_id.value,
                instrument_id=o.instrument_id.value,
                side=o.side_string(),
                type=o.type_string(),
                quantity=o.quantity.as_decimal(),
                filled_qty=o.filled_qty.as_decimal(),
                price=price.as_decimal() if price is not None else None,
                status=o.status_string(),
            )
        )
    accounts = []
    for venue in config.venues:
        # From the cache: ``Portfolio.account`` logs an error each time (every second) until the
        # venue's account exists, e.g. while a live session is still logging on.
        account = cache.account_for_venue(Venue(venue.name))
        if account is None:
            continue
        upnls = portfolio.unrealized_pnls(Venue(venue.name))
        for currency in account.currencies():
            balance = account.balance_total(currency)
            if balance is None:
                continue
            upnl = upnls.get(currency)
            u = upnl.as_decimal() if upnl is not None else Decimal(0)
            accounts.append(
                AccountLine(venue.name, currency.code, balance.as_decimal(), u, balance.as_decimal() + u)
            )
    sessions = [
        (client_id.value, state)
        for client_id, client in paper.node.kernel.exec_engine._clients.items()
        if (state := getattr(client, "session_state", None)) is not None
    ]
    stats = paper.data.stats
    return PaperStatus(
        run_id=run_id,
        elapsed_seconds=time.monotonic() - started,
        positions=positions,
        working_orders=orders,
        accounts=accounts,
        orders=len(cache.orders()) + len(paper.recorder.orders),
        fills=len(paper.recorder.fills),
        data_delivered=stats.delivered,
        feed_rate=stats.rate(time.time_ns()),
        feed_lag_ms=stats.last_lag_ns / 1e6,
        feed_max_lag_ms=stats.max_lag_ns / 1e6,
        sessions=sessions,
    )


def _stop_trader_components(node: TradingNode) -> str | None:
    """Stop the actors and strategies one by one, as ``Trader.stop`` does, but past one that raises.

    Nautilus 1.221 re-raises an exception from ``on_stop`` out of ``Trader.stop`` and the kernel's stop
    ends there: the other strategies, the engines and the venue clients (a FIX session: no logout) are
    never stopped. One that raised stays STOPPING, which ``Trader.stop`` then skips. Returns the first
    failure as one line, or ``None``.
    """
    failure: str | None = None
    for component in [*node.trader.actors(), *node.trader.strategies()]:
        if not component.is_running:
            continue
        try:
            component.stop()
        except Exception as exc:  # logged by Nautilus with its traceback
            failure = failure or f"{component.id} failed to stop: {exc!r} (its traceback is in the log)"
    return failure


def engine_failure(command: ShutdownSystem) -> str | None:
    """The error line for a ShutdownSystem one of Nautilus's engines published (an exception escaped
    it); ``None`` for a deliberate one (a strategy's or actor's ``shutdown_system``)."""
    if command.component_id.value not in ENGINE_IDS:
        return None
    return f"the node stopped itself: {command.reason or 'ShutdownSystem'}"


def _clients_down(node: TradingNode) -> list[tuple[Any, Any]]:
    """(client id, client) of every data and execution client that is not connected."""
    engines = (node.kernel.data_engine, node.kernel.exec_engine)
    return [(cid, c) for engine in engines for cid, c in engine._clients.items() if not c.is_connected]


# The trader's states before it ever ran (a trader that ran and stopped is not one of them).
_NOT_STARTED = (ComponentState.PRE_INITIALIZED, ComponentState.READY, ComponentState.STARTING)


def _why_down(cid: Any, client: Any) -> str:
    # Our FIX clients say why (no logon, connection refused, still logging on); others are named.
    if getattr(client, "connect_error", None):
        return str(client.connect_error)
    if hasattr(client, "logon_pending"):
        return str(client.logon_pending())
    return f"{cid} did not connect"


def start_failure(node: TradingNode) -> str:
    """Why the node's start sequence ended without starting the trader, in one line."""
    down = [_why_down(cid, c) for cid, c in _clients_down(node)]
    if down:
        return "the node did not start: " + "; ".join(down)
    return "the node did not start: execution state not reconciled or portfolio not initialised (see the log)"


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class LateSignals:
    """What Ctrl-C (or SIGTERM) does once a run is already stopping.

    The stop cancels working orders, drains the audit trail and the database and writes the outputs.
    A second Ctrl-C used to interrupt that silently (exit 130, no summary) and a second SIGTERM killed
    the process on the spot, queued database writes and all. Now the first extra signal only says what
    is going on; the one after it abandons the stop (``KeyboardInterrupt``: the components still close
    in ``finally``), for an operator who really means it.
    """

    def __init__(self, notice: Notice) -> None:
        self._notice = notice
        self.count = 0

    def __call__(self, sig: int, frame: object = None) -> None:
        self.count += 1
        if self.count == 1:
            self._notice(
                "still stopping: cancelling orders, draining the audit trail and the database, writing the "
                "outputs; press Ctrl-C again to abandon the stop (the outputs may be incomplete)"
            )
            return
        self._notice("abandoning the stop: the outputs may be incomplete (what was written stays)")
        raise KeyboardInterrupt


def _gave_up(node: TradingNode) -> bool:
    return any(getattr(c, "connect_error", None) for _, c in _clients_down(node))


def watch_start(node: TradingNode, on_failed: Callable[[str], None]) -> None:
    """Call ``on_failed(why)`` if the node's start sequence ends with its trader not started.

    Nautilus 1.221's ``start_async`` then only logs a warning (a client not connected within
    ``timeout_connection``, reconciliation or the portfolio failing) and the node keeps running with
    no strategy started: a live process that looks alive, trades nothing and, without ``--duration``,
    never ends. A client that gave up for good (one of ours with its ``connect_error`` set: no logon
    within its own timeout, its FIX store held by another process) ends the start at once, instead of
    leaving the operator to wait out the rest of ``timeout_connection``."""
    kernel = node.kernel
    start = kernel.start_async

    async def start_async() -> None:
        starting = asyncio.ensure_future(start())
        try:
            while not starting.done():
                await asyncio.wait({starting}, timeout=_START_POLL_SECS)
                if not starting.done() and _gave_up(node):
                    starting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await starting
        except asyncio.CancelledError:
            starting.cancel()  # the node is being stopped while it starts: stop starting it too
            # Not re-raised: Nautilus's run_async logs a CancelledError as an empty ERROR line, and the
            # stop that cancelled us reports why the node never started (``_session``).
            return
        if not starting.cancelled():
            starting.result()
        if not node.trader.is_running:
            on_failed(start_failure(node))

    kernel.start_async = start_async  # type: ignore[method-assign]


def route_shutdown(node: TradingNode, handler: Callable[[ShutdownSystem], None]) -> None:
    """Send ``ShutdownSystem`` (what a live engine publishes when an exception escapes its queue) to
    ``handler`` instead of the kernel, which would stop the node without the run's stop sequence."""
    kernel = node.kernel
    kernel.msgbus.unsubscribe(SHUTDOWN_TOPIC, kernel._on_shutdown_system)
    kernel.msgbus.subscribe(SHUTDOWN_TOPIC, handler)


async def _session(
    paper: _PaperNode,
    run_id: str,
    config: RunConfig,
    duration: timedelta | None,
    on_status: StatusFn | None,
    cancel_on_stop: bool,
    notice: Notice,
    late_signal: LateSignals,
) -> tuple[str, str | None]:
    """Run until the duration passes, a signal arrives or the node stops; then shut down cleanly.

    Returns why it stopped, and an error when the node asked to stop itself. A signal that arrives
    once the stop has begun goes to ``late_signal``."""
    loop = paper.loop
    node = paper.node
    stop = asyncio.Event()
    reason: dict[str, str] = {"why": "node stopped"}

    def request_stop(why: str) -> None:
        if not stop.is_set():
            reason["why"] = why
            stop.set()

    def on_shutdown_system(command: ShutdownSystem) -> None:
        # From an engine: an error (exit 1). From a strategy or actor: a deliberate end, like the
        # duration or a signal.
        error = engine_failure(command)
        if error is not None and not stop.is_set():
            reason["error"] = error
        request_stop(f"shutdown requested by {command.component_id}: {command.reason or '-'}")

    def on_start_failed(error: str) -> None:
        if not stop.is_set():
            reason["error"] = error
        request_stop("the node did not start")

    # Replaces the kernel's handlers (which would stop the node without our shutdown sequence: working
    # orders left at the venue, the feed still running, the audit trail and persistence not drained).
    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            late_signal(sig)
        else:
            request_stop(sig.name)

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    route_shutdown(node, on_shutdown_system)
    watch_start(node, on_start_failed)
    if duration is not None:
        loop.call_later(duration.total_seconds(), request_stop, f"duration {duration} reached")
    run_task = loop.create_task(node.run_async(), name="macrofund-paper-node")
    run_task.add_done_callback(lambda _: request_stop("node stopped"))
    started = time.monotonic()

    async def report() -> None:
        while True:
            await asyncio.sleep(1.0)
            if on_status is not None and node.is_running():
                on_status(_status(paper, run_id, started, config))

    reporter = loop.create_task(report(), name="macrofund-paper-status")
    await stop.wait()
    reporter.cancel()
    if "error" not in reason and node.trader.state in _NOT_STARTED:
        # Stopped (--duration, a signal) while still starting, a venue still refusing the logon, say:
        # nothing traded, and the exit code must not say it went well.
        reason["error"] = f"stopped ({reason['why']}) before the node started; {start_failure(node)}"
    notice(f"stopping: {reason['why']}")
    await paper.data.close()
    if cancel_on_stop:
        for strategy in node.trader.strategies():
            for instrument_id in {
                o.instrument_id for o in node.kernel.cache.orders_open(strategy_id=strategy.id)
            }:
                strategy.cancel_all_orders(instrument_id)
        backlog = _engine_backlog(node)
        for _ in range(10_000):
            if not backlog():
                break
            await asyncio.sleep(0)
    if not run_task.done():
        failed_stop = _stop_trader_components(node)
        if failed_stop is not None and "error" not in reason:
            reason["error"] = failed_stop
        await node.stop_async()
        try:
            await asyncio.wait_for(run_task, timeout=10.0)
        except TimeoutError:
            run_task.cancel()
    for sig in STOP_SIGNALS:
        loop.remove_signal_handler(sig)
        signal.signal(sig, late_signal)  # until the run's outputs are written (``run_paper``)
    return reason["why"], reason.get("error")


def run_paper(
    config: RunConfig,
    duration: timedelta | None = None,
    on_status: StatusFn | None = None,
    on_notice: Notice | None = None,
    cancel_on_stop: bool = True,
    venue_side: VenueSide = PAPER_VENUES,
) -> RunResult:
    """Run a paper (or, with the live ``venue_side``, a live) session until ``duration`` passes or
    SIGINT/SIGTERM, then write the run outputs.

    ``cancel_on_stop`` cancels every working order through its owning strategy before the node stops
    (audited and persisted as cancelled); ``False`` leaves them to the strategies' own ``on_stop``.
    """
    from macrofund.storage import resolve_database_url
    from macrofund.storage.pool import mask_dsn

    notice = on_notice or (lambda _: None)
    run_id, out, session, run_lock = prepare_paper_dir(config)
    handlers = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    try:
        dsn, server = resolve_database_url(config)
    except BaseException:
        run_lock.release()
        raise
    components: list[RunComponent] = []
    paper: _PaperNode | None = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        where = "embedded PostgreSQL" if server is not None else "configured PostgreSQL"
        notice(f"state: {where} at {mask_dsn(dsn)} (run {run_id}, session {session})")
        storage = config.storage.model_copy(update={"database_url": dsn})
        audit = config.audit.model_copy(update={"database_url": config.audit.database_url or dsn})
        config = config.model_copy(update={"storage": storage, "audit": audit})
        resume: ResumeState | None = None
        seed: list[Any] = []
        if session > 1 and venue_side.resume_from_database:
            config, resume, seed = _resume_from_database(dsn, run_id, config, session)
            notice(
                f"resumed session {session}: {len(resume.positions)} open position(s), balances "
                f"{resume.balances}, {len(resume.lost_orders)} working order(s) not restored"
            )
        write_json(config.shareable_dump(), out / "config.json")
        try:
            paper = _build_node(config, run_id, out, seed, loop, venue_side)
        except BaseException:
            # Nothing ran (``_build_node`` already closed what it installed): leave no half-made run,
            # so the run id can be used again.
            if session == 1:
                shutil.rmtree(out, ignore_errors=True)
            raise
        components = paper.components
        if session > 1 and venue_side.restore_orders is not None:
            restored = venue_side.restore_orders(paper.node, config, paper.instruments, dsn, run_id)
            notice(
                f"restored {len(restored.restored)} working order(s) and {len(restored.unrecorded)} "
                "sent but unrecorded order(s) to reconcile with the venue"
            )
            if resume is not None:
                resume.lost_orders = list(restored.skipped)
        start_ns = time.time_ns()
        started = time.perf_counter()
        why, error = loop.run_until_complete(
            _session(paper, run_id, config, duration, on_status, cancel_on_stop, notice, LateSignals(notice))
        )
        end_ns = paper.node.kernel.clock.timestamp_ns()
        paper.recorder.finalize(end_ns)
        for component in components:
            component.on_run_end(end_ns)
        recorded = paper.market.write(out) if paper.market is not None else {}
        if "recording" in recorded:
            entries = json.loads(recorded["recording"].read_text("utf-8"))["data"]
            base = config.source.parent if config.source else None
            recorded["replay"] = write_replay_config(config.model_dump(), entries, base, out)
        extra: dict[str, Any] = {
            "data_points": paper.data.stats.delivered,
            "elapsed_seconds": round(time.perf_counter() - started, 3),
            "stopped_by": why,
            **({"error": error} if error is not None else {}),
            "session": session,
            "output_dir": str(out),
        }
        if resume is not None:
            extra["resumed"] = {
                "positions": resume.positions,
                "balances": resume.balances,
                "lost_orders": resume.lost_orders,
            }
        result = write_run_outputs(
            config, paper.recorder, components, paper.instruments, run_id, out, start_ns, end_ns, extra
        )
        result.files.update(recorded)
        return result
    finally:
        for component in components:
            component.close()
        if paper is not None:
            paper.node.dispose()
        if not loop.is_closed():
            loop.close()
        if server is not None:
            server.stop()
        run_lock.release()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
