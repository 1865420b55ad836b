"""The persistence component: every order event, fill, position change, account state and a periodic
P&L snapshot of a run go to PostgreSQL, asynchronously, in batches, under the run id.

It subscribes on the kernel's message bus when installed (before venues and strategies exist: in 1.221
a wildcard subscription made after a topic was first published is never delivered). Its handlers read
a few attributes and append to the writer's queue; rows are built and written on the writer thread.
Installed whenever ``storage.database_url`` is set, identically in every mode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import TimeEvent
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.enums import PositionSide, PriceType
from nautilus_trader.model.events import AccountState, OrderEvent, OrderFilled, OrderInitialized
from nautilus_trader.model.events.position import PositionClosed, PositionEvent
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.position import Position

from macrofund.storage.config import StorageConfig
from macrofund.storage.pool import mask_dsn
from macrofund.storage.repositories.runs import finish_run, start_run, write_instruments
from macrofund.storage.repositories.writes import Batch
from macrofund.storage.rows import (
    OrderState,
    account_balance_rows,
    capture_order_state,
    fill_row,
    initialized_order_row,
    merge_order_rows,
    order_event_row,
    order_row,
    position_mark_row,
    position_row,
    position_snapshot_row,
    utc,
)
from macrofund.storage.writer import BREATHE_EVERY, Breathe, ConnectionTask, PersistenceWriter

if TYPE_CHECKING:
    from macrofund.engine.components import KernelHandle

# Queue item kinds (first element of each queued tuple). A _UNIT holds an OrderFilled and the position
# events it caused: the writer takes queue items whole, so a fill and its position change share a batch.
_ORDER, _POSITION, _ACCOUNT, _ROW, _TASK, _UNIT = range(6)
ORDER_ITEM = _ORDER  # (ORDER_ITEM, event, OrderState | None, seq): what the bus handler queues

PnlKey = tuple[str, str, str]  # account, strategy, instrument


class PnlSnapshotActor(Actor):
    """Gives persistence a clock: records the run's instruments at start and samples P&L on a timer."""

    def __init__(self, persistence: PersistenceComponent, interval: timedelta) -> None:
        super().__init__(ActorConfig(component_id="MacrofundPersistence"))
        self._persistence = persistence
        self._interval = interval

    def on_start(self) -> None:
        self._persistence.record_instruments(list(self.cache.instruments()))
        self.clock.set_timer("macrofund-pnl-snapshot", self._interval, callback=self._on_timer)

    def _on_timer(self, event: TimeEvent) -> None:
        self._persistence.snapshot_pnl(event.ts_event)


