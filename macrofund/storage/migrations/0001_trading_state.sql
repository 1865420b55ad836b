-- Orders, fills, positions, balances and P&L of every run (macrofund.storage.persistence writes them).
-- Money, prices and quantities are NUMERIC (exact); engine timestamps are UTC nanoseconds (bigint),
-- with a timestamptz twin where a human reads the table. No foreign keys to runs: a per-row trigger
-- check would halve write throughput, and only the persistence writer inserts here.

create table runs (
    run_id        text primary key,
    mode          text not null,
    trader_id     text not null,
    config        jsonb,
    started_at    timestamptz not null default now(),
    ended_at      timestamptz,
    status        text not null default 'RUNNING',   -- RUNNING | FINISHED
    restarts      integer not null default 0
);

create table instruments (
    run_id           text not null,
    instrument_id    text not null,
    venue            text not null,
    asset_class      text,
    currency         text not null,
    price_precision  integer not null,
    size_precision   integer not null,
    price_increment  numeric not null,
    size_increment   numeric not null,
    multiplier       numeric not null,
    expiration_ns    bigint,
    definition       jsonb,
    primary key (run_id, instrument_id)
);

-- One row per order: its current state. ``last_seq`` is the order's own event count after its latest
-- event, so a late-arriving older event never overwrites a newer state.
create table orders (
    run_id             text not null,
    client_order_id    text not null,
    venue_order_id     text,
    strategy_id        text not null,
    instrument_id      text not null,
    account_id         text,
    side               text,
    type               text,
    time_in_force      text,
    quantity           numeric,
    filled_qty         numeric not null default 0,
    price              numeric,
    trigger_price      numeric,
    avg_px             numeric,
    status             text not null,
    last_event_type    text not null,
    last_seq           integer not null,
    exec_algorithm_id  text,
    exec_spawn_id      text,
    tags               text,
    ts_init            bigint,
    ts_last            bigint not null,
    updated_at         timestamptz not null default now(),
    primary key (run_id, client_order_id)
);
create index orders_venue_order_id on orders (run_id, venue_order_id) where venue_order_id is not null;
create index orders_open on orders (run_id) where status not in ('FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'DENIED');

-- Every order state transition, append-only. ``seq`` is 1, 2, 3... per order (no gaps).
create table order_events (
    run_id           text not null,
    client_order_id  text not null,
    seq              integer not null,
    event_id         uuid not null,
    event_type       text not null,
    venue_order_id   text,
    strategy_id      text not null,
    instrument_id    text not null,
    ts_event         bigint not null,
    ts_init          bigint not null,
    event_time       timestamptz not null,
    payload          json not null,
    primary key (run_id, client_order_id, seq)
);
create index order_events_ts on order_events (run_id, ts_event);

-- One row per execution; a fill delivered twice (same venue trade id) is stored once.
create table fills (
    run_id               text not null,
    venue                text not null,
    trade_id             text not null,
    client_order_id      text not null,
    venue_order_id       text,
    position_id          text,
    strategy_id          text not null,
    instrument_id        text not null,
    account_id           text not null,
    side                 text not null,
    quantity             numeric not null,
    price                numeric not null,
    currency             text not null,
    commission           numeric not null,
    commission_currency  text not null,
    liquidity            text not null,
    ts_event             bigint not null,
    ts_init              bigint not null,
    event_time           timestamptz not null,
    primary key (run_id, venue, trade_id)
);
create index fills_order on fills (run_id, client_order_id);
create index fills_ts on fills (run_id, ts_event);

-- One row per position lifecycle (a NETTING position id is reused after it closes, so the key
-- includes when that lifecycle opened): its current state.
create table positions (
    run_id          text not null,
    position_id     text not null,
    ts_opened       bigint not null,
    strategy_id     text not null,
    instrument_id   text not null,
    account_id      text not null,
    entry           text not null,
    side            text not null,
    signed_qty      numeric not null,
    quantity        numeric not null,
    peak_qty        numeric not null,
    avg_px_open     numeric not null,
    avg_px_close    numeric,
    realized_pnl    numeric not null,
    unrealized_pnl  numeric,
    currency        text not null,
    ts_closed       bigint,
    ts_last         bigint not null,
    last_seq        bigint not null,
    updated_at      timestamptz not null default now(),
    primary key (run_id, position_id, ts_opened)
);
create index positions_open on positions (run_id) where side <> 'FLAT';

-- Every position change (opened, changed, closed), append-only.
create table position_snapshots (
    run_id          text not null,
    event_id        uuid not null,
    event_type      text not null,
    position_id     text not null,
    ts_opened       bigint not null,
    strategy_id     text not null,
    instrument_id   text not null,
    account_id      text not null,
    side            text not null,
    signed_qty      numeric not null,
    quantity        numeric not null,
    last_qty        numeric not null,
    last_px         numeric not null,
    avg_px_open     numeric not null,
    avg_px_close    numeric,
    realized_pnl    numeric not null,
    unrealized_pnl  numeric,
    currency        text not null,
    ts_event        bigint not null,
    event_time      timestamptz not null,
    primary key (run_id, event_id)
);
create index position_snapshots_ts on position_snapshots (run_id, ts_event);

-- Every account state (balance per currency) the engine published.
create table account_balances (
    run_id      text not null,
    event_id    uuid not null,
    account_id  text not null,
    currency    text not null,
    total       numeric not null,
    locked      numeric not null,
    free        numeric not null,
    ts_event    bigint not null,
    event_time  timestamptz not null,
    primary key (run_id, event_id, currency)
);
create index account_balances_ts on account_balances (run_id, ts_event);

-- Realised/unrealised P&L per account, strategy and instrument, sampled on a timer.
create table pnl_snapshots (
    run_id          text not null,
    ts              bigint not null,
    account_id      text not null,
    strategy_id     text not null,
    instrument_id   text not null,
    currency        text not null,
    net_qty         numeric not null,
    realized_pnl    numeric not null,
    unrealized_pnl  numeric not null,
    total_pnl       numeric not null,
    snapshot_time   timestamptz not null,
    primary key (run_id, ts, account_id, strategy_id, instrument_id)
);
