"""``macrofund simulate-prices``: publish seeded GBM quotes to Kafka (or print them) in real time."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from macrofund.adapters.sim_feed.gbm import SimInstrument

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*$")
_NS = 1_000_000_000


def register(app: typer.Typer) -> None:
    """Add the ``simulate-prices`` command to the ``macrofund`` app."""
    app.command("simulate-prices")(simulate_prices)


def _parse_rate(value: str) -> float:
    from macrofund.cli import fail

    match = _RATE.match(value)
    rate = float(match.group(1)) if match else 0.0
    if not match or not 0 < rate <= 1_000_000:
        fail(f"--rate {value!r}: expected quotes per second such as 2000/s (at most 1000000/s)")
    return rate


def _parse_target(value: str) -> str | None:
    """``None`` for stdout, else the bootstrap ``host:port`` of ``kafka://host:port``."""
    from macrofund.cli import fail

    if value == "stdout":
        return None
    match = re.fullmatch(r"kafka://([A-Za-z0-9._-]+:\d{1,5}(?:,[A-Za-z0-9._-]+:\d{1,5})*)", value)
    if match is None:
        fail(f"--to {value!r}: expected kafka://HOST:PORT or stdout")
    return match.group(1)


def _instrument_ids(value: str) -> list[str]:
    """``ESZ6.CME,WINZ26`` -> ids; a bare contract code gets its venue from the contract spec."""
    from macrofund.cli import fail
    from macrofund.errors import MacrofundError
    from macrofund.venues.contracts import spec_for_symbol

    ids: list[str] = []
    for raw in (part.strip() for part in value.split(",")):
        if not raw:
            continue
        try:
            ids.append(raw if "." in raw else f"{raw}.{spec_for_symbol(raw).venue}")
        except MacrofundError as exc:
            fail(f"--instruments: {exc}")
    if not ids:
        fail("--instruments: name at least one contract, e.g. ESZ6.CME,WINZ26.B3")
    if len(set(ids)) != len(ids):
        fail(f"--instruments: {value!r} names an instrument twice")
    return ids


def simulate_prices(
    to: Annotated[str, typer.Option("--to", help="kafka://HOST:PORT, or stdout for a quick look.")],
    instruments: Annotated[
        str, typer.Option("--instruments", help="Comma-separated contracts: ESZ6.CME,WINZ26.B3 (or ESZ6).")
    ],
    rate: Annotated[str, typer.Option("--rate", help="Total quotes per second, e.g. 2000/s.")] = "20/s",
    duration: Annotated[
        str | None, typer.Option("--duration", help="Stop after this long (30s, 10m, 1h); default: Ctrl-C.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same paths).")] = 42,
    volatility: Annotated[float, typer.Option("--volatility", help="Annualised volatility.")] = 0.20,
    ignore_sessions: Annotated[
        bool, typer.Option("--ignore-sessions", help="Quote outside trading hours too (demos at night).")
    ] = False,
    partitions: Annotated[int, typer.Option("--partitions", help="Partitions of topics created.")] = 1,
    topic_prefix: Annotated[
        str, typer.Option("--topic-prefix", help="Topic prefix (<prefix>.VENUE...).")
    ] = "md",
) -> None:
    """Publish simulated quotes (seeded GBM on each contract's tick grid, in its sessions) in real time."""
    from pydantic import ValidationError

    from macrofund.adapters.sim_feed.config import SimFeedSettings
    from macrofund.adapters.sim_feed.providers import gbm_parameters, sim_instruments
    from macrofund.cli import fail
    from macrofund.config.run_config import parse_duration
    from macrofund.errors import MacrofundError

    bootstrap = _parse_target(to)
    ids = _instrument_ids(instruments)
    quotes_per_second = _parse_rate(rate)
    seconds: float | None = None
    if duration is not None:
        try:
            seconds = parse_duration(duration).total_seconds()
        except ValueError as exc:
            fail(f"--duration: {exc}")
        if seconds <= 0:
            fail("--duration must be positive")
    if not 1 <= partitions <= 1000:
        fail(f"--partitions {partitions}: expected 1 to 1000")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", topic_prefix):
        fail(f"--topic-prefix {topic_prefix!r}: letters, digits, '_' and '-' only")
    try:
        settings = SimFeedSettings(
            seed=seed, rate=quotes_per_second, volatility=volatility, ignore_sessions=ignore_sessions
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"--{first['loc'][0]}: {first['msg']}".replace("_", "-"))
    try:
        sim = sim_instruments(ids, settings)
    except MacrofundError as exc:
        fail(f"--instruments: {exc}")
    params = gbm_parameters(settings)
    if bootstrap is None:
        _to_stdout(sim, params, seconds)
    else:
        _to_kafka(bootstrap, sim, params, seconds, partitions, topic_prefix)


def _mantissa_steps(instruments: list[SimInstrument]) -> list[tuple[int, int]]:
    """(price precision, mantissa of one tick) per instrument: a price of k ticks is k * step."""
    from macrofund.venues.contracts import decimal_places

    out = []
    for inst in instruments:
        precision = decimal_places(inst.tick_size)
        out.append((precision, int(inst.tick_size * 10**precision)))
    return out