class PersistenceComponent:
    """Mirror of a run's trading state in PostgreSQL (see ``docs/storage.md``)."""

    name = "persistence"

    def __init__(self, handle: KernelHandle, storage: StorageConfig, dsn: str) -> None:
        self.run_id = handle.run_id
        self.dsn = dsn
        self._kernel = handle.kernel
        self._cache: Any = handle.kernel.cache
        self._mode = handle.config.run.mode
        self._trader_id = handle.config.run.trader_id
        self._config_json = handle.config.shareable_dump()  # no password in the runs table either
        self._add_actor = handle.add_actor
        self._pnl_interval = storage.pnl_interval
        self._started_run = False
        self.continued_run = False
        self._writer = PersistenceWriter(
            dsn,
            self._build_batch,
            flush_interval_s=storage.flush_interval.total_seconds(),
            queue_size=storage.queue_size,
            batch_max=storage.batch_max,
            on_connect=self._record_run,
        )
        self._orphan_seq: dict[str, int] = defaultdict(int)
        self._position_seq = 0
        self._closed_realized: dict[PnlKey, Decimal] = defaultdict(Decimal)
        self._open: dict[PnlKey, dict[str, PositionEvent]] = defaultdict(dict)
        self._currency: dict[PnlKey, str] = {}
        self._unwritten = 0
        self._ended = False
        # The fill being handled: Nautilus publishes OrderFilled, then (same call) the account state and
        # the position events it caused (two on a flip). They are queued as one item once the position
        # quantities add up to the fill's (or when an unrelated event arrives), so a batch, and so what
        # a crash leaves behind, never holds a fill without its position change.
        self._unit: list[Any] = []
        self._unit_left = 0

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and migrate (raises a one-line ``StorageError``), then subscribe and add the actor."""
        self._writer.start()
        msgbus = self._kernel.msgbus
        msgbus.subscribe("events.order.*", self._on_order_event)
        msgbus.subscribe("events.position.*", self._on_position_event)
        msgbus.subscribe("events.account.*", self._on_account_state)
        self._add_actor(PnlSnapshotActor(self, self._pnl_interval))

    def on_run_end(self, ts_ns: int) -> None:
        """Final P&L snapshot and unrealised marks, mark the run finished, wait for the last write."""
        self._queue_unit()
        self.snapshot_pnl(ts_ns)
        for position in self._cache.positions_open():
            unrealized = self._unrealized(position)
            self._position_seq += 1
            self._writer.put(
                (
                    _ROW,
                    "positions",
                    position_mark_row(self.run_id, position, unrealized, self._position_seq),
                )
            )
        self._writer.put((_TASK, self._finish_run))
        self._ended = True
        self._writer.flush()

    def write_outputs(self, out_dir: Path) -> dict[str, Path]:
        """Nothing goes to the run folder: the database is this component's output."""
        return {}

    def summary(self) -> dict[str, Any]:
        """Where the run went and what the writer did (printed by the CLI as it is)."""
        stats = self._writer.stats
        section: dict[str, Any] = {
            "database": mask_dsn(self.dsn),
            "run_id": self.run_id,
            "events": stats.enqueued,
            "rows_written": stats.rows_written,
            "batches": stats.batches,
            "max_queue_depth": stats.max_queue_depth,
            "backpressure_episodes": stats.backpressure_episodes,
        }
        if stats.write_retries:
            section["write_retries"] = stats.write_retries
        if stats.failed_rows or self._unwritten:
            section["unwritten"] = stats.failed_rows + self._unwritten
        return section

    def close(self) -> None:
        """Write what is still queued and stop the writer thread."""
        self._queue_unit()
        self._unwritten = self._writer.close()

    @property
    def writer(self) -> PersistenceWriter:
        return self._writer

    # -- bus handlers (engine thread: read, queue, return) ------------------------------------------

    def _put(self, item: Any) -> None:
        """Queue ``item`` after the open fill unit, which nothing that follows can belong to."""
        if self._unit:
            self._queue_unit()
        self._writer.put(item)

    def _queue_unit(self) -> None:
        if self._unit:
            unit, self._unit = self._unit, []
            self._writer.put(unit[0] if len(unit) == 1 else (_UNIT, unit))

    def _on_order_event(self, event: OrderEvent) -> None:
        state: OrderState | None
        if type(event) is OrderInitialized:
            # Published by the strategy before the order reaches the cache: the event is the state.
            self._put((_ORDER, event, None, 1))
            return
        order = self._cache.order(event.client_order_id)
        if order is None:  # purged or never cached: still keep the event, with our own sequence
            key = event.client_order_id.value
            self._orphan_seq[key] += 1
            seq, state = self._orphan_seq[key], None
        else:
            seq = order.event_count
            state = capture_order_state(order, seq, with_static=seq == 1)
        if type(event) is OrderFilled and event.position_id is not None:
            self._queue_unit()
            self._unit = [(_ORDER, event, state, seq)]
            self._unit_left = event.last_qty.raw
        else:
            self._put((_ORDER, event, state, seq))

    def _on_position_event(self, event: PositionEvent) -> None:
        # Engine order is the truth within a process; across a restart ts_last orders states first.
        self._position_seq += 1
        seq = self._position_seq
        key = (event.account_id.value, event.strategy_id.value, event.instrument_id.value)
        self._currency[key] = event.currency.code
        if isinstance(event, PositionClosed):
            self._open[key].pop(event.position_id.value, None)
            self._closed_realized[key] += event.realized_pnl.as_decimal()
        else:
            self._open[key][event.position_id.value] = event
        if self._unit:
            self._unit.append((_POSITION, event, seq))
            self._unit_left -= event.last_qty.raw
            if self._unit_left <= 0:
                self._queue_unit()
        else:
            self._writer.put((_POSITION, event, seq))

    def _on_account_state(self, event: AccountState) -> None:
        if self._unit:  # the portfolio books the fill on the account between the fill and its position
            self._unit.append((_ACCOUNT, event))
        else:
            self._writer.put((_ACCOUNT, event))

    # -- timers and end of run ----------------------------------------------------------------------

    def record_instruments(self, instruments: list[Any]) -> None:
        """Queue the run's instrument definitions (rebuild needs multipliers and precisions)."""
        run_id = self.run_id

        async def write(conn: asyncpg.Connection) -> None:
            await write_instruments(conn, run_id, instruments)

        self._put((_TASK, write))

    def snapshot_pnl(self, ts_ns: int) -> None:
        """One ``pnl_snapshots`` row per (account, strategy, instrument) that ever held a position."""
        when = utc(ts_ns)
        for key in set(self._closed_realized) | set(self._open):
            realized = self._closed_realized.get(key, Decimal(0))
            unrealized = Decimal(0)
            net_qty = Decimal(0)
            for event in self._open.get(key, {}).values():
                realized += event.realized_pnl.as_decimal()
                position = self._cache.position(event.position_id)
                if position is None or position.is_closed:
                    continue
                net_qty += position.signed_decimal_qty()
                unrealized += self._unrealized(position) or Decimal(0)
            account, strategy, instrument = key
            row = (
                self.run_id,
                ts_ns,
                account,
                strategy,
                instrument,
                self._currency[key],
                net_qty,
                realized,
                unrealized,
                realized + unrealized,
                when,
            )
            self._put((_ROW, "pnl_snapshots", row))

    def _unrealized(self, position: Position) -> Decimal | None:
        price = self._mark_price(position.instrument_id, position.side)
        if price is None:
            return None
        return position.unrealized_pnl(price).as_decimal()  # type: ignore[no-any-return]

    def _mark_price(self, instrument_id: InstrumentId, side: PositionSide) -> Price | None:
        """The price the portfolio would use: bid for longs, ask for shorts, else last, else a bar close."""
        cache = self._cache
        preferred = PriceType.BID if side == PositionSide.LONG else PriceType.ASK
        price = cache.price(instrument_id, preferred) or cache.price(instrument_id, PriceType.LAST)
        if price is not None:
            return price  # type: ignore[no-any-return]
        latest = None
        for bar_type in cache.bar_types(instrument_id=instrument_id):
            bar = cache.bar(bar_type)
            if bar is not None and (latest is None or bar.ts_event > latest.ts_event):
                latest = bar
        return latest.close if latest is not None else None

    # -- writer thread ------------------------------------------------------------------------------

    async def _record_run(self, conn: asyncpg.Connection) -> None:
        if self._started_run:
            return
        self.continued_run = await start_run(
            conn, self.run_id, self._mode, self._trader_id, self._config_json
        )
        self._started_run = True

    async def _finish_run(self, conn: asyncpg.Connection) -> None:
        await finish_run(conn, self.run_id)

    def _build_batch(self, items: Sequence[Any], breathe: Breathe) -> tuple[Batch, list[ConnectionTask]]:
        return build_batch(self.run_id, items, breathe)


