"""Hand the run's Almgren-Chriss parameters to execution algorithms through the kernel cache.

Execution algorithms are built before the run config is known to them (``default_exec_algorithms()``
takes no arguments) and must not learn which mode they run in. The kernel cache is the one store every
mode shares, so the component installer writes the parameters of every configured instrument there
under ``IMPACT_PARAMS_KEY`` and the algorithm reads them when a parent arrives.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from macrofund.errors import MacrofundError
from macrofund.venues.sim.config import ImpactParams

if TYPE_CHECKING:
    from macrofund.config.run_config import RunConfig

IMPACT_PARAMS_KEY = "macrofund.execution.impact_params"


def impact_params_by_instrument(config: RunConfig) -> dict[str, ImpactParams]:
    """Each configured instrument's parameters from its venue's ``fill_model`` (instruments without any
    are left out: the algorithm then needs them in the order's ``exec_algorithm_params``)."""
    venues = {v.name: v for v in config.venues}
    found: dict[str, ImpactParams] = {}
    for instrument in config.instruments:
        venue = venues.get(instrument.id.rsplit(".", 1)[1])
        if venue is None:
            continue
        try:
            found[instrument.id] = venue.fill_model.params_for(instrument.id)
        except MacrofundError:
            continue
    return found


def publish_impact_params(cache: Any, config: RunConfig) -> None:
    """Write the run's parameters into the kernel cache (``Cache.add``: a key/bytes store)."""
    found = impact_params_by_instrument(config)
    payload = {k: v.model_dump() for k, v in found.items()}
    cache.add(IMPACT_PARAMS_KEY, json.dumps(payload, sort_keys=True).encode())


def read_impact_params(cache: Any, instrument_id: str) -> ImpactParams | None:
    """The parameters published for ``instrument_id``, or ``None``."""
    raw = cache.get(IMPACT_PARAMS_KEY)
    if not raw:
        return None
    entry = json.loads(raw).get(instrument_id)
    return None if entry is None else ImpactParams.model_validate(entry)
