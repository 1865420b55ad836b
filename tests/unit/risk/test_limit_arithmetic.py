"""Property tests on the limit arithmetic: notional with multipliers and FX, working-order exposure."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from macrofund.risk.exposure import Exposure, convert_rate, first_breach, order_notional

qty = st.integers(min_value=0, max_value=10_000).map(Decimal)
pos_qty = st.integers(min_value=1, max_value=10_000).map(Decimal)
price = st.decimals(min_value=Decimal("-500"), max_value=Decimal("200000"), places=4, allow_nan=False)
multiplier = st.sampled_from([Decimal(x) for x in ("50", "20", "125000", "0.2", "1", "10", "1000")])
rate = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000"), places=4)
net = st.integers(min_value=-10_000, max_value=10_000).map(Decimal)
exposures = st.builds(Exposure, net, qty, qty)
limit = st.one_of(st.none(), pos_qty)
limits = st.fixed_dictionaries({"max_long": limit, "max_short": limit, "max_net": limit, "max_gross": limit})


@given(qty, qty, price, multiplier, rate)
def test_notional_is_additive_in_quantity(
    a: Decimal, b: Decimal, px: Decimal, m: Decimal, fx: Decimal
) -> None:
    assert order_notional(a + b, px, m, fx) == order_notional(a, px, m, fx) + order_notional(b, px, m, fx)


@given(qty, price, multiplier, rate)
def test_notional_is_exact_and_never_negative(q: Decimal, px: Decimal, m: Decimal, fx: Decimal) -> None:
    value = order_notional(q, px, m, fx)
    assert value >= 0 and value == abs(q * px) * m * fx


@given(rate)
def test_inverse_rate_round_trips(fx: Decimal) -> None:
    rates = {"USD/BRL": fx}
    there, back = convert_rate(rates, "USD", "BRL"), convert_rate(rates, "BRL", "USD")
    assert there == fx and back is not None and abs(there * back - 1) < Decimal("1e-20")
    assert convert_rate(rates, "EUR", "USD") is None and convert_rate({}, "USD", "USD") == 1


@given(exposures, st.booleans(), qty)
def test_working_orders_count_as_filled(before: Exposure, is_buy: bool, q: Decimal) -> None:
    after = before.with_order(is_buy, q)
    assert after.gross == before.gross + q
    assert after.net_if_filled == before.net_if_filled + (q if is_buy else -q)
    if is_buy:
        assert (
            after.long_if_filled >= before.long_if_filled and after.short_if_filled == before.short_if_filled
        )
    else:
        assert (
            after.short_if_filled >= before.short_if_filled and after.long_if_filled == before.long_if_filled
        )
    assert before.long_if_filled >= max(before.net, Decimal(0))
    assert before.short_if_filled >= max(-before.net, Decimal(0))


@given(st.lists(exposures, min_size=1, max_size=5))
def test_account_exposure_is_the_sum_of_instrument_exposures(parts: list[Exposure]) -> None:
    total = sum(parts[1:], parts[0])
    assert total.net == sum(p.net for p in parts)
    assert total.working_buy == sum(p.working_buy for p in parts)
    assert total.gross <= sum(p.gross for p in parts)  # nets offset across instruments


@given(exposures, st.booleans(), qty, limits)
def test_breach_only_when_a_limit_is_exceeded_and_made_worse(
    before: Exposure, is_buy: bool, q: Decimal, lim: dict[str, Decimal | None]
) -> None:
    after = before.with_order(is_buy, q)
    breach = first_breach(before, after, lim)
    if breach is None:
        for name, value in after.measures().items():
            cap = lim[name]
            assert cap is None or value <= cap or value <= before.measures()[name]
    else:
        assert breach.value > breach.limit and breach.value > before.measures()[breach.limit_name]


@given(exposures, limits)
def test_an_empty_order_never_breaches(before: Exposure, lim: dict[str, Decimal | None]) -> None:
    assert first_breach(before, before.with_order(True, Decimal(0)), lim) is None
