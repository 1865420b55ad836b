"""The Almgren-Chriss fill model in a real Nautilus ``BacktestEngine`` (scripted orders, flat bars).

ES: tick 0.25. With the default market-order horizon of 60 s and a 23-hour trading day, an order's
execution interval is tau = 60 / (23 * 3600) = 1/1380 trading day. The model VWAP of a q-lot buy at
arrival price S is ``S + AlmgrenChriss.temporary_impact_per_unit(q, tau)`` (+ the permanent offset left
by earlier fills); the engine's VWAP may be worse than that by less than one tick (one level) or less
than tick / q (two levels), never better.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.backtest.config import FillModelFactory

from macrofund.errors import ConfigError
from macrofund.venues.contracts import futures_contract
from macrofund.venues.impact import AlmgrenChriss
from macrofund.venues.sim import build_fill_model, fill_model_config
from macrofund.venues.sim.fill_model import AlmgrenChrissFillModel, AlmgrenChrissFillModelConfig
from tests.unit.sim.harness import INSTRUMENT_ID, Step, run_script, venue_config, vwap

TICK = Decimal("0.25")
TAU = 60 / (23 * 3600)
ARRIVAL = Decimal("4000.00")
FLAT = ["4000.00"] * 8
TEMPORARY = {"sigma": 50.0, "eta": 0.01, "gamma": 0.0, "epsilon": 0.125, "beta": 0.6}
PERMANENT = {"sigma": 50.0, "eta": 0.0, "gamma": 0.2, "epsilon": 0.0, "alpha": 1.0}


def ac(params: dict[str, float], **settings: Any) -> dict[str, Any]:
    return {"kind": "almgren_chriss", "impact": {"ES": params}, **settings}


def model_vwap(q: int, buy: bool = True) -> Decimal:
    cost = AlmgrenChriss(**TEMPORARY).temporary_impact_per_unit(q, TAU)
    return ARRIVAL + Decimal(repr(cost)) * (1 if buy else -1)


@pytest.mark.parametrize("max_levels", [1, 2])
def test_market_order_fills_worse_per_contract_when_larger_by_the_model_amount(max_levels: int) -> None:
    model = ac(TEMPORARY, max_levels=max_levels)
    small = run_script(model, FLAT, [Step(2, "BUY", 1)])
    large = run_script(model, FLAT, [Step(2, "BUY", 50)])
    assert small[0].ts == large[0].ts  # the same moment, the same arrival price
    assert sum(f.quantity for f in large) == 50  # the full size, nothing left unfilled
    assert len(large) <= max_levels
    for q, fills in ((1, small), (50, large)):
        assert all(f.price % TICK == 0 for f in fills)
        slack = vwap(fills) - model_vwap(q)
        bound = TICK if max_levels == 1 else TICK / q
        assert Decimal("-1e-9") <= slack < bound, (q, vwap(fills), model_vwap(q))
    # 50 lots pay ~8 points a contract more than 1 lot (ATHL-scaled eta), far beyond tick rounding.
    assert vwap(large) - vwap(small) > model_vwap(50) - model_vwap(1) - TICK
    assert model_vwap(50) - model_vwap(1) > 7


def test_sell_market_order_is_the_mirror_image_of_a_buy() -> None:
    model = ac(TEMPORARY, max_levels=2)
    buy = run_script(model, FLAT, [Step(2, "BUY", 50)])
    sell = run_script(model, FLAT, [Step(2, "SELL", 50)])
    assert vwap(buy) - ARRIVAL == ARRIVAL - vwap(sell)
    assert Decimal(0) <= model_vwap(50, buy=False) - vwap(sell) < TICK / 50


def test_default_model_fills_a_large_order_at_the_touch() -> None:
    # The baseline the AC model replaces: Nautilus's default charges no impact on bars.
    assert vwap(run_script(None, FLAT, [Step(2, "BUY", 50)])) == ARRIVAL


def test_limit_order_never_fills_through_its_limit() -> None:
    model = ac(TEMPORARY, max_levels=2)
    market = run_script(model, FLAT, [Step(1, "BUY", 50)])
    assert [f.price for f in market] == [Decimal("4008.00"), Decimal("4008.25")]
    # Limit between the model's two levels: nothing fills on arrival (Nautilus would fill a partial
    # book's remainder a tick past it), the order rests and fills only when the market trades through
    # its limit, never above it.
    closes = ["4000.00"] * 4 + ["4007.75", "4009.00", "4007.50", "4007.00"]
    fills = run_script(model, closes, [Step(1, "BUY", 50, limit="4008.00")])
    assert fills and all(f.price <= Decimal("4008.00") for f in fills)
    assert fills[0].ts > market[0].ts
    assert sum(f.quantity for f in fills) == 50
    fills = run_script(model, ["4000.00"] * 4 + ["4000.50", "3999.00"], [Step(1, "BUY", 20, limit="4001.00")])
    assert fills and all(f.price <= Decimal("4001.00") for f in fills)
    sells = run_script(
        model, ["4000.00"] * 4 + ["3999.50", "4001.00"], [Step(1, "SELL", 20, limit="3999.00")]
    )
    assert sells and all(f.price >= Decimal("3999.00") for f in sells)


def test_marketable_limit_order_pays_the_same_impact_as_a_market_order() -> None:
    model = ac(TEMPORARY, max_levels=2)
    market = run_script(model, FLAT, [Step(1, "BUY", 50)])
    for price in ("4050.00", "4008.25"):  # far through, and exactly at the model's worst level
        limit = run_script(model, FLAT, [Step(1, "BUY", 50, limit=price)])
        assert [(f.price, f.quantity) for f in limit] == [(f.price, f.quantity) for f in market]


def test_same_seed_gives_identical_fills() -> None:
    steps = [Step(1, "BUY", 7), Step(2, "SELL", 3), Step(4, "BUY", 40), Step(6, "SELL", 44)]
    params = {**TEMPORARY, "gamma": 0.01}
    closes = ["4000.00", "4001.25", "3999.50", "4002.00", "4002.25", "4000.75", "4001.00", "4001.00"]
    first = run_script(ac(params, max_levels=2, random_seed=7), closes, steps)
    second = run_script(ac(params, max_levels=2, random_seed=7), closes, steps)
    assert first == second and len(first) >= 4


def _adverse(price: float, buy: bool) -> Decimal:
    ticks = price / float(TICK)
    return Decimal(math.ceil(ticks - 1e-9) if buy else math.floor(ticks + 1e-9)) * TICK


@pytest.mark.parametrize("half_life_minutes", [30, 10])
def test_permanent_impact_shifts_our_later_fills_and_decays_with_the_half_life(
    half_life_minutes: int,
) -> None:
    # eta = epsilon = 0: only permanent impact. 50 lots leave gamma * 50 = 10 points; our own fill bears
    # none of it (the paper's discrete convention), a 1-lot order 30 minutes later sees 10 * 2^(-30/h).
    model = ac(PERMANENT, permanent_impact_half_life=f"{half_life_minutes}m")
    closes = ["4000.00"] * 70
    fills = run_script(model, closes, [Step(1, "BUY", 50), Step(31, "BUY", 1), Step(61, "SELL", 1)])
    assert fills[0].price == ARRIVAL
    minutes = (fills[1].ts - fills[0].ts) / 60e9
    assert minutes == 30
    offset = 10.0 * 2 ** (-minutes / half_life_minutes)
    assert fills[1].price == _adverse(4000.0 + offset, buy=True)
    offset = (offset + 0.2) * 2 ** (-30 / half_life_minutes)  # + the 1-lot buy's own gamma * 1
    assert fills[2].price == _adverse(4000.0 + offset, buy=False)
    # Without the 50-lot order first, the same 1-lot order fills at the arrival price.
    alone = run_script(model, closes, [Step(31, "BUY", 1)])
    assert alone[0].price == ARRIVAL


def test_missing_instrument_parameters_are_a_config_error_when_the_venue_is_built() -> None:
    venue = venue_config(ac(TEMPORARY) | {"impact": {"6E": TEMPORARY}})
    with pytest.raises(ConfigError, match=r"no Almgren-Chriss parameters for ES\.CME.*macrofund calibrate"):
        build_fill_model(venue, {INSTRUMENT_ID: futures_contract(INSTRUMENT_ID)})


def test_parameters_by_instrument_id_win_over_the_root() -> None:
    venue = venue_config(ac(TEMPORARY) | {"impact": {"ES": TEMPORARY, "ES.CME": PERMANENT}})
    config = fill_model_config(venue, [INSTRUMENT_ID])
    assert config is not None
    assert config.config["instruments"][INSTRUMENT_ID]["gamma"] == PERMANENT["gamma"]


def test_paper_venue_path_builds_the_same_model_from_the_importable_config() -> None:
    venue = venue_config(ac(TEMPORARY, market_order_horizon="30s", max_levels=2))
    config = fill_model_config(venue, [INSTRUMENT_ID])
    assert config is not None
    model = FillModelFactory.create(config)
    assert isinstance(model, AlmgrenChrissFillModel)
    assert model.prob_slippage == 0.0
    impact = model.impact_for(futures_contract(INSTRUMENT_ID))
    assert impact.tau_days == pytest.approx(30 / (23 * 3600), rel=1e-12)


def test_default_kind_keeps_nautilus_default_fill_model() -> None:
    assert build_fill_model(venue_config(None), {INSTRUMENT_ID: futures_contract(INSTRUMENT_ID)}) is None


def test_slippage_probability_and_bad_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="prob_slippage must be 0"):
        AlmgrenChrissFillModel(AlmgrenChrissFillModelConfig(prob_slippage=0.5))
    with pytest.raises(ConfigError, match=r"fill_model\.impact\.ES\.CME\.eta: .*greater than or equal to 0"):
        AlmgrenChrissFillModel(
            AlmgrenChrissFillModelConfig(instruments={"ES.CME": {**TEMPORARY, "eta": -1.0}})
        )
    with pytest.raises(ConfigError, match=r"no Almgren-Chriss parameters for ES\.CME"):
        AlmgrenChrissFillModel(AlmgrenChrissFillModelConfig()).impact_for(futures_contract(INSTRUMENT_ID))


def test_fill_model_settings_validate_durations_and_levels() -> None:
    from pydantic import ValidationError

    from macrofund.venues.sim.config import FillModelSettings

    settings = FillModelSettings.model_validate(ac(TEMPORARY, market_order_horizon="5m"))
    assert settings.market_order_horizon.total_seconds() == 300
    assert settings.max_levels == 1 and settings.permanent_impact_half_life.total_seconds() == 1800
    for bad in ({"market_order_horizon": "0s"}, {"permanent_impact_half_life": "soon"}, {"max_levels": 3}):
        with pytest.raises(ValidationError):
            FillModelSettings.model_validate(ac(TEMPORARY, **bad))