def _opened_units(items: Sequence[Any]) -> Iterator[Any]:
    for item in items:
        if item[0] == _UNIT:
            yield from item[1]
        else:
            yield item


def build_batch(
    run_id: str, items: Sequence[Any], breathe: Breathe | None = None
) -> tuple[Batch, list[ConnectionTask]]:
    """Turn queued items into one batch of rows (writer thread). Keeps one ``orders``/``positions`` row
    per key: the newest state, with what only older states knew merged in. ``breathe`` is called every
    ``BREATHE_EVERY`` items (the writer's pause for the engine's thread)."""
    batch = Batch()
    rows = batch.rows
    order_events, fills = rows["order_events"], rows["fills"]
    snapshots, balances = rows["position_snapshots"], rows["account_balances"]
    orders: dict[str, list[Any]] = {}
    positions: dict[tuple[str, int], tuple[Any, ...]] = {}
    tasks: list[ConnectionTask] = []

    def keep_position(row: tuple[Any, ...]) -> None:
        key = (row[1], row[2])
        prev = positions.get(key)
        if prev is None or (row[17], row[18]) >= (prev[17], prev[18]):
            positions[key] = row

    for i, item in enumerate(_opened_units(items), 1):
        if breathe is not None and not i % BREATHE_EVERY:
            breathe()
        kind = item[0]
        if kind == _ORDER:
            _, event, state, seq = item
            order_events.append(order_event_row(run_id, event, seq))
            new: list[Any] | None = None
            if state is not None:
                new = order_row(run_id, event, state)
            elif type(event) is OrderInitialized:
                new = initialized_order_row(run_id, event)
            if new is not None:
                prev = orders.get(new[1])
                orders[new[1]] = new if prev is None else merge_order_rows(prev, new)
            if type(event) is OrderFilled:
                fills.append(fill_row(run_id, event))
        elif kind == _POSITION:
            _, event, seq = item
            keep_position(position_row(run_id, event, seq))
            snapshots.append(position_snapshot_row(run_id, event))
        elif kind == _ACCOUNT:
            balances.extend(account_balance_rows(run_id, item[1]))
        elif kind == _ROW:
            if item[1] == "positions":
                keep_position(item[2])
            else:
                rows[item[1]].append(item[2])
        else:
            tasks.append(item[1])
    rows["orders"] = [tuple(r) for r in orders.values()]
    rows["positions"] = list(positions.values())
    return batch, tasks


def install(handle: KernelHandle) -> PersistenceComponent | None:
    """Persist the run when ``storage.database_url`` is set (``macrofund run --db DSN``)."""
    storage = handle.config.storage
    if not storage.database_url:
        return None
    component = PersistenceComponent(handle, storage, storage.database_url)
    component.start()
    return component
