-- Market-data time series (plain PostgreSQL layout; see docs/timeseries.md).
-- Prices and sizes are exact integers in units of 1e-9 ("_e9" scale): binary COPY of bigints is ~2x
-- faster than numeric, and every futures price/size macrofund knows has at most 9 decimals.
-- Raw tables are range-partitioned by UTC day; partitions are created on demand by the ingest.
-- When TimescaleDB is available, macrofund.storage.timeseries.setup replaces these with hypertables
-- and continuous aggregates of the same names and columns (only while the tables are still empty).

create table if not exists md_settings (
    key text primary key,
    value text not null
);
insert into md_settings (key, value) values ('backend', 'partitioned') on conflict (key) do nothing;

create table if not exists md_instruments (
    instrument_id text primary key,
    venue text not null,
    calendar text not null,               -- trading-day calendar for 1d buckets: CME, B3 or UTC
    price_precision smallint not null check (price_precision between 0 and 9),
    size_precision smallint not null check (size_precision between 0 and 9)
);

-- 1-minute bars, keyed by the bar's OPEN time (UTC); Nautilus's EXTERNAL bars are stamped at the close.
-- collate "C": instrument ids are codes, not words; byte-order comparison keeps index inserts cheap.
create table if not exists md_bars_1m (
    instrument_id text collate "C" not null,
    ts_open timestamptz not null,
    open bigint not null,
    high bigint not null,
    low bigint not null,
    close bigint not null,
    volume bigint not null,
    primary key (instrument_id, ts_open)
) partition by range (ts_open);

-- Top-of-book quotes: ts_event is microsecond timestamptz (the partition key); ts_event_ns is exact.
create table if not exists md_quotes (
    instrument_id text collate "C" not null,
    ts_event timestamptz not null,
    ts_event_ns bigint not null,
    bid bigint not null,
    ask bigint not null,
    bid_size bigint not null,
    ask_size bigint not null
) partition by range (ts_event);
create index if not exists md_quotes_instrument_ts on md_quotes (instrument_id, ts_event);

-- Rollups of md_bars_1m, refreshed incrementally after each ingest (bucket = the row's ts_open).
create table if not exists md_bars_5m (
    instrument_id text collate "C" not null,
    ts_open timestamptz not null,
    open bigint not null,
    high bigint not null,
    low bigint not null,
    close bigint not null,
    volume numeric not null,
    bar_count integer not null,
    primary key (instrument_id, ts_open)
);
create table if not exists md_bars_1h (like md_bars_5m including all);
create table if not exists md_bars_1d (like md_bars_5m including all);

-- Raw ranges whose rollups are not refreshed yet; written in the ingest's own transaction, so a rollup
-- is always either current or known to be stale. The query optimizer reads raw rows for these ranges.
create table if not exists md_rollup_pending (
    id bigserial primary key,
    instrument_id text not null,
    ts_from timestamptz not null,
    ts_to timestamptz not null,
    created_at timestamptz not null default now(),
    check (ts_from < ts_to)
);
create index if not exists md_rollup_pending_instrument on md_rollup_pending (instrument_id, ts_from);
