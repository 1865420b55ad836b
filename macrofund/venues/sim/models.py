"""Build the simulated exchange's fill model from a venue's config.

Both the backtest venue and (later) the paper venue go through ``fill_model_config``: one
``ImportableFillModelConfig`` that ``FillModelFactory.create`` turns into the same model in every mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nautilus_trader.backtest.config import FillModelFactory, ImportableFillModelConfig
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.model.instruments import Instrument

from macrofund.errors import ConfigError

if TYPE_CHECKING:
    from macrofund.config.run_config import VenueConfig

_FILL_MODEL_PATH = "macrofund.venues.sim.fill_model:AlmgrenChrissFillModel"
_CONFIG_PATH = "macrofund.venues.sim.fill_model:AlmgrenChrissFillModelConfig"


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def fill_model_config(venue: VenueConfig, instrument_ids: list[str]) -> ImportableFillModelConfig | None:
    """The importable fill-model config of ``venue`` for these instruments; ``None`` = Nautilus's default.

    Every instrument of the venue must have parameters (by id, else by root): a missing one is a
    ``ConfigError`` here, when the run is built, never a surprise at the first order.
    """
    settings = venue.fill_model
    if settings.kind == "default":
        return None
    ours = [i for i in instrument_ids if i.rsplit(".", 1)[-1] == venue.name]
    missing = []
    params: dict[str, dict[str, float]] = {}
    for instrument_id in ours:
        try:
            params[instrument_id] = settings.params_for(instrument_id).model_dump(exclude_none=True)
        except ConfigError:
            missing.append(instrument_id)
    if missing:
        roots = ", ".join(missing)
        raise ConfigError(
            f"venues.{venue.name}.fill_model.impact: no Almgren-Chriss parameters for {roots} "
            f"(add [venues.fill_model.impact.<ROOT>] or run `macrofund calibrate`)"
        )
    return ImportableFillModelConfig(
        fill_model_path=_FILL_MODEL_PATH,
        config_path=_CONFIG_PATH,
        config={
            "instruments": params,
            "market_order_horizon_ns": _ns(settings.market_order_horizon.total_seconds()),
            "permanent_impact_half_life_ns": _ns(settings.permanent_impact_half_life.total_seconds()),
            "max_levels": settings.max_levels,
            "random_seed": settings.random_seed,
            "prob_slippage": 0.0,
        },
    )


def build_fill_model(venue: VenueConfig, instruments: dict[str, Instrument]) -> FillModel | None:
    """The venue's fill model; ``None`` means Nautilus's default."""
    config = fill_model_config(venue, list(instruments))
    if config is None:
        return None
    model: FillModel = FillModelFactory.create(config)
    return model
