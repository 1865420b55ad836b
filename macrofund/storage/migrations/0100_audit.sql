-- The hash-chained audit trail (macrofund.audit). One row per record; the file in the run folder is
-- the source of truth and this table catches up from it. `body` holds the exact canonical bytes the
-- hash covers, so `macrofund audit verify --db` re-checks the chain without trusting any column.
create table audit_records (
    run_id      text    not null,
    seq         bigint  not null check (seq >= 1),
    record_type text    not null,
    ts_event    bigint  not null,  -- UTC ns (kernel clock: simulated in a backtest)
    ts_recorded bigint  not null,  -- UTC ns (wall clock when the record was sealed)
    prev_hash   text    not null,
    hash        text    not null,
    body        text    not null,
    primary key (run_id, seq)
);

create index audit_records_run_type on audit_records (run_id, record_type);

-- Append-only: rewriting history needs a superuser who disables triggers, and still breaks the chain.
create function audit_records_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_records is append-only (% refused)', tg_op;
end
$$;

create trigger audit_records_no_update_delete
    before update or delete on audit_records
    for each row execute function audit_records_append_only();

create trigger audit_records_no_truncate
    before truncate on audit_records
    for each statement execute function audit_records_append_only();

-- For ad-hoc queries: the payload as jsonb.
create view audit_records_json as
    select run_id, seq, record_type, ts_event, ts_recorded, hash,
           (body::jsonb) -> 'payload' as payload
    from audit_records;