def _to_stdout(instruments: list[SimInstrument], params: object, seconds: float | None) -> None:
    from macrofund.adapters.sim_feed.gbm import GbmParameters, PriceSimulator, SimQuote

    assert isinstance(params, GbmParameters)
    start = time.time_ns()
    simulator = PriceSimulator(instruments, params, start)
    end = start + int(seconds * _NS) if seconds is not None else None
    try:
        while end is None or time.time_ns() < end:
            now = time.time_ns() if end is None else min(time.time_ns(), end)
            for event in simulator.advance(now, limit=10_000):
                if isinstance(event, SimQuote):
                    inst = instruments[event.instrument]
                    stamp = datetime.fromtimestamp(event.ts_ns / _NS, UTC).strftime("%H:%M:%S.%f")
                    typer.echo(
                        f"{stamp} {inst.instrument_id} {event.bid_size} x {event.bid_ticks * inst.tick_size}"
                        f" / {event.ask_ticks * inst.tick_size} x {event.ask_size}"
                    )
            time.sleep(min(0.25, max(0.001, (simulator.next_ts_ns - time.time_ns()) / _NS)))
    except KeyboardInterrupt:
        pass


def _to_kafka(
    bootstrap: str,
    instruments: list[SimInstrument],
    params: object,
    seconds: float | None,
    partitions: int,
    topic_prefix: str,
) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    from rich.live import Live

    from macrofund.adapters.kafka.producer import LIBRDKAFKA_LOG, MarketDataProducer, ensure_topics
    from macrofund.adapters.kafka.topics import topic_for
    from macrofund.adapters.sim_feed.gbm import GbmParameters, PriceSimulator, SimQuote
    from macrofund.cli import console, fail

    assert isinstance(params, GbmParameters)
    topics = [topic_for(inst.instrument_id, "quotes", topic_prefix) for inst in instruments]
    try:
        AdminClient({"bootstrap.servers": bootstrap}, logger=LIBRDKAFKA_LOG).list_topics(timeout=5)
        ensure_topics(bootstrap, topics, partitions)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        reason = error.str() if hasattr(error, "str") else str(error)
        fail(f"--to kafka://{bootstrap}: cannot reach the broker or create topics: {reason}")
    producer = MarketDataProducer(bootstrap, topic_prefix)
    steps = _mantissa_steps(instruments)
    start = time.time_ns()
    simulator = PriceSimulator(instruments, params, start)
    end = start + int(seconds * _NS) if seconds is not None else None
    last_mid: dict[str, str] = {}
    interrupted = False

    def status() -> str:
        elapsed = max(1e-9, (time.time_ns() - start) / _NS)
        closed = ""
        if not params.ignore_sessions and simulator.next_ts_ns > time.time_ns() + _NS:
            opens = datetime.fromtimestamp(simulator.next_ts_ns / _NS, UTC).strftime("%a %H:%M UTC")
            closed = f" | markets closed, next open {opens} (--ignore-sessions to quote now)"
        mids = "  ".join(f"{k} {v}" for k, v in last_mid.items())
        failed = f" | [red]{producer.failed:,} failed: {producer.last_error}[/]" if producer.failed else ""
        return (
            f"[bold]{producer.sent:,}[/] sent, {producer.delivered:,} acked "
            f"({producer.sent / elapsed:,.0f}/s) in {elapsed:,.0f}s to {bootstrap} | {mids}{closed}{failed}"
        )

    with Live(status(), console=console, refresh_per_second=4, transient=False) as live:
        try:
            last_refresh = 0.0
            while end is None or time.time_ns() < end:
                now = time.time_ns() if end is None else min(time.time_ns(), end)
                for event in simulator.advance(now, limit=50_000):
                    if not isinstance(event, SimQuote):
                        continue
                    inst = instruments[event.instrument]
                    precision, step = steps[event.instrument]
                    producer.quote_mantissas(
                        inst.instrument_id,
                        event.ts_ns,
                        event.bid_ticks * step,
                        event.ask_ticks * step,
                        event.bid_size,
                        event.ask_size,
                        precision,
                    )
                    last_mid[inst.instrument_id] = str(
                        (event.bid_ticks + event.ask_ticks) * inst.tick_size / 2
                    )
                producer.poll(0)
                if time.monotonic() - last_refresh > 0.25:
                    last_refresh = time.monotonic()
                    live.update(status())
                time.sleep(min(0.25, max(0.0005, (simulator.next_ts_ns - time.time_ns()) / _NS)))
        except KeyboardInterrupt:
            interrupted = True
        left = producer.flush(5)
        live.update(status())
    how = "interrupted" if interrupted else "done"
    lost = f"; {left:,} not acknowledged" if left else ""
    console.print(
        f"{how}: {producer.delivered:,} quotes acknowledged on {len(topics)} topic(s) "
        f"({', '.join(topics)}), stream {producer.stream:08x}{lost}",
        highlight=False,
    )
    if producer.failed:
        fail(f"{producer.failed:,} quotes were not delivered: {producer.last_error}", code=1)
