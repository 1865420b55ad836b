"""The default reference stream: seeded GBM quotes on each instrument's wire tick grid (DI1: rate ticks)."""

from __future__ import annotations

from decimal import Decimal

from macrofund.adapters.exchange_sim.reference import GbmReference, ReferenceInstrument

INSTRUMENTS = [
    ReferenceInstrument("ESZ9.CME", Decimal("0.25"), Decimal("6000.125"), 0.3, 1),
    ReferenceInstrument("DI1F30.B3", Decimal("0.005"), Decimal("12.5025"), 0.3, 1),
]
START = 1_700_000_000_000_000_000


def _quotes(seed: int) -> list[tuple[str, int, Decimal, Decimal]]:
    stream = GbmReference(INSTRUMENTS, seed=seed, quotes_per_second=20.0, start_ns=START)
    out = []
    for second in range(1, 61):
        out += [
            (q.instrument_id, q.ts_ns, q.bid, q.ask) for q in stream.advance(START + second * 1_000_000_000)
        ]
    return out


def test_same_seed_same_quotes_and_every_quote_is_on_the_tick_grid() -> None:
    first, again, other = _quotes(7), _quotes(7), _quotes(8)
    assert first == again
    assert first != other
    assert len(first) == 20 * 60 + 1  # around the clock: no session gaps in a local venue
    ticks = {i.instrument_id: i.tick for i in INSTRUMENTS}
    for instrument_id, _, bid, ask in first:
        tick = ticks[instrument_id]
        assert bid % tick == 0 and ask - bid == tick
    di1 = [bid for iid, _, bid, _ in first if iid == "DI1F30.B3"]
    assert Decimal(10) < min(di1) <= max(di1) < Decimal(15)  # a rate around 12.5 % p.a.
