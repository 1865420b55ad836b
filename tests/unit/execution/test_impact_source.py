"""The run's impact parameters reach the algorithm through the kernel cache, per instrument."""

from __future__ import annotations

from nautilus_trader.cache.cache import Cache

from macrofund.config.run_config import RunConfig
from macrofund.strategies.execution.impact_source import publish_impact_params, read_impact_params


def _config(impact: dict[str, dict[str, float]]) -> RunConfig:
    return RunConfig.model_validate(
        {
            "venues": [
                {"name": "CME", "starting_balances": ["1 USD"], "fill_model": {"impact": impact}},
                {"name": "B3", "starting_balances": ["1 BRL"]},
            ],
            "instruments": [{"id": "ESH4.CME"}, {"id": "6EH4.CME"}, {"id": "WINJ24.B3"}],
            "data": [{"path": "x.csv", "instrument_id": "ESH4.CME"}],
            "strategies": [{"path": "a:B"}],
        }
    )


def test_parameters_by_root_and_by_id_reach_each_instrument() -> None:
    cache = Cache()
    publish_impact_params(
        cache,
        _config(
            {
                "ES": {"sigma": 40.0, "eta": 1e-5, "gamma": 1e-7, "epsilon": 0.125},
                "ESH4.CME": {"sigma": 41.0, "eta": 1e-5, "gamma": 1e-7, "epsilon": 0.125},
                "6E": {"sigma": 0.0055, "eta": 5e-7, "gamma": 8e-9, "epsilon": 4e-5, "beta": 0.6},
            }
        ),
    )
    es = read_impact_params(cache, "ESH4.CME")
    sixe = read_impact_params(cache, "6EH4.CME")
    assert es is not None and es.sigma == 41.0  # the instrument id wins over the root
    assert sixe is not None and sixe.beta == 0.6
    assert read_impact_params(cache, "WINJ24.B3") is None  # B3 has none configured
    assert read_impact_params(Cache(), "ESH4.CME") is None  # nothing published
