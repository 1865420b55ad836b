"""Per-contract commissions for futures, as a Nautilus ``FeeModel``.

Futures are charged a fixed amount per contract per side (exchange + clearing + regulatory + broker), not
a fraction of notional, so Nautilus's ``MakerTakerFeeModel`` is the wrong shape and its float arithmetic
is the wrong precision. ``ContractFeeModel`` looks the fee up by instrument id, then by contract root,
then falls back to the root's ``ContractSpec.fee_per_contract``, and multiplies in ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from nautilus_trader.backtest.config import FeeModelConfig
from nautilus_trader.backtest.models import FeeModel
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.model.orders import Order

from macrofund.errors import ConfigError, UnknownInstrumentError
from macrofund.venues.contracts import ContractSpec, decimal_places, spec_for, spec_for_symbol

__all__ = ["ContractFeeModel", "ContractFeeModelConfig"]


class ContractFeeModelConfig(FeeModelConfig, frozen=True):
    """Config for ``ContractFeeModel``, so it can be built by ``FeeModelFactory`` (backtest and paper).

    ``fees`` maps a root (``"ES"``) or an instrument id (``"ESZ6.CME"``) to a fee per contract per side,
    as a decimal string in the contract's currency.
    """

    fees: dict[str, str] | None = None


def _spec_of(instrument_id: InstrumentId) -> ContractSpec:
    # Only the root matters here, so the 1-digit-year reference date is irrelevant.
    return spec_for_symbol(instrument_id.symbol.value)


class ContractFeeModel(FeeModel):
    """Charges ``fee x fill quantity`` per fill, in the instrument's quote currency, exactly.

    Lookup order: the full instrument id (``"ESZ6.CME"``), then the root (``"ES"``), then the spec's
    default ``fee_per_contract``. Every override key must name a known root or a valid contract of one,
    and every fee must be non-negative and representable in its currency's precision (so ``fee x qty``
    never rounds): a typo in a fee table is a ``ConfigError``, not a silent default.
    """

    def __init__(
        self,
        fees: Mapping[str, Decimal | str] | None = None,
        config: ContractFeeModelConfig | None = None,
    ) -> None:
        if fees is not None and config is not None:
            raise ConfigError("ContractFeeModel: pass either fees or config, not both")
        if config is not None:
            fees = config.fees
        self._by_root: dict[str, Decimal] = {}
        self._by_instrument: dict[InstrumentId, Decimal] = {}
        self._cache: dict[InstrumentId, tuple[Decimal, Currency]] = {}
        for key, raw in (fees or {}).items():
            self._add_override(key, raw)

    @property
    def overrides(self) -> dict[str, Decimal]:
        """The configured overrides, keyed as given (roots and instrument ids)."""
        out = {root: fee for root, fee in self._by_root.items()}
        out.update({str(iid): fee for iid, fee in self._by_instrument.items()})
        return out

    def fee_per_contract(self, instrument_id: InstrumentId) -> Decimal:
        """The fee per contract per side that applies to ``instrument_id``."""
        fee = self._by_instrument.get(instrument_id)
        if fee is not None:
            return fee
        spec = _spec_of(instrument_id)
        return self._by_root.get(spec.root, spec.fee_per_contract)

    def get_commission(
        self,
        order: Order,
        fill_qty: Quantity,
        fill_px: Price,
        instrument: Instrument,
    ) -> Money:
        """Commission for one fill: fee per contract x ``fill_qty``, in the quote currency."""
        entry = self._cache.get(instrument.id)
        if entry is None:
            entry = (self.fee_per_contract(instrument.id), instrument.quote_currency)
            self._cache[instrument.id] = entry
        fee, currency = entry
        return Money(fee * fill_qty.as_decimal(), currency)

    def _add_override(self, key: str, raw: Decimal | str) -> None:
        try:
            fee = raw if isinstance(raw, Decimal) else Decimal(str(raw))
        except InvalidOperation:
            raise ConfigError(f"fees.{key}: {raw!r} is not a decimal number") from None
        if not fee.is_finite() or fee < 0:
            raise ConfigError(f"fees.{key}: fee must be a non-negative number, got {raw!r}")
        try:
            if "." in key:
                iid = InstrumentId.from_str(key)
                spec = _spec_of(iid)
                if iid.venue.value != spec.venue:
                    raise UnknownInstrumentError(f"{spec.root} trades on {spec.venue}, not {iid.venue.value}")
            else:
                spec = spec_for(key)
        except (UnknownInstrumentError, ValueError) as exc:
            raise ConfigError(f"fees.{key}: not a known contract root or instrument id ({exc})") from None
        precision = Currency.from_str(spec.currency).precision
        if decimal_places(fee) > precision:
            raise ConfigError(
                f"fees.{key}: {fee} has more decimals than {spec.currency} allows ({precision})"
            )
        if "." in key:
            self._by_instrument[iid] = fee
        else:
            self._by_root[key] = fee
